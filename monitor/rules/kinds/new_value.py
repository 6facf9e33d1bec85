"""`new_value`: the first time a value (or a tuple of values) is seen, after a
learning period that starts with the first event the rule sees. What was seen is
state, snapshotted with the engine; a value unseen for FORGET is forgotten, so
memory stays bounded and a value back after half a year is new again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from monitor.event import Event
from monitor.rules.kinds.base import Draft, Group, KindState, group_of, labelled
from monitor.rules.model import NewValue, Rule

FORGET = timedelta(days=180)


class NewValueState(KindState[int]):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.params, NewValue)
        self.params = rule.params
        self.fields = rule.params.group_by + rule.params.fields
        self.learn_us = int(rule.params.learn.total_seconds() * 1_000_000)
        self.forget_us = int(FORGET.total_seconds() * 1_000_000)
        self.learn_start: int | None = None

    def on_event(self, ev: Event, ts_us: int) -> Draft | None:
        key: Group | None = group_of(self.fields, ev)
        if key is None:
            return None
        if self.learn_start is None:
            self.learn_start = ts_us
        last = self.groups.get(key)
        self.groups[key] = max(last or ts_us, ts_us)
        self.groups.move_to_end(key)
        if last is not None or ts_us < self.learn_start + self.learn_us:
            return None
        return Draft(labelled(self.fields, key), ts_us, ev, (ev.id,), 1)

    def expire(self, watermark_us: int) -> None:
        while self.groups:
            key, last = next(iter(self.groups.items()))
            if last >= watermark_us - self.forget_us:
                break
            del self.groups[key]

    def snapshot(self) -> Any:
        return {"learn_start": self.learn_start,
                "seen": [[list(k), t] for k, t in self.groups.items()]}

    def restore(self, data: Any) -> None:
        self.groups.clear()
        data = data or {}
        self.learn_start = data.get("learn_start")
        for key, last in data.get("seen", []):
            self.groups[tuple(key)] = int(last)
