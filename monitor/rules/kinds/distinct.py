"""`distinct`: the number of distinct values of a field per group in a sliding
window of event time reaches `count` (one user touching many clients). The group
then starts over."""

from __future__ import annotations

from typing import Any

from monitor.event import Event
from monitor.rules.kinds.base import (
    MAX_EVIDENCE,
    Draft,
    KindState,
    field_text,
    group_of,
    labelled,
    went_back,
)
from monitor.rules.model import Distinct, Rule


class _Seen:
    __slots__ = ("latest", "values")

    def __init__(self) -> None:
        self.values: dict[str, tuple[int, str]] = {}  # value -> (last ts µs, event id)
        self.latest = 0


class DistinctState(KindState[_Seen]):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.params, Distinct)
        self.params = rule.params
        self.window_us = int(rule.params.window.total_seconds() * 1_000_000)

    def on_event(self, ev: Event, ts_us: int) -> Draft | None:
        group = group_of(self.params.group_by, ev)
        value = field_text(ev.get(self.params.field))
        if group is None or value is None:
            return None
        seen = self.groups.get(group)
        if seen is None or went_back(seen.latest, ts_us, self.window_us):
            seen = self.groups[group] = _Seen()
        self.groups.move_to_end(group)
        seen.latest = max(seen.latest, ts_us)
        old = seen.values.get(value)
        if old is None or old[0] < ts_us:
            seen.values[value] = (ts_us, ev.id)
        start = seen.latest - self.window_us
        for stale in [v for v, (t, _) in seen.values.items() if t < start]:
            del seen.values[stale]
        if len(seen.values) < self.params.count:
            return None
        ordered = sorted(seen.values.values())
        draft = Draft(labelled(self.params.group_by, group), ordered[0][0], ev,
                      tuple(i for _, i in ordered[:MAX_EVIDENCE]), len(seen.values))
        del self.groups[group]
        return draft

    def expire(self, watermark_us: int) -> None:
        while self.groups:
            group, seen = next(iter(self.groups.items()))
            if seen.latest >= watermark_us - self.window_us:
                break
            del self.groups[group]

    def snapshot(self) -> Any:
        return [[list(g), s.latest, {v: list(x) for v, x in s.values.items()}]
                for g, s in self.groups.items()]

    def restore(self, data: Any) -> None:
        self.groups.clear()
        for group, latest, values in data or []:
            seen = _Seen()
            seen.latest = int(latest)
            seen.values = {str(v): (int(t), str(i)) for v, (t, i) in values.items()}
            self.groups[tuple(group)] = seen
