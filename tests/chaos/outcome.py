"""What a fault scenario reports: counts, not a pass/fail.

Every scenario returns an Outcome; the fast tests assert on it (nothing lost,
nothing twice, the alerts of an uninterrupted run) and `make chaos` writes the
same numbers at full size into docs/RELIABILITY.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Tally:
    """One destination compared with what should have arrived there."""

    arrived: int = 0  # distinct expected items that arrived
    lost: int = 0  # expected, never arrived
    duplicated: int = 0  # extra copies, and items no uninterrupted run produces


def tally(expected: Iterable[str], got: Iterable[str]) -> Tally:
    want = set(expected)
    seen = Counter(got)
    copies = sum(n - 1 for n in seen.values())
    strangers = sum(1 for item in seen if item not in want)
    return Tally(arrived=sum(1 for item in want if item in seen),
                 lost=sum(1 for item in want if item not in seen),
                 duplicated=copies + strangers)


@dataclass
class Outcome:
    scenario: str
    size: str  # what was run, in words ("1,000,000 events, 20 SIGKILLs")
    runs: int = 0  # daemon processes started
    faults: int = 0  # faults injected (kills, rotations, refused requests, …)
    events_in: int = 0  # events an uninterrupted run stores
    events: dict[str, Tally] = field(default_factory=dict)  # by destination
    alerts_expected: int | None = None  # alerts of an uninterrupted run
    alerts: dict[str, Tally] = field(default_factory=dict)  # by destination
    # notifications, as a receiver that drops a delivery id it has seen keeps them:
    # delivered rows vs decided rows, and the repeats it dropped
    messages: Tally | None = None
    repeats: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)  # what the scenario observed on the way

    def _counted(self) -> list[Tally]:
        """What the Lost and Duplicated columns add up: events and alerts wherever they
        are stored, and notification messages. (An alert told twice is a message sent
        twice: counted once, as a message; the details show both.)"""
        return [*self.events.values(),
                *(t for where, t in self.alerts.items() if not where.startswith("notify:")),
                *([self.messages] if self.messages else [])]

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self._counted())

    @property
    def duplicated(self) -> int:
        return sum(t.duplicated for t in self._counted())

    @property
    def events_out(self) -> int:
        """Expected events that arrived at every destination (the weakest one counts)."""
        return min((t.arrived for t in self.events.values()), default=0)

    @property
    def alerts_sent(self) -> int | None:
        """Expected alerts that reached every destination (store, Elasticsearch,
        each notification route), the weakest one counting."""
        if self.alerts_expected is None:
            return None
        return min((t.arrived for t in self.alerts.values()), default=0)

    def clean(self) -> bool:
        return (self.lost == 0 and self.duplicated == 0
                and all(t.lost == t.duplicated == 0 for t in self.alerts.values())
                and self.events_out == self.events_in
                and self.alerts_sent == self.alerts_expected)

    def detail(self) -> str:
        """Per destination, for the table's notes column."""
        parts = [f"events→{name} {t.arrived:,}" + _bad(t) for name, t in self.events.items()]
        parts += [f"alerts→{name} {t.arrived:,}" + _bad(t) for name, t in self.alerts.items()]
        if self.messages is not None:
            parts.append(f"messages {self.messages.arrived:,}" + _bad(self.messages))
        return "; ".join(parts + self.notes)


def _bad(t: Tally) -> str:
    return f" (lost {t.lost}, dup {t.duplicated})" if t.lost or t.duplicated else ""
