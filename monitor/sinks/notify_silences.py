"""Silences: "no messages for rule R (on route X) for the next 2h", kept in the store.

A silence is a record, not a config edit: who set it, when, why, and who lifted
it are kept after it ends, so an audit can see why nobody was told. The
notifier applies them on the alert's event time: an alert about something that
happened inside the silence's span is recorded as silenced, not sent.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from fnmatch import fnmatchcase

SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_silences (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,               -- glob pattern on rule.id
    route TEXT,                       -- NULL: every route
    starts INTEGER NOT NULL,          -- µs since the epoch
    ends INTEGER NOT NULL,
    created INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    removed INTEGER,
    removed_by TEXT
);
"""


@dataclass(frozen=True)
class Silence:
    id: int
    rule: str
    route: str | None
    starts: int
    ends: int
    created: int
    created_by: str
    reason: str
    removed: int | None = None
    removed_by: str | None = None

    def covers(self, rule_id: str, route: str, ts_us: int) -> bool:
        if self.removed is not None and self.removed <= ts_us:
            return False
        return (self.starts <= ts_us < self.ends and fnmatchcase(rule_id, self.rule)
                and (self.route is None or self.route == route))

    def describe(self) -> str:
        where = f" on route {self.route}" if self.route else ""
        return f"silence #{self.id} ({self.rule}{where}) by {self.created_by}: {self.reason}"


_COLUMNS = "id, rule, route, starts, ends, created, created_by, reason, removed, removed_by"


def add_silence(db: sqlite3.Connection, rule: str, route: str | None, starts: int, ends: int,
                created_by: str, reason: str) -> int:
    cur = db.execute(
        "INSERT INTO notify_silences (rule, route, starts, ends, created, created_by, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", (rule, route, starts, ends, starts, created_by, reason))
    return int(cur.lastrowid or 0)


def remove_silence(db: sqlite3.Connection, silence_id: int, now: int, removed_by: str) -> bool:
    """End a silence now (the record stays); False when there is no such live silence."""
    cur = db.execute("UPDATE notify_silences SET removed=?, removed_by=? WHERE id=?"
                     " AND removed IS NULL", (now, removed_by, silence_id))
    return cur.rowcount == 1


def list_silences(db: sqlite3.Connection, now: int | None = None) -> list[Silence]:
    """All silences, or (with `now`) those still in force or yet to start."""
    sql = f"SELECT {_COLUMNS} FROM notify_silences"
    params: tuple[int, ...] = ()
    if now is not None:
        sql += " WHERE removed IS NULL AND ends > ?"
        params = (now,)
    return [Silence(*row) for row in db.execute(sql + " ORDER BY id", params)]


def relevant_silences(db: sqlite3.Connection, since: int) -> list[Silence]:
    """Silences that can still cover an alert of event time >= `since` (removed ones
    too: an alert from before the removal was still covered)."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM notify_silences WHERE ends > ? ORDER BY id",
                      (since,))
    return [Silence(*row) for row in rows]


def silenced_by(silences: list[Silence], rule_id: str, route: str, ts_us: int) -> Silence | None:
    return next((s for s in silences if s.covers(rule_id, route, ts_us)), None)
