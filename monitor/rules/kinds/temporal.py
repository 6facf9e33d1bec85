"""`temporal`: events of every step (or of `need` distinct steps, or of every step of
one `any_of` set) by one group within a sliding window of event time; with
`ordered`, in the steps' order. A group that fires starts over. Sigma's `temporal`
and `temporal_ordered` correlations compile to this kind.

Unordered: per group, the latest match of each step; a step whose latest match has
left the window no longer counts.

Ordered: per group and step i, the chain of matches of steps 0..i whose first event
is the latest that still fits in the window. A later start leaves more room for
the remaining steps, so keeping only that chain never misses a completion, and the
state stays one chain per step.

An event that matches several steps whose group fields differ (Sigma aliases)
advances each of those groups; should two complete on the same event, the first in
step order becomes the alert (the other group starts over too, deterministically,
so a replay gives the same).
"""

from __future__ import annotations

from typing import Any

from monitor.event import Event
from monitor.rules.kinds.base import (
    MAX_EVIDENCE,
    Draft,
    Group,
    KindState,
    group_of,
    labelled,
    went_back,
)
from monitor.rules.model import Rule, Temporal

Mark = tuple[int, tuple[str, ...]]  # (ts µs of the first event, event ids in order)


class _Marks:
    __slots__ = ("latest", "marks")

    def __init__(self, steps: int) -> None:
        self.marks: list[Mark | None] = [None] * steps
        self.latest = 0


class TemporalState(KindState[_Marks]):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.params, Temporal)
        self.params = rule.params
        self.window_us = int(rule.params.window.total_seconds() * 1_000_000)
        self.need = rule.params.need or len(rule.params.steps)

    def on_event(self, ev: Event, ts_us: int) -> Draft | None:
        p = self.params
        by_group: dict[Group, list[int]] = {}
        for i, when in enumerate(p.steps):
            if when.test(ev):  # the engine tested the steps' OR; each step says which
                group = group_of(p.group_by[i], ev)
                if group is not None:
                    by_group.setdefault(group, []).append(i)
        draft: Draft | None = None
        for group, steps in by_group.items():
            done = self._advance(group, steps, ev, ts_us)
            draft = draft or done
        return draft

    def _advance(self, group: Group, steps: list[int], ev: Event, ts_us: int) -> Draft | None:
        state = self.groups.get(group)
        if state is None or went_back(state.latest, ts_us, self.window_us):
            state = self.groups[group] = _Marks(len(self.params.steps))
        self.groups.move_to_end(group)
        state.latest = max(state.latest, ts_us)
        oldest = state.latest - self.window_us
        marks = state.marks
        if self.params.ordered:
            for i in sorted(steps, reverse=True):  # so one event cannot follow itself
                if i == 0:
                    chain: Mark = (ts_us, (ev.id,))
                else:
                    before = marks[i - 1]
                    if before is None or before[0] < ts_us - self.window_us:
                        continue
                    chain = (before[0], before[1] + (ev.id,))
                current = marks[i]
                if current is None or chain[0] >= current[0]:
                    marks[i] = chain
            last = marks[-1]
            used = [last] if last is not None and last[0] >= oldest else []
        else:
            for i in steps:
                marks[i] = (ts_us, (ev.id,))
            live = {i for i, m in enumerate(marks) if m is not None and m[0] >= oldest}
            if self.params.any_of:
                done = any(all(i in live for i in combo) for combo in self.params.any_of)
            else:
                done = len(live) >= self.need
            used = [m for i, m in enumerate(marks) if i in live and m is not None] if done \
                else []
        if not used:
            return None
        start = min(m[0] for m in used)
        # ordered: the chain; else each step's event, oldest first
        ids = list(used[0][1]) if self.params.ordered else [m[1][0] for m in sorted(used)]
        del self.groups[group]
        return Draft(labelled(self.params.labels, group), start, ev,
                     tuple(ids[:MAX_EVIDENCE]), len(ids))

    def expire(self, watermark_us: int) -> None:
        while self.groups:
            group, state = next(iter(self.groups.items()))
            if state.latest >= watermark_us - self.window_us:
                break
            del self.groups[group]

    def snapshot(self) -> Any:
        return [[list(g), s.latest, [None if m is None else [m[0], list(m[1])]
                                     for m in s.marks]]
                for g, s in self.groups.items()]

    def restore(self, data: Any) -> None:
        self.groups.clear()
        steps = len(self.params.steps)
        for group, latest, marks in data or []:
            state = _Marks(steps)
            state.latest = int(latest)
            state.marks = [None if m is None else (int(m[0]), tuple(str(i) for i in m[1]))
                           for m in marks][:steps]
            state.marks += [None] * (steps - len(state.marks))
            self.groups[tuple(group)] = state
