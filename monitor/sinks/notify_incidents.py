"""Incidents: alerts of one rule and group key close together in event time.

The first alert of an incident is told at once; what follows inside it — more
alerts, and the events matching the rule for the same group that the rule's
throttle kept from becoming alerts (bob goes on reading acme's files) — is told
in one update when the incident goes quiet for `gap`, or every `update_every`
while it goes on. Everything is decided on event time: an alert belongs to an
incident when its time is within `gap` of the incident's activity, whenever it
reaches us. Incidents live in the store (one row each) and are saved in the
consumer's transaction, so grouping survives restarts.

"Now" for closing an incident is a watermark (see NotifyConsumer): the newest
event time the store has seen, or the wall clock when the logs are quiet, minus
a settling delay for late events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from monitor.event import event_id
from monitor.rules.kinds.base import group_of
from monitor.rules.model import Rule
from monitor.sinks.notify_model import NotifyAlert
from monitor.store import EVENT_SELECT, row_to_event

SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_incidents (
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,          -- rule id + group pairs
    first_ts INTEGER NOT NULL,        -- event time, µs
    last_ts INTEGER NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    state BLOB NOT NULL               -- the Incident as JSON
);
CREATE INDEX IF NOT EXISTS notify_incidents_recent ON notify_incidents(closed, last_ts);
"""

SCAN_LIMIT = 100_000  # events examined per scan window; beyond, counts say "at least"
MAX_FILES = 10  # distinct paths named in an update
MAX_IDS = 500  # alert ids kept per incident (the count goes on)
# columns the store indexes or keeps per event: a scan filters on them in SQL first
_COLUMN_OF = {"user.name": "user_name", "wallwatch.client": "client", "source.ip": "source_ip",
              "host.name": "host_name"}


@dataclass
class Pending:
    """What happened in an incident since its last message."""

    alerts: list[str] = field(default_factory=list)
    events: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    truncated: bool = False

    def empty(self) -> bool:
        return not self.alerts and not self.events

    def add_event(self, action: str, path: str | None) -> None:
        self.events += 1
        self.actions[action] = self.actions.get(action, 0) + 1
        if path and path not in self.files and len(self.files) < MAX_FILES:
            self.files.append(path)


@dataclass
class Incident:
    id: str
    rule_id: str
    rule_name: str
    severity: str
    group: list[list[str]]
    group_key: str
    first_ts: int
    last_ts: int  # newest activity (alert or matching event)
    first: dict[str, Any]  # the first alert's fields, for rendering updates
    alert_ids: list[str]
    alert_count: int
    event_count: int
    routes: list[str] = field(default_factory=list)  # routes told at once about it
    checked_ts: int = 0  # matching events looked at up to this event time
    pending: Pending = field(default_factory=Pending)
    updates: int = 0
    last_update: int = 0  # event time the last message covered up to
    closed: bool = False
    scannable: bool = True

    def due(self, gap_us: int, every_us: int) -> int:
        """Event time at which this incident needs a look: it closes, or an update is due."""
        return min(self.last_ts + gap_us, self.last_update + every_us)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @staticmethod
    def from_json(blob: bytes) -> Incident:
        data = orjson.loads(blob)
        data["pending"] = Pending(**data.get("pending") or {})
        return Incident(**data)


def incident_id(alert: NotifyAlert) -> str:
    return "inc-" + event_id("incident", alert.group_key, alert.id)[:16]


def new_incident(alert: NotifyAlert, rule: Rule | None) -> Incident:
    fields = [k for k, _ in alert.group]
    first = {"alert_id": alert.id, "user": alert.user, "client": alert.client,
             "host": alert.host, "share": alert.share, "path": alert.path, "ip": alert.ip,
             "count": alert.count, "tags": list(alert.tags), "event_ids": list(alert.event_ids),
             "description": alert.description}
    return Incident(
        id=incident_id(alert), rule_id=alert.rule_id, rule_name=alert.rule_name,
        severity=alert.severity, group=[[k, v] for k, v in alert.group],
        group_key=alert.group_key, first_ts=alert.ts, last_ts=alert.ts, first=first,
        alert_ids=[alert.id], alert_count=1, event_count=alert.count, checked_ts=alert.ts,
        last_update=alert.ts,
        scannable=rule is not None and bool(fields) and "event.id" not in fields)


class IncidentBook:
    """The incidents that can still grow, by group key; the changed ones are saved."""

    def __init__(self, gap_us: int, update_every_us: int) -> None:
        self.gap_us = gap_us
        self.every_us = update_every_us
        # several incidents of one group key may be open: a late alert can start one
        # before the current one in event time
        self.by_key: dict[str, list[Incident]] = {}
        self.dirty: dict[str, Incident] = {}

    def load(self, db: sqlite3.Connection) -> None:
        """Open incidents, and closed ones recent enough that a late alert may reopen them."""
        self.by_key.clear()
        self.dirty.clear()
        rows = db.execute("SELECT state FROM notify_incidents WHERE closed=0 OR last_ts >="
                          " (SELECT coalesce(max(last_ts), 0) FROM notify_incidents) - ?"
                          " ORDER BY last_ts", (2 * self.gap_us,))
        for (blob,) in rows:
            inc = Incident.from_json(blob)
            self.by_key.setdefault(inc.group_key, []).append(inc)

    def save(self, db: sqlite3.Connection) -> None:
        """Within the consumer's transaction."""
        db.executemany(
            "INSERT INTO notify_incidents (id, group_key, first_ts, last_ts, closed, state)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET first_ts=excluded.first_ts,"
            " last_ts=excluded.last_ts, closed=excluded.closed, state=excluded.state",
            [(i.id, i.group_key, i.first_ts, i.last_ts, int(i.closed), i.to_json())
             for i in self.dirty.values()])
        self.dirty.clear()

    def touch(self, inc: Incident) -> None:
        self.dirty[inc.id] = inc

    def on_alert(self, alert: NotifyAlert, rule: Rule | None) -> tuple[Incident, bool]:
        """The incident the alert belongs to, and whether the alert opened it."""
        inc = next((i for i in self.by_key.get(alert.group_key, ())
                    if i.first_ts - self.gap_us <= alert.ts <= i.last_ts + self.gap_us), None)
        if inc is not None:
            if alert.id not in inc.alert_ids:
                inc.alert_count += 1
                if len(inc.alert_ids) < MAX_IDS:
                    inc.alert_ids.append(alert.id)
                if not inc.scannable:  # no scan counts this alert's events for us
                    inc.event_count += alert.count
                    inc.pending.events += alert.count
                inc.pending.alerts.append(alert.id)
                if alert.path and alert.path not in inc.pending.files \
                        and len(inc.pending.files) < MAX_FILES:
                    inc.pending.files.append(alert.path)
            inc.first_ts = min(inc.first_ts, alert.ts)
            inc.last_ts = max(inc.last_ts, alert.ts)
            inc.closed = False  # a late alert inside it reopens it for one more update
            self.touch(inc)
            return inc, False
        inc = new_incident(alert, rule)
        self.by_key.setdefault(alert.group_key, []).append(inc)
        self.touch(inc)
        return inc, True

    def due(self, watermark: int) -> list[Incident]:
        return [i for group in self.by_key.values() for i in group
                if not i.closed and i.due(self.gap_us, self.every_us) <= watermark]

    def forget(self, watermark: int) -> None:
        """Drop closed incidents no alert can join any more from memory (not the store)."""
        for key, group in list(self.by_key.items()):
            kept = [i for i in group if not i.closed or i.last_ts + 2 * self.gap_us >= watermark]
            if kept:
                self.by_key[key] = kept
            else:
                del self.by_key[key]

    def check(self, db: sqlite3.Connection, inc: Incident, rule: Rule | None,
              watermark: int) -> str | None:
        """Look at an incident that is due: count the matching events up to the watermark
        (they extend it), then say whether it is now 'closed', needs an 'update', or
        neither. The caller sends the message and then calls `reported`."""
        if inc.scannable and rule is not None:
            while True:
                upto = min(watermark, inc.last_ts + self.gap_us)
                if upto <= inc.checked_ts:
                    break
                last = inc.last_ts
                for ts, action, path in scan(db, inc, rule, inc.checked_ts, upto):
                    inc.pending.add_event(action, path)
                    inc.event_count += 1
                    inc.last_ts = max(inc.last_ts, ts)
                inc.checked_ts = upto
                if inc.last_ts == last:
                    break
        self.touch(inc)
        if watermark >= inc.last_ts + self.gap_us:
            inc.closed = True
            return "closed"
        if watermark >= inc.last_update + self.every_us:
            if inc.pending.empty():
                inc.last_update = watermark  # nothing to say: look again in update_every
                return None
            return "update"
        return None

    def reported(self, inc: Incident, upto: int) -> None:
        """The pending activity went out in an update (or nobody is to be told)."""
        if not inc.pending.empty():
            inc.updates += 1
        inc.pending = Pending()
        inc.last_update = upto
        self.touch(inc)


def scan(db: sqlite3.Connection, inc: Incident, rule: Rule, after: int,
         upto: int) -> Iterator[tuple[int, str, str | None]]:
    """(event time, action, path) of events in (after, upto] that match the incident's
    rule and group, other than the first alert's own evidence."""
    fields = tuple(k for k, _ in inc.group)
    values = tuple(v for _, v in inc.group)
    sql = EVENT_SELECT + " WHERE e.ts > ? AND e.ts <= ?"
    params: list[Any] = [after, upto]
    for name, value in inc.group:
        column = _COLUMN_OF.get(name)
        if column is not None:
            sql += f" AND e.{column} = ?"
            params.append(value)
    sql += " ORDER BY e.ts LIMIT ?"
    params.append(SCAN_LIMIT)
    evidence = set(inc.first.get("event_ids") or ())
    seen = 0
    for row in db.execute(sql, params):
        seen += 1
        ev = row_to_event(row)
        if ev.id in evidence or group_of(fields, ev) != values or not rule.when.test(ev):
            continue
        yield row[2], ev.action, ev.file_path
    if seen >= SCAN_LIMIT:
        inc.pending.truncated = True
