"""The facts of one client's month, gathered from the store.

Everything is aggregated while the events stream past, so a busy client's
month (hundreds of thousands of events) costs memory per user and per day, not
per event. Times are the firm's (config timezone); a month is the calendar
month in that zone, so the report for March covers what a person in the office
calls March.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from monitor.calendar import BusinessCalendar, Span
from monitor.config import Config
from monitor.enrich import normalise_user
from monitor.event import Event, ts_to_us, us_to_ts
from monitor.store import EVENT_SELECT, Store, row_to_event

GROUPS = ("read", "open", "write", "delete", "rename", "permission", "other")
PERMISSION_ACTIONS = frozenset({"changed-file-permissions-of", "changed-file-ownership-of",
                                "changed-file-acl-of"})
_GROUP_OF = {
    "read": "read", "open": "open",
    "write": "write", "create": "write", "modify": "write", "mkdir": "write",
    "changed-file-attributes-of": "write",
    "delete": "delete", "rename": "rename",
    **{a: "permission" for a in PERMISSION_ACTIONS},
}
UNKNOWN_USER = ""  # events without a user (the filesystem watcher cannot say who)


def action_group(action: str) -> str:
    return _GROUP_OF.get(action, "other")


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """`2026-03` → [1 March 00:00, 1 April 00:00) in `tz`."""
    try:
        year, mon = (int(p) for p in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=tz)
    except ValueError:
        raise ValueError(f"bad month {month!r}: use YYYY-MM, e.g. 2026-03") from None
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=tz)
    return start, end


@dataclass
class StaffRow:
    user: str  # as logged (UNKNOWN_USER when the source did not say)
    status: str  # assigned | not_assigned | not_staff
    events: int = 0
    by_group: dict[str, int] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None
    off_hours: int = 0
    failed: int = 0
    breaches: int = 0  # successful non-stat accesses while not assigned (the wall rule's test)


@dataclass
class OffHoursRow:
    day: date
    user: str
    events: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class AlertRow:
    time: datetime
    rule_id: str
    rule_name: str
    severity: str
    user: str | None
    count: int
    path: str | None
    status: str  # alerts have no resolution state yet: always "open"


@dataclass(frozen=True)
class PermissionRow:
    time: datetime
    user: str
    action: str
    path: str
    before: str | None
    after: str | None


@dataclass
class ClientMonth:
    client: str
    start: datetime  # local midnight of the 1st
    end: datetime
    tz: ZoneInfo
    host: str
    generated: datetime
    staff: list[StaffRow]
    daily: dict[date, dict[str, int]]
    heat: list[list[int]]  # [weekday][hour]
    working: list[list[bool]]  # [weekday][hour]: working hours of a normal week
    off_hours: list[OffHoursRow]
    alerts: list[AlertRow]
    permissions: list[PermissionRow]

    @property
    def total(self) -> int:
        return sum(s.events for s in self.staff)

    @property
    def days(self) -> list[date]:
        first = self.start.date()
        n = (self.end.date() - first).days
        return [first + timedelta(days=i) for i in range(n)]


def _status(config: Config, user: str, client: str) -> str:
    member = config.staff.get(normalise_user(user)) if user else None
    if member is None:
        return "not_staff"
    return "assigned" if member.is_assigned(client) else "not_assigned"


def _change(ev: Event) -> tuple[str | None, str | None]:
    """What a permission change changed: before and after, as far as the source knows."""
    x = ev.extra
    if ev.action == "changed-file-permissions-of":
        return _text(x.get("file.mode_before")), ev.file_mode
    if ev.action == "changed-file-ownership-of":
        before = x.get("file.owner_before") or x.get("file.uid_before")
        return _text(before), ev.file_owner or _text(x.get("file.uid"))
    if "samba.sddl" in x:  # Samba logs only the new descriptor
        return None, _text(x.get("samba.sddl"))
    return _text(x.get("file.acl_before")), _text(x.get("file.acl"))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _working_week(calendar: BusinessCalendar) -> list[list[bool]]:
    """Hours (any minute of) worked on a normal week, from the configured weekday hours."""
    out: list[list[bool]] = []
    for spans in calendar.config.hours:
        out.append([any(_overlaps(s, h) for s in spans) for h in range(24)])
    return out


def _overlaps(span: Span, hour: int) -> bool:
    return span.start < (hour + 1) * 60 and span.end > hour * 60


def gather(store: Store, config: Config, client: str, month: str,
           now: datetime | None = None) -> ClientMonth:
    tz = config.timezone
    start, end = month_bounds(month, tz)
    calendar = BusinessCalendar(config.calendar)
    staff: dict[str, StaffRow] = {}
    daily: dict[date, dict[str, int]] = {}
    heat = [[0] * 24 for _ in range(7)]
    off: dict[tuple[date, str], OffHoursRow] = {}
    perms: list[PermissionRow] = []
    rows = store.query(EVENT_SELECT + " WHERE e.client = ? AND e.ts >= ? AND e.ts < ?"
                       " ORDER BY e.ts, e.seq", (client, ts_to_us(start), ts_to_us(end)))
    for row in rows:
        ev = row_to_event(row)
        user = ev.user_name or UNKNOWN_USER
        key = user.lower()
        local = ev.timestamp.astimezone(tz)
        group = action_group(ev.action)
        s = staff.get(key)
        if s is None:
            # the client as its folder spells it: assignments compare names exactly
            s = staff[key] = StaffRow(user, _status(config, user, ev.client or client))
        s.events += 1
        s.by_group[group] = s.by_group.get(group, 0) + 1
        s.first = s.first or local
        s.last = local
        if ev.outcome == "failure":
            s.failed += 1
        elif ev.assigned is False and ev.action != "stat":
            s.breaches += 1
        day = daily.setdefault(local.date(), {})
        day[group] = day.get(group, 0) + 1
        heat[local.weekday()][local.hour] += 1
        # the flag stored at ingest is what the rules saw; recompute only if absent
        off_hours = ev.off_hours if ev.off_hours is not None else calendar.off_hours(local)
        if off_hours:
            s.off_hours += 1
            o = off.get((local.date(), key))
            if o is None:
                off[(local.date(), key)] = OffHoursRow(local.date(), user, 1, local, local)
            else:
                o.events, o.last = o.events + 1, local
        if ev.action in PERMISSION_ACTIONS:
            before, after = _change(ev)
            perms.append(PermissionRow(local, user, ev.action, ev.file_path or "", before, after))
    return ClientMonth(
        client=client, start=start, end=end, tz=tz, host=config.host_name,
        generated=(now or datetime.now(tz)).astimezone(tz),
        staff=sorted(staff.values(), key=lambda r: (-r.events, r.user)),
        daily=daily, heat=heat, working=_working_week(calendar),
        off_hours=sorted(off.values(), key=lambda r: (r.day, r.first)),
        alerts=_alerts(store, client, start, end, tz), permissions=perms)


def _alerts(store: Store, client: str, start: datetime, end: datetime,
            tz: ZoneInfo) -> list[AlertRow]:
    out: list[AlertRow] = []
    for ts, doc in store.query("SELECT ts, doc FROM alerts WHERE client = ? COLLATE NOCASE"
                               " AND ts >= ? AND ts < ? ORDER BY ts, seq",
                               (client, ts_to_us(start), ts_to_us(end))):
        d = orjson.loads(doc)
        out.append(AlertRow(
            time=us_to_ts(ts).astimezone(tz), rule_id=d["rule"]["id"],
            rule_name=d["rule"].get("name") or d["rule"]["id"],
            severity=d["event"].get("severity_label", ""),
            user=(d.get("user") or {}).get("name"),
            count=int(d.get("wallwatch", {}).get("alert", {}).get("count", 1)),
            path=(d.get("file") or {}).get("path"), status="open"))
    return out
