"""The `temporal` rule kind (Sigma's temporal and temporal_ordered correlations)
against a brute-force model on random event streams, and its snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.event import Event, event_id
from monitor.rules.condition import compile_condition
from monitor.rules.engine import RuleEngine
from monitor.rules.model import Rule, Temporal
from monitor.yamlloc import load_yaml

WINDOW = 60
STEPS = "abc"
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def temporal_rule(ordered: bool, need: int = 0) -> Rule:
    node = load_yaml("\n".join(f"{k}: {{event.action: {k}}}" for k in STEPS), "t.yaml")
    steps = tuple(compile_condition(node[k], node, k, "t.yaml", {}) for k in STEPS)
    any_step = compile_condition(load_yaml(f"event.action: [{', '.join(STEPS)}]", "t.yaml"),
                                 node, None, "t.yaml", {})
    params = Temporal(timedelta(seconds=WINDOW), steps, (("user.name",),) * len(STEPS),
                      ("user.name",), ordered, need)
    return Rule(id="t", title="t", severity="high", kind="temporal", when=any_step,
                params=params)


def make_events(spec: list[tuple[int, str, str]]) -> list[Event]:
    events, ts = [], T0
    for n, (gap, step, user) in enumerate(spec):
        ts += timedelta(seconds=gap)
        events.append(Event(id=event_id("t", n), timestamp=ts, dataset="d", category="c",
                            type="t", action=step, user_name=user))
    return events


def model(events: list[Event], ordered: bool, need: int) -> list[tuple[str, datetime, int]]:
    """Brute force: after each event, look at every event of its group since the
    group last fired."""
    since: dict[str, list[Event]] = {}
    out = []
    window = timedelta(seconds=WINDOW)
    for ev in events:
        group = since.setdefault(ev.user_name or "", [])
        group.append(ev)
        recent = [e for e in group if e.timestamp >= ev.timestamp - window]
        if ordered:
            starts = []  # every in-order chain a→b→c ending at this event
            if ev.action == STEPS[-1]:
                for i, first in enumerate(recent):
                    if first.action != STEPS[0]:
                        continue
                    mids = [j for j in range(i + 1, len(recent) - 1)
                            if recent[j].action == STEPS[1]]
                    if mids:
                        starts.append(first.timestamp)
            if starts:
                out.append((ev.user_name or "", max(starts), 3))
                since[ev.user_name or ""] = []
        else:
            latest = {e.action: e.timestamp for e in recent}
            if len(latest) >= (need or len(STEPS)):
                out.append((ev.user_name or "", min(latest.values()), len(latest)))
                since[ev.user_name or ""] = []
    return out


events_spec = st.lists(st.tuples(st.integers(0, 40), st.sampled_from(STEPS),
                                 st.sampled_from(["u1", "u2"])), max_size=60)


@settings(max_examples=300, deadline=None)
@given(spec=events_spec, ordered=st.booleans(), need=st.sampled_from([0, 2]))
def test_temporal_kind_agrees_with_brute_force(spec: list[tuple[int, str, str]], ordered: bool,
                                                need: int) -> None:
    if ordered:
        need = 0
    events = make_events(spec)
    engine = RuleEngine([temporal_rule(ordered, need)], timedelta(0))
    alerts = [a for ev in events for a in engine.process(ev)] + engine.flush()
    got = [(dict(a.group)["user.name"], a.window_start, a.count) for a in alerts]
    assert got == model(events, ordered, need)


@settings(max_examples=100, deadline=None)
@given(spec=events_spec, ordered=st.booleans(), cut=st.integers(0, 60))
def test_temporal_kind_resumes_from_a_snapshot_anywhere(spec: list[tuple[int, str, str]],
                                                         ordered: bool, cut: int) -> None:
    events = make_events(spec)
    rule = temporal_rule(ordered)
    whole = RuleEngine([rule], timedelta(0))
    expected = [a.id for ev in events for a in whole.process(ev)]
    first = RuleEngine([rule], timedelta(0))
    got = [a.id for ev in events[:cut] for a in first.process(ev)]
    second = RuleEngine([rule], timedelta(0))
    second.restore(first.snapshot())
    got += [a.id for ev in events[cut:] for a in second.process(ev)]
    assert got == expected


def test_an_idle_group_is_forgotten_after_its_window() -> None:
    rule = temporal_rule(ordered=False)
    engine = RuleEngine([rule], timedelta(0))
    for ev in make_events([(0, "a", "u1"), (0, "b", "u2")]):
        engine.process(ev)
    assert engine.states["t"].size() == 2
    engine.expire(int((T0 + timedelta(seconds=WINDOW + 1)).timestamp() * 1_000_000))
    assert engine.states["t"].size() == 0
