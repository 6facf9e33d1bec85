"""Rules as small immutable dataclasses. They hold no runtime state: windows,
first-seen sets, partial sequences and throttles live in the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from monitor.event import Event

Predicate = Callable[[Event], bool]
KINDS = ("match", "threshold", "distinct", "sequence", "new_value")


@dataclass(frozen=True)
class Condition:
    """A compiled `when:` block: `test(event)` decides, `fields` are the fields it reads
    (the engine indexes rules by them), `source` is the YAML it came from."""

    test: Predicate = field(compare=False, repr=False)
    fields: frozenset[str]
    source: str  # canonical text of the condition, so equal rules compare equal
    # plain equality tests of the top-level AND on INDEX_FIELDS: the engine skips the
    # rule for events whose value is not among these (casefolded) without testing it
    requires: tuple[tuple[str, frozenset[str]], ...] = field(default=(), compare=False)


INDEX_FIELDS = ("event.category", "event.dataset", "event.action", "event.outcome")


@dataclass(frozen=True)
class Throttle:
    by: tuple[str, ...]
    duration: timedelta


@dataclass(frozen=True)
class Threshold:
    window: timedelta
    count: int
    group_by: tuple[str, ...]
    sum_field: str | None = None  # sum this numeric field instead of counting events


@dataclass(frozen=True)
class Distinct:
    window: timedelta
    field: str
    count: int
    group_by: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    when: Condition
    count: int = 1


@dataclass(frozen=True)
class Sequence:
    window: timedelta
    steps: tuple[Step, ...]
    group_by: tuple[str, ...]


@dataclass(frozen=True)
class NewValue:
    fields: tuple[str, ...]
    learn: timedelta
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Temporal:
    """Events of several kinds (one `when` per step) by one group within a window —
    Sigma's `temporal` and, with `ordered`, `temporal_ordered` correlations.

    Each step names its own group fields (Sigma's aliases let one rule's `source.ip` meet
    another's `destination.ip`); `labels` name them on the alert (the event field, or
    the alias where the steps read different fields). It fires when `need` distinct
    steps have matched (0: all of them), or, when `any_of` is given, when every step of
    one of its sets has (an and/or condition in DNF)."""

    window: timedelta
    steps: tuple[Condition, ...]
    group_by: tuple[tuple[str, ...], ...]  # per step, same length as steps
    labels: tuple[str, ...]
    ordered: bool = False
    need: int = 0
    any_of: tuple[tuple[int, ...], ...] = ()


KindParams = Threshold | Distinct | Sequence | NewValue | Temporal | None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    kind: str
    when: Condition
    params: KindParams = None
    description: str = ""
    tags: tuple[str, ...] = ()
    throttle: Throttle | None = None
    enabled: bool = True
    ruleset: str = "wallwatch"
    path: str = field(default="", compare=False)  # where it was written, not what it is
    line: int = field(default=0, compare=False)
    references: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
