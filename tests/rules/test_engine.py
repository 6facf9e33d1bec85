"""The engine: snapshots that resume exactly, reloads that keep unchanged state,
and the windowed kinds against a brute-force reference model."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from monitor.rules.engine import RuleEngine
from monitor.rules.loader import load_rules
from monitor.rules.samples import event_from_fields
from tests.rules.helpers import at, rules_from
from tests.workloads.events import stream

SHIPPED = Path(__file__).resolve().parents[2] / "rules"


def test_a_snapshot_taken_anywhere_resumes_to_the_same_alerts() -> None:
    rules = load_rules([SHIPPED])
    events = list(stream(20_000, seed=3))
    whole = RuleEngine(rules, timedelta(seconds=10))
    expected = [a.id for ev in events for a in whole.process(ev)] + [a.id for a in whole.flush()]
    assert len(expected) > 100
    for cut in random.Random(1).sample(range(1, len(events)), 5):
        first = RuleEngine(rules, timedelta(seconds=10))
        got = [a.id for ev in events[:cut] for a in first.process(ev)]
        second = RuleEngine(rules, timedelta(seconds=10))
        second.restore(first.snapshot())
        got += [a.id for ev in events[cut:] for a in second.process(ev)]
        got += [a.id for a in second.flush()]
        assert got == expected


def test_reload_keeps_state_of_unchanged_rules_and_resets_changed_ones(tmp_path: Path) -> None:
    text = ("id: t.del\ntitle: d\nkind: threshold\nwhen: {event.action: delete}\n"
            "group_by: user.name\nwindow: 1h\ncount: 3\n")
    engine = RuleEngine(rules_from(tmp_path, text), timedelta(0))
    for n in range(2):
        engine.process(event_from_fields(at(n, event__action="delete", user__name="bob"), n))
    same = engine.with_rules(rules_from(tmp_path, text, "again.yaml"))
    assert len(same.process(event_from_fields(at(5, event__action="delete",
                                                    user__name="bob"), 5))) == 1
    changed = engine.with_rules(rules_from(tmp_path, text.replace("count: 3", "count: 4"),
                                           "changed.yaml"))
    assert changed.process(event_from_fields(at(5, event__action="delete",
                                                   user__name="bob"), 5)) == []


WINDOW = 60  # seconds
THRESHOLD_RULE = (f"id: t.th\ntitle: th\nkind: threshold\nwhen: {{event.action: delete}}\n"
                  f"group_by: user.name\nwindow: {WINDOW}s\ncount: 4\n")
DISTINCT_RULE = (f"id: t.di\ntitle: di\nkind: distinct\nwhen: {{event.action: delete}}\n"
                 f"group_by: user.name\nfield: wallwatch.client\nwindow: {WINDOW}s\ncount: 3\n")


class WindowedKindsMatchReference(RuleBasedStateMachine):
    """Threshold and distinct, fed random in-order events, against brute force:
    keep every event since the group last fired and count what is in the window."""

    @initialize()
    def setup(self) -> None:
        import tempfile
        folder = Path(tempfile.mkdtemp())
        self.rules = rules_from(folder, THRESHOLD_RULE, "t.yaml") + \
            rules_from(folder, DISTINCT_RULE, "d.yaml")
        self.engine = RuleEngine(self.rules, timedelta(0))
        self.now = 0.0
        self.n = 0
        self.since_fire: dict[tuple[str, str], list[tuple[float, str]]] = {}
        self.expected: list[tuple[str, str, int]] = []
        self.got: list[tuple[str, str, int]] = []

    def _reference(self, rule_id: str, user: str, client: str) -> None:
        seen = self.since_fire.setdefault((rule_id, user), [])
        seen.append((self.now, client))
        latest = max(t for t, _ in seen)
        inside = [(t, c) for t, c in seen if t >= latest - WINDOW]
        if rule_id == "t.th" and len(inside) >= 4:
            self.expected.append((rule_id, user, len(inside)))
            seen.clear()
        if rule_id == "t.di" and len({c for _, c in inside}) >= 3:
            self.expected.append((rule_id, user, len({c for _, c in inside})))
            seen.clear()

    @rule(gap=st.floats(min_value=0, max_value=90), user=st.sampled_from(["al", "bo"]),
          client=st.sampled_from(["acme", "globex", "initech", "umbrella"]))
    def delete(self, gap: float, user: str, client: str) -> None:
        self.now += round(gap, 3)
        self.n += 1
        ev = event_from_fields(at(self.now, event__action="delete", user__name=user,
                                  wallwatch__client=client), self.n)
        for alert in self.engine.process(ev):
            self.got.append((alert.rule_id, alert.group[0][1], alert.count))
        for rule_id in ("t.th", "t.di"):
            self._reference(rule_id, user, client)

    @rule()
    def crash_and_resume(self) -> None:
        fresh = RuleEngine(self.rules, timedelta(0))
        fresh.restore(self.engine.snapshot())
        self.engine = fresh

    @invariant()
    def same_alerts(self) -> None:
        if hasattr(self, "engine"):
            assert sorted(self.got) == sorted(self.expected)


WindowedKindsMatchReference.TestCase.settings = settings(max_examples=60,
                                                         stateful_step_count=60, deadline=None)
test_windowed_kinds_match_the_reference = WindowedKindsMatchReference.TestCase


def test_rule_fingerprints_are_the_same_in_every_process() -> None:
    import subprocess
    import sys
    code = ("from monitor.rules.loader import load_rules;"
            "from monitor.rules.engine import rule_fingerprint;"
            f"print([rule_fingerprint(r) for r in load_rules([{str(SHIPPED)!r}])])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin"},
                           cwd=SHIPPED.parent).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1 and "Sequence" in outs.pop()


MATCH_RULE = ("id: t.m\ntitle: m\nwhen: {event.action: read, wallwatch.assigned: false}\n"
              "throttle: {by: [user.name], for: 1m}\n")


def test_a_match_rule_alerts_on_arrival_while_a_threshold_waits_for_the_lateness(
        tmp_path: Path) -> None:
    rules = rules_from(tmp_path, MATCH_RULE) + rules_from(tmp_path, THRESHOLD_RULE.replace(
        "delete", "read").replace("count: 4", "count: 1"), "th.yaml")
    engine = RuleEngine(rules, timedelta(seconds=10))
    first = engine.process(event_from_fields(
        at(0, event__action="read", user__name="bob", wallwatch__assigned=False), 0))
    assert [a.rule_id for a in first] == ["t.m"]  # the threshold's event is still buffered
    later = engine.process(event_from_fields(at(11, event__action="stat", user__name="x"), 1))
    assert [a.rule_id for a in later] == ["t.th"]


def test_match_throttles_are_swept_even_without_rules_that_buffer(tmp_path: Path) -> None:
    engine = RuleEngine(rules_from(tmp_path, MATCH_RULE), timedelta(seconds=10))
    for n in range(2_000):  # a new user every 10 s: each throttle lives one minute
        engine.process(event_from_fields(at(10 * n, event__action="read", user__name=f"u{n}",
                                            wallwatch__assigned=False), n))
    assert engine.buffer == []
    assert engine.state_size() < 20
    assert engine.stats.alerts["t.m"] == 2_000
