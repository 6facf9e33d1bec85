"""`threshold`: the count of matching events (or the sum of a field) per group in a
sliding window of event time reaches `count`. The group then starts over, so a
burst of 500 deletes with count 50 gives 10 alerts, not 451."""

from __future__ import annotations

import bisect
from collections import deque
from typing import Any

from monitor.event import Event
from monitor.rules.kinds.base import MAX_EVIDENCE, Draft, KindState, group_of, labelled
from monitor.rules.model import Rule, Threshold

Entry = tuple[int, float, str]  # (ts µs, amount, event id)


class _Window:
    __slots__ = ("entries", "latest", "total")

    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()
        self.total = 0.0
        self.latest = 0


class ThresholdState(KindState[_Window]):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.params, Threshold)
        self.params = rule.params
        self.window_us = int(rule.params.window.total_seconds() * 1_000_000)

    def _amount(self, ev: Event) -> float | None:
        if self.params.sum_field is None:
            return 1.0
        try:
            return float(ev.get(self.params.sum_field))
        except (TypeError, ValueError):
            return None

    def on_event(self, ev: Event, ts_us: int) -> Draft | None:
        group = group_of(self.params.group_by, ev)
        amount = self._amount(ev)
        if group is None or amount is None:
            return None
        win = self.groups.get(group)
        if win is None:
            win = self.groups[group] = _Window()
        self.groups.move_to_end(group)
        entry = (ts_us, amount, ev.id)
        late = bool(win.entries) and entry < win.entries[-1]
        if late:  # entries stay in time order, so the oldest is always first to go
            bisect.insort(win.entries, entry)
        else:
            win.entries.append(entry)
        win.total += amount
        win.latest = max(win.latest, ts_us)
        # the window is the one ending at this event: a late event (a clock stepped
        # back, a line held up) counts with its own neighbours, not with newer entries
        start = ts_us - self.window_us
        while win.entries and win.entries[0][0] < start:
            win.total -= win.entries.popleft()[1]
        if win.total < self.params.count:
            return None
        counted = [e for e in win.entries if e[0] <= ts_us] if late else list(win.entries)
        total = sum(e[1] for e in counted) if late else win.total
        if total < self.params.count:
            return None
        draft = Draft(labelled(self.params.group_by, group), counted[0][0], ev,
                      tuple(e[2] for e in counted[:MAX_EVIDENCE]), int(total))
        del self.groups[group]
        return draft

    def expire(self, watermark_us: int) -> None:
        while self.groups:
            group, win = next(iter(self.groups.items()))
            if win.latest >= watermark_us - self.window_us:
                break
            del self.groups[group]

    def snapshot(self) -> Any:
        return [[list(g), [list(e) for e in w.entries], w.latest] for g, w in self.groups.items()]

    def restore(self, data: Any) -> None:
        self.groups.clear()
        for group, entries, latest in data or []:
            win = _Window()
            win.entries = deque((int(t), float(a), str(i)) for t, a, i in entries)
            win.total = sum(e[1] for e in win.entries)
            win.latest = int(latest)
            self.groups[tuple(group)] = win
