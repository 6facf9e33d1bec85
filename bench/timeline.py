"""Time for the generators: a span of days, office-hours arrival, and a merger that
writes the records of overlapping actions in time order (as a log would have them).

Times are integers: microseconds of local (wall-clock) time since the span's first
midnight. Every generator writes its own format from them.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# (start hour, end hour, relative activity) of an office day: quiet early and late
# (those are off-hours), a lunch dip, nothing at night except what is injected
OFFICE_PROFILE = ((8.0, 9.0, 0.05), (9.0, 12.0, 1.0), (12.0, 13.5, 0.35), (13.5, 18.0, 1.0),
                  (18.0, 20.5, 0.06))


@dataclass(frozen=True)
class Span:
    """The days the logs cover, in the firm's timezone."""

    start: date  # a Monday
    days: int
    tz: ZoneInfo

    @property
    def length(self) -> int:
        return self.days * DAY

    def local(self, t: int) -> datetime:
        return datetime.combine(self.start, datetime.min.time()) + timedelta(microseconds=t)

    def epoch(self, t: int) -> float:
        """Seconds since 1970 of local time t (auditd stamps records with these)."""
        aware = datetime.combine(self.start, datetime.min.time(), tzinfo=self.tz)
        return aware.timestamp() + t / SECOND


class OfficeClock:
    """Maps 'activity time' (uniform) onto wall-clock time shaped by OFFICE_PROFILE on
    working days, so a Poisson process in activity time gives office-like arrivals."""

    def __init__(self, span: Span, workdays: list[int]) -> None:
        self.pieces: list[tuple[float, int, float]] = []  # (activity start, wall start, rate)
        acc = 0.0
        for day in workdays:
            for lo, hi, rate in OFFICE_PROFILE:
                self.pieces.append((acc, day * DAY + int(lo * HOUR), rate))
                acc += (hi - lo) * HOUR * rate
        self.total = acc
        self._starts = [p[0] for p in self.pieces]

    def wall(self, activity: float) -> int:
        i = max(0, bisect.bisect_right(self._starts, activity) - 1)
        a0, w0, rate = self.pieces[i]
        return w0 + int((activity - a0) / rate)


@dataclass(order=True)
class Action:
    """Records (time, text) of one thing someone did; times ascending."""

    start: int
    seq: int
    records: list[tuple[int, str]] = field(compare=False)


class Budget(Exception):
    """The line budget is spent: the generator stops."""


class Merger:
    """Writes records of overlapping actions in time order, until `limit` lines.
    `render(time, record)` gives the record's text: one or more lines, each ending in
    a newline."""

    def __init__(self, out: TextIO, render: Callable[[int, str], str], limit: int) -> None:
        self.out, self.render, self.limit = out, render, limit
        self.lines = 0
        self.now = 0
        self._active: list[tuple[int, int, int, Action]] = []
        self._seq = itertools.count()

    def add(self, action: Action) -> None:
        """Take an action; everything that happens before it starts is written first.
        Raises Budget when the file is full."""
        self.flush(action.start)
        if action.records:
            heapq.heappush(self._active, (action.records[0][0], next(self._seq), 0, action))

    def flush(self, until: int | None = None) -> None:
        active = self._active
        while active and (until is None or active[0][0] <= until):
            ts, _, i, action = heapq.heappop(active)
            ts = max(ts, self.now)  # an action that started in the past goes on from now
            text = self.render(ts, action.records[i][1])
            n = text.count("\n")
            if self.lines + n > self.limit:
                raise Budget
            self.out.write(text)
            self.now = ts
            self.lines += n
            if i + 1 < len(action.records):
                heapq.heappush(active, (action.records[i + 1][0], next(self._seq), i + 1,
                                        action))

    @property
    def left(self) -> int:
        return self.limit - self.lines


class Steps:
    """Builds an action's records with small, random gaps between them."""

    def __init__(self, rng: random.Random, start: int) -> None:
        self.rng, self.t = rng, start
        self.records: list[tuple[int, str]] = []

    def add(self, text: str, gap_us: tuple[int, int] = (15, 400)) -> None:
        self.t += self.rng.randint(*gap_us)
        self.records.append((self.t, text))


def seconds(rng: random.Random, lo: float, hi: float) -> int:
    return int(rng.uniform(lo, hi) * SECOND)
