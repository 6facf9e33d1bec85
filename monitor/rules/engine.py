"""The rule engine: rules are immutable, all state lives here.

Time is event time. For the rules that keep state across events (windows,
sequences, seen values), events pass through a small reorder buffer: an event
is evaluated once the newest event time seen is `lateness` past it, in (time,
id) order, so the order of evaluation does not depend on how sources interleave
their writes — a backtest over the same events gives the same alerts as the live
run. An event later than that is still evaluated (at once) and counted as late;
nothing is dropped. While a source is still catching up on a backlog, the
buffer also waits for it (`holding`: the consumer names the datasets of sources
with unread lines), so one source's live events do not make another's backlog
late — bounded by MAX_BUFFERED events. `match` rules conclude on one event, so they are evaluated
as the event arrives, in the store's order (which a backtest of the store
replays exactly): a wall breach alerts without waiting `lateness`.

An event dated more than `max_future` past the clock (a host whose clock jumped to
2099, a forged line) must not move event time on: every later event would be
late and windows holding it would never slide. It is evaluated at once, as of
the newest event time seen (the clock's time if none), and counted as future.

The whole state (the buffer, every rule's windows / sets / partial sequences,
throttles) is one snapshot, stored by the consumer with its cursor and its
alerts in one transaction. Alert ids are rule + group + window start, so a
replay from the last snapshot stores the same alerts again — as no-ops.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from monitor.event import Alert, Event, event_from_json, event_to_json, ts_to_us, us_to_ts
from monitor.rules.kinds import Draft, KindState, new_state
from monitor.rules.kinds.base import group_of
from monitor.rules.model import INDEX_FIELDS, Condition, Rule

SNAPSHOT_VERSION = 1
# Idle window keys are swept each time event time advances this much. On event
# time, not on a count of events: a restarted engine must sweep at the same
# moments as an uninterrupted one, or a late event could see different state.
EXPIRE_EVERY_US = 60_000_000
# While a source catches up, at most this many events wait for it; beyond, the
# oldest are evaluated anyway (memory stays bounded; they may count as late).
MAX_BUFFERED = 200_000
HOLD_ALL = -(1 << 62)  # the watermark while nothing may be evaluated yet

# takes store seqs, gives their events (the snapshot keeps only the seqs of
# buffered events that came from the store)
LoadEvents = Callable[[list[int]], dict[int, Event]]


def _canonical(value: Any) -> str:
    """A text that is the same in every process (repr of a frozenset is not: string
    hashing is randomised per process, and the order of a set's items with it)."""
    if isinstance(value, Condition):
        return value.source
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ",".join(f"{f.name}={_canonical(getattr(value, f.name))}"
                         for f in dataclasses.fields(value))
        return f"{type(value).__name__}({inner})"
    if isinstance(value, tuple | list):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, timedelta):
        return f"{value.total_seconds()}s"
    return repr(value)


def rule_fingerprint(rule: Rule) -> str:
    """What a rule's state depends on: same fingerprint, state carries over a reload
    or a restart."""
    return "|".join(_canonical(x) for x in (rule.kind, rule.when, rule.params, rule.throttle))


@dataclass
class EngineStats:
    evaluated: int = 0
    late: int = 0
    future: int = 0  # dated beyond the clock + max_future: evaluated as of the newest time
    matches: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)


class RuleEngine:
    def __init__(self, rules: Iterable[Rule], lateness: timedelta = timedelta(seconds=10),
                 max_future: timedelta | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        """`max_future`: how far past `clock` (seconds since the epoch) an event's time
        may be before it counts as future; None: no bound (rule tests, samples)."""
        self.rules = [r for r in rules if r.enabled]
        self.lateness_us = int(lateness.total_seconds() * 1_000_000)
        self.max_future = max_future
        self.future_us = None if max_future is None else int(max_future.total_seconds() * 1e6)
        self.clock = clock
        self.states: dict[str, KindState[Any]] = {r.id: new_state(r) for r in self.rules}
        self.throttles: dict[str, dict[tuple[str, ...], int]] = {r.id: {} for r in self.rules}
        # (time, id, tie, event, store seq or -1, whether its match rules wait too)
        self.buffer: list[tuple[int, str, int, Event, int, bool]] = []
        self._tie = itertools.count()
        self.max_ts: int | None = None
        self.released: int | None = None  # event time up to which evaluation has happened
        self.swept: int | None = None  # event time of the last sweep of idle keys
        self.stats = EngineStats()
        self.heads: dict[str, int] = {}  # newest event time per dataset
        # set by the consumer: datasets of sources still catching up, and whether a
        # catching-up source has not said yet which datasets it brings (hold all)
        self.holding: frozenset[str] = frozenset()
        self.holding_unknown = False
        self.missing = 0  # buffered events a restored snapshot named but the store lost
        # candidates by indexed fields: (match rules, rules with state)
        self._candidates: dict[tuple[str, ...], tuple[list[Rule], list[Rule]]] = {}

    def candidates(self, ev: Event) -> tuple[list[Rule], list[Rule]]:
        """The rules an event can match at all, by the indexed fields their
        conditions require (most rules are never tested on most events): the
        `match` rules, evaluated on arrival, and the others, after the buffer."""
        key = (ev.category, ev.dataset, ev.action, ev.outcome)
        found = self._candidates.get(key)
        if found is None:
            values = dict(zip(INDEX_FIELDS, (k.casefold() for k in key), strict=True))
            rules = [r for r in self.rules
                     if all(values[name] in allowed for name, allowed in r.when.requires)]
            found = ([r for r in rules if r.kind == "match"],
                     [r for r in rules if r.kind != "match"])
            if len(self._candidates) > 10_000:
                self._candidates.clear()
            self._candidates[key] = found
        return found

    # -- feeding -----------------------------------------------------------
    def process(self, ev: Event, seq: int = -1) -> list[Alert]:
        """Evaluate one event; `seq` is its place in the store, if it came from one."""
        ts = ts_to_us(ev.timestamp)
        self.stats.evaluated += 1
        if (self.future_us is not None and (self.max_ts is None or ts > self.max_ts)
                and ts > int(self.clock() * 1_000_000) + self.future_us):
            return self._future(ev)
        head = self.heads.get(ev.dataset)
        if head is None or ts > head:
            self.heads[ev.dataset] = ts
        at_once, buffered = self.candidates(ev)
        # while a source catches up, match rules wait in the buffer too: their
        # throttles then see events in time order, as a backtest does
        defer = bool(at_once) and bool(self.holding or self.holding_unknown)
        alerts = self._evaluate(ev, ts, at_once) if at_once and not defer else []
        if not buffered and not defer:  # no rule waits for it: it only moves time on
            pass
        elif self.released is not None and ts < self.released:
            self.stats.late += 1
            alerts.extend(self._evaluate(ev, ts, at_once + buffered if defer else buffered))
            return alerts
        else:
            heapq.heappush(self.buffer, (ts, ev.id, next(self._tie), ev, seq, defer))
        self.max_ts = ts if self.max_ts is None else max(self.max_ts, ts)
        watermark = self.watermark()
        alerts.extend(self._release(watermark))
        if watermark == HOLD_ALL:  # no event time yet to sweep on
            return alerts
        # idle keys (windows, throttles of every kind) go once everything up to the
        # watermark has been evaluated
        if self.swept is None:
            self.swept = watermark
        elif watermark - self.swept >= EXPIRE_EVERY_US:
            self.expire(watermark)
            self.swept = watermark
        return alerts

    def _future(self, ev: Event) -> list[Alert]:
        """An event from beyond the clock: evaluated now, as of the newest event time
        (so windows and throttles stay on the time of the rest of the log)."""
        self.stats.future += 1
        at = self.max_ts if self.max_ts is not None else int(self.clock() * 1_000_000)
        at_once, buffered = self.candidates(ev)
        return self._evaluate(ev, at, at_once + buffered)

    def watermark(self) -> int:
        """Event time up to which buffered events are evaluated: `lateness` behind
        the newest event, and behind the newest of each source still catching up."""
        assert self.max_ts is not None
        mark = self.max_ts - self.lateness_us
        if self.holding_unknown:  # nothing new until that source has spoken
            return min(mark, self.released) if self.released is not None else HOLD_ALL
        for dataset in self.holding:
            head = self.heads.get(dataset)
            if head is not None:
                mark = min(mark, head - self.lateness_us)
        return mark

    def flush(self) -> list[Alert]:
        """Evaluate everything buffered (end of a backtest, or the log has gone quiet)."""
        if self.max_ts is None:
            return []
        return self._release(self.max_ts)

    def _release(self, upto: int) -> list[Alert]:
        alerts: list[Alert] = []
        while self.buffer and (self.buffer[0][0] <= upto or len(self.buffer) > MAX_BUFFERED):
            ts, _, _, ev, _, deferred = heapq.heappop(self.buffer)
            self.released = ts if self.released is None else max(self.released, ts)
            at_once, buffered = self.candidates(ev)
            alerts.extend(self._evaluate(ev, ts, at_once + buffered if deferred else buffered))
        return alerts

    def _evaluate(self, ev: Event, ts: int, rules: list[Rule]) -> list[Alert]:
        stats = self.stats
        alerts = []
        for rule in rules:
            if not rule.when.test(ev):
                continue
            stats.matches[rule.id] = stats.matches.get(rule.id, 0) + 1
            draft = self.states[rule.id].on_event(ev, ts)
            if draft is not None:
                alert = self._alert(rule, draft, ts)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def _alert(self, rule: Rule, draft: Draft, ts: int) -> Alert | None:
        if rule.throttle is not None:
            key = group_of(rule.throttle.by, draft.event) or ()
            throttles = self.throttles[rule.id]
            until = throttles.get(key)
            if until is not None and ts < until:
                self.stats.suppressed[rule.id] = self.stats.suppressed.get(rule.id, 0) + 1
                return None
            throttles[key] = ts + int(rule.throttle.duration.total_seconds() * 1_000_000)
        self.stats.alerts[rule.id] = self.stats.alerts.get(rule.id, 0) + 1
        ev = draft.event
        window_start = us_to_ts(draft.window_start_us)
        extra: dict[str, Any] = {}
        if rule.references:
            extra["rule.reference"] = list(rule.references)
        if rule.falsepositives:
            extra["wallwatch.alert.falsepositives"] = list(rule.falsepositives)
        # the time it was evaluated at: the event's own, unless that was in the future
        at = ev.timestamp if ts == ts_to_us(ev.timestamp) else us_to_ts(ts)
        return Alert(
            id=Alert.make_id(rule.id, draft.group, window_start), timestamp=at,
            rule_id=rule.id, rule_name=rule.title, severity=rule.severity, group=draft.group,
            window_start=window_start, event_ids=draft.event_ids, count=draft.count,
            ruleset=rule.ruleset, tags=rule.tags, description=rule.description,
            user_name=ev.user_name, client=ev.client, host_name=ev.host_name,
            file_path=ev.file_path, source_ip=ev.source_ip, extra=extra)

    # -- memory --------------------------------------------------------------
    def expire(self, watermark_us: int) -> None:
        for state in self.states.values():
            state.expire(watermark_us)
        for throttles in self.throttles.values():
            for key in [k for k, until in throttles.items() if until < watermark_us]:
                del throttles[key]

    def state_size(self) -> int:
        """Live keys: window groups, seen values, throttles and buffered events."""
        return (sum(s.size() for s in self.states.values())
                + sum(len(t) for t in self.throttles.values()) + len(self.buffer))

    # -- snapshots -----------------------------------------------------------
    def snapshot(self) -> bytes:
        by_id = {r.id: r for r in self.rules}
        return orjson.dumps({
            "v": SNAPSHOT_VERSION,
            "max_ts": self.max_ts,
            "released": self.released,
            "swept": self.swept,
            "heads": self.heads,
            "buffer": [_buffered_item(ev, seq, deferred)
                       for _, _, _, ev, seq, deferred in sorted(self.buffer)],
            "rules": {rid: {"def": rule_fingerprint(by_id[rid]), "state": st.snapshot(),
                            "throttle": [[list(k), v] for k, v in self.throttles[rid].items()]}
                      for rid, st in self.states.items()},
        })

    def restore(self, blob: bytes | None, load: LoadEvents | None = None) -> None:
        """Take back a snapshot; `load` fetches buffered events kept by store seq.
        Rules whose definition changed start afresh."""
        if not blob:
            return
        data = orjson.loads(blob)
        if data.get("v") != SNAPSHOT_VERSION:
            return
        self.max_ts, self.released = data.get("max_ts"), data.get("released")
        self.swept = data.get("swept")
        self.heads = {str(k): int(v) for k, v in (data.get("heads") or {}).items()}
        items = [(item[1], True) if isinstance(item, list) else (item, False)
                 for item in data.get("buffer", [])]
        seqs = [item for item, _ in items if isinstance(item, int)]
        loaded = load(seqs) if seqs and load is not None else {}
        # a buffered event gone from the store (retention removed it) is skipped
        self.missing = len(seqs) - len(loaded)
        self.buffer = []
        for item, deferred in items:
            if isinstance(item, int) and item not in loaded:
                continue
            seq = item if isinstance(item, int) else -1
            ev = loaded[item] if isinstance(item, int) else event_from_json(item)
            heapq.heappush(self.buffer, (ts_to_us(ev.timestamp), ev.id, next(self._tie), ev,
                                         seq, deferred))
        by_id = {r.id: r for r in self.rules}
        for rid, saved in data.get("rules", {}).items():
            rule = by_id.get(rid)
            if rule is None or saved.get("def") != rule_fingerprint(rule):
                continue
            self.states[rid].restore(saved.get("state"))
            self.throttles[rid] = {tuple(k): int(v) for k, v in saved.get("throttle", [])}

    def with_rules(self, rules: Iterable[Rule]) -> RuleEngine:
        """A new engine for a reloaded rule set, keeping the state of unchanged rules."""
        engine = RuleEngine(rules, timedelta(microseconds=self.lateness_us), self.max_future,
                            self.clock)
        buffered = {seq: ev for _, _, _, ev, seq, _ in self.buffer if seq >= 0}
        engine.restore(self.snapshot(), lambda seqs: {s: buffered[s] for s in seqs})
        engine.holding, engine.holding_unknown = self.holding, self.holding_unknown
        engine.stats = self.stats
        return engine


def _buffered_item(ev: Event, seq: int, deferred: bool) -> Any:
    """A buffered event in a snapshot: a stored one by its seq (cheap at any buffer
    size), others whole; ["m", …] when its match rules wait too."""
    item: Any = seq if seq >= 0 else event_to_json(ev)
    return ["m", item] if deferred else item
