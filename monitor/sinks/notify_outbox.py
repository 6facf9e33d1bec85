"""The outbox: one row per (alert or digest, route) delivery, kept in the store.

The consumer writes rows (rendered title and body, state `pending`) in the same
transaction as its cursor, so a decision is never lost nor taken twice. A
sender delivers them:

    pending ──claim (attempts+1, next_attempt = now + backoff)──► sending it
       ▲                                    │ every URL took it      │ a URL failed
       └──── attempts < limit ◄─────────────┼────────────────────────┘
                                            ▼                 attempts = limit
                                          sent                     failed

`silenced` and `muted` rows are decisions not to send, recorded for the audit.
A row's id is deterministic (subject + route) and inserted with INSERT OR
IGNORE: a replayed decision adds nothing. The attempt is committed *before*
the send, so a crash mid-send neither loops nor forgets; the price is that a
kill in the milliseconds between a server's "250 OK" and our commit sends that
one message again after the restart (at-least-once there, never lost). Which
URLs of a route already took a message is kept per row (`done`), so a retry
after a partial failure goes only to the URLs that failed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from monitor.sinks import notify_digests, notify_incidents, notify_silences

OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_outbox (
    id TEXT PRIMARY KEY,              -- <subject>@<route>
    route TEXT NOT NULL,
    kind TEXT NOT NULL,               -- alert | update | digest
    subject TEXT NOT NULL,            -- alert id, incident update id or digest id
    incident TEXT,
    alerts TEXT,                      -- JSON list of the alert ids the message reports
    event_ts INTEGER,                 -- event time it reports on (µs)
    created INTEGER NOT NULL,         -- wall clock (µs)
    state TEXT NOT NULL,              -- pending | sent | failed | silenced | muted
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT,                  -- masked
    done TEXT,                        -- JSON list of short hashes of URLs that took it
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notify_outbox_due ON notify_outbox(route, state, next_attempt);
"""

STATES = ("pending", "sent", "failed", "silenced", "muted")
_COLUMNS = ("id, route, kind, subject, incident, alerts, event_ts, created, state, attempts,"
            " next_attempt, sent_at, last_error, done, title, body")


def ensure_schema(db: sqlite3.Connection) -> None:
    """Every table of the notifier (idempotent; run by each connection that needs them)."""
    db.executescript(OUTBOX_SCHEMA + notify_incidents.SCHEMA + notify_digests.SCHEMA
                     + notify_silences.SCHEMA)


def url_hash(url: str) -> str:
    """A short tag for "this URL took the message": 32 bits of a hash say nothing of a
    secret yet tell a route's few URLs apart."""
    return hashlib.blake2b(url.encode(), digest_size=4).hexdigest()


@dataclass(frozen=True)
class OutboxRow:
    id: str
    route: str
    kind: str
    subject: str
    incident: str | None
    alerts: tuple[str, ...]
    event_ts: int | None
    created: int
    state: str
    attempts: int
    next_attempt: int
    sent_at: int | None
    last_error: str | None
    done: frozenset[str]
    title: str
    body: str

    @staticmethod
    def new(route: str, kind: str, subject: str, incident: str | None,
            alerts: Sequence[str], event_ts: int | None, created: int, title: str, body: str,
            state: str = "pending", reason: str | None = None) -> OutboxRow:
        return OutboxRow(f"{subject}@{route}", route, kind, subject, incident, tuple(alerts),
                         event_ts, created, state, 0, created, None, reason, frozenset(),
                         title, body)

    @staticmethod
    def from_row(row: Sequence[object]) -> OutboxRow:
        (rid, route, kind, subject, incident, alerts, event_ts, created, state, attempts,
         next_attempt, sent_at, last_error, done, title, body) = row
        return OutboxRow(
            str(rid), str(route), str(kind), str(subject), _s(incident),
            tuple(orjson.loads(str(alerts))) if alerts else (), _i(event_ts), int(str(created)),
            str(state), int(str(attempts)), int(str(next_attempt)), _i(sent_at), _s(last_error),
            frozenset(orjson.loads(str(done))) if done else frozenset(), str(title), str(body))


def _s(value: object) -> str | None:
    return None if value is None else str(value)


def _i(value: object) -> int | None:
    return None if value is None else int(str(value))


def enqueue(db: sqlite3.Connection, rows: Iterable[OutboxRow]) -> int:
    """Within the caller's transaction: add rows (ids already there are kept as they are)."""
    before = db.total_changes
    db.executemany(
        f"INSERT OR IGNORE INTO notify_outbox ({_COLUMNS}) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r.id, r.route, r.kind, r.subject, r.incident, orjson.dumps(list(r.alerts)).decode(),
          r.event_ts, r.created, r.state, r.attempts, r.next_attempt, r.sent_at, r.last_error,
          None, r.title, r.body) for r in rows])
    return db.total_changes - before


def due(db: sqlite3.Connection, route: str, now: int, limit: int = 20) -> list[OutboxRow]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM notify_outbox WHERE route=? AND state='pending'"
        " AND next_attempt <= ? ORDER BY next_attempt, created, id LIMIT ?",
        (route, now, limit)).fetchall()
    return [OutboxRow.from_row(r) for r in rows]


def next_due(db: sqlite3.Connection, route: str) -> int | None:
    row = db.execute("SELECT min(next_attempt) FROM notify_outbox WHERE route=?"
                     " AND state='pending'", (route,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def claim(db: sqlite3.Connection, row: OutboxRow, next_attempt: int) -> bool:
    """Count an attempt before making it; False when the row is no longer pending."""
    cur = db.execute("UPDATE notify_outbox SET attempts=attempts+1, next_attempt=?"
                     " WHERE id=? AND state='pending' AND attempts=?",
                     (next_attempt, row.id, row.attempts))
    return cur.rowcount == 1


def record_result(db: sqlite3.Connection, row_id: str, state: str, now: int,
                  error: str | None, done: Iterable[str]) -> None:
    db.execute(
        "UPDATE notify_outbox SET state=?, sent_at=?, last_error=?, done=? WHERE id=?",
        (state, now if state == "sent" else None, error,
         orjson.dumps(sorted(set(done))).decode(), row_id))


def counts(db: sqlite3.Connection) -> dict[tuple[str, str], int]:
    """(route, state) → number of rows: what `wallwatch notify status` shows."""
    rows = db.execute("SELECT route, state, count(*) FROM notify_outbox GROUP BY route, state")
    return {(str(r), str(s)): int(n) for r, s, n in rows}


def rows(db: sqlite3.Connection, state: str | None = None, limit: int = 50) -> list[OutboxRow]:
    sql = f"SELECT {_COLUMNS} FROM notify_outbox"
    params: tuple[object, ...] = ()
    if state is not None:
        sql += " WHERE state=?"
        params = (state,)
    sql += " ORDER BY created DESC, id LIMIT ?"
    return [OutboxRow.from_row(r) for r in db.execute(sql, (*params, limit))]


def prune(db: sqlite3.Connection, before: int) -> int:
    """Within a transaction: forget finished deliveries, closed incidents and sent digests
    older than `before` (µs, wall clock for deliveries, event time for the rest), as the
    store forgets old events. Pending rows stay whatever their age."""
    removed = db.execute("DELETE FROM notify_outbox WHERE created < ? AND state != 'pending'",
                         (before,)).rowcount
    db.execute("DELETE FROM notify_incidents WHERE closed = 1 AND last_ts < ?", (before,))
    db.execute("DELETE FROM notify_digests WHERE emitted = 1 AND bucket_end < ?", (before,))
    return int(removed)
