"""`sequence`: ordered steps, each with its own `when` and `count`, by one group
within a window of event time — e.g. five failed logins then a success from the
same address within ten minutes.

The first step is kept as a sliding window of its matches, so a success that
comes too late for the first failures can still complete with later ones. A
later step that arrives after the window has passed starts the sequence over
from the first step's matches that are still inside the window.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from monitor.event import Event
from monitor.rules.kinds.base import MAX_EVIDENCE, Draft, KindState, group_of, labelled
from monitor.rules.model import Rule, Sequence


class _Progress:
    __slots__ = ("count", "evidence", "firsts", "latest", "stage", "start")

    def __init__(self) -> None:
        self.firsts: deque[tuple[int, str]] = deque()  # first-step matches (ts µs, id)
        self.stage = 0  # index of the step being collected; 0 = still gathering the first
        self.start = 0  # window start once the first step is complete
        self.count = 0  # matches of the current step
        self.evidence: list[str] = []
        self.latest = 0


class SequenceState(KindState[_Progress]):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.params, Sequence)
        self.params = rule.params
        self.window_us = int(rule.params.window.total_seconds() * 1_000_000)

    def _restart(self, p: _Progress, now_us: int) -> None:
        """Back to the first step, keeping its matches that are still in the window."""
        while p.firsts and p.firsts[0][0] < now_us - self.window_us:
            p.firsts.popleft()
        need = self.params.steps[0].count
        if len(p.firsts) >= need:
            recent = list(p.firsts)[-need:]
            p.stage, p.start, p.count = 1, recent[0][0], 0
            p.evidence = [i for _, i in recent]
        else:
            p.stage, p.start, p.count, p.evidence = 0, 0, 0, []

    def on_event(self, ev: Event, ts_us: int) -> Draft | None:
        steps = self.params.steps
        in_first = steps[0].when.test(ev)
        later = [i for i in range(1, len(steps)) if steps[i].when.test(ev)]
        if not in_first and not later:
            return None
        group = group_of(self.params.group_by, ev)
        if group is None:
            return None
        p = self.groups.get(group)
        if p is None:
            p = self.groups[group] = _Progress()
        self.groups.move_to_end(group)
        p.latest = max(p.latest, ts_us)
        if p.stage > 0 and p.stage in later:
            if ts_us - p.start > self.window_us:
                self._restart(p, ts_us)
            if p.stage > 0 and p.stage in later:
                p.count += 1
                p.evidence.append(ev.id)
                if p.count >= steps[p.stage].count:
                    p.stage += 1
                    p.count = 0
                    if p.stage == len(steps):
                        draft = Draft(labelled(self.params.group_by, group), p.start, ev,
                                      tuple(p.evidence[:MAX_EVIDENCE]), len(p.evidence))
                        del self.groups[group]
                        return draft
                return None
        if in_first:
            p.firsts.append((ts_us, ev.id))
            while len(p.firsts) > steps[0].count:
                p.firsts.popleft()  # only the most recent `count` can start a sequence
            if p.stage == 0:
                self._restart(p, ts_us)
        return None

    def expire(self, watermark_us: int) -> None:
        while self.groups:
            group, p = next(iter(self.groups.items()))
            if p.latest >= watermark_us - self.window_us:
                break
            del self.groups[group]

    def snapshot(self) -> Any:
        return [[list(g), [list(f) for f in p.firsts], p.stage, p.start, p.count, p.evidence,
                 p.latest] for g, p in self.groups.items()]

    def restore(self, data: Any) -> None:
        self.groups.clear()
        for group, firsts, stage, start, count, evidence, latest in data or []:
            p = _Progress()
            p.firsts = deque((int(t), str(i)) for t, i in firsts)
            p.stage, p.start, p.count = int(stage), int(start), int(count)
            p.evidence, p.latest = [str(e) for e in evidence], int(latest)
            self.groups[tuple(group)] = p
