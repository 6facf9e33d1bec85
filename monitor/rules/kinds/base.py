"""What every rule kind's state provides, and the shared helpers."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from monitor.event import Event
from monitor.rules.model import Rule

MAX_EVIDENCE = 50  # event ids kept on an alert; the count says how many there were

Group = tuple[str, ...]


@dataclass(frozen=True)
class Draft:
    """A rule's conclusion before throttling turns it into an Alert."""

    group: tuple[tuple[str, str], ...]
    window_start_us: int
    event: Event  # the event that completed it
    event_ids: tuple[str, ...]
    count: int


def field_text(value: Any) -> str | None:
    if value is None or value == []:
        return None
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def group_of(fields: tuple[str, ...], ev: Event) -> Group | None:
    """The values of `fields` on the event; None when one is missing (not attributable)."""
    out = []
    for name in fields:
        text = field_text(ev.get(name))
        if text is None:
            return None
        out.append(text)
    return tuple(out)


def went_back(latest_us: int, ts_us: int, window_us: int) -> bool:
    """An event more than a window older than the newest of its group: the log's clock
    was stepped back (or an earlier line was from a clock far ahead). Nothing the group
    holds can share a window with it, and the held entries, newer than every event of
    the new timeline, would never slide out: the group starts over."""
    return latest_us > 0 and ts_us < latest_us - window_us


def labelled(fields: tuple[str, ...], group: Group) -> tuple[tuple[str, str], ...]:
    return tuple(zip(fields, group, strict=True))


S = TypeVar("S")


class KindState(Generic[S]):
    """Per-rule state. `groups` is ordered by last activity so idle ones expire cheaply."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.groups: OrderedDict[Group, S] = OrderedDict()

    def on_event(self, ev: Event, ts_us: int) -> Draft | None:
        raise NotImplementedError

    def expire(self, watermark_us: int) -> None:
        """Forget groups with nothing left inside their window."""

    def size(self) -> int:
        return len(self.groups)

    def snapshot(self) -> Any:
        raise NotImplementedError

    def restore(self, data: Any) -> None:
        raise NotImplementedError
