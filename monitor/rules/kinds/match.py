"""`match`: every matching event is a conclusion (throttling limits the alerts)."""

from __future__ import annotations

from typing import Any

from monitor.event import Event
from monitor.rules.kinds.base import Draft, KindState, group_of, labelled


class MatchState(KindState[None]):
    def on_event(self, ev: Event, ts_us: int) -> Draft | None:
        throttle = self.rule.throttle
        if throttle is not None and throttle.by:
            group = group_of(throttle.by, ev)
            if group is not None:
                return Draft(labelled(throttle.by, group), ts_us, ev, (ev.id,), ev.count)
        return Draft((("event.id", ev.id),), ts_us, ev, (ev.id,), ev.count)

    def snapshot(self) -> Any:
        return None

    def restore(self, data: Any) -> None:
        return None
