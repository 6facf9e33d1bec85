"""The SQLite log: events, alerts, dead letters, source offsets and consumer cursors.

One durable local log with many consumers (shared/DESIGN.md). A source commits
its batch of events together with its own read position; a consumer commits
its output together with its cursor. Every row has a deterministic id and is
inserted with INSERT OR IGNORE, so a replay after a crash stores nothing twice.

Distinct strings (paths, rename targets) live in their own table with a
trigram full-text index, and events point at them by id: paths repeat, so this
keeps rows small and makes substring search (Chinese file names included) fast.
One Store object is one connection; give each thread its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from monitor import chain, extra_codec
from monitor.event import Alert, Event, ts_to_us, us_to_ts
from monitor.store_writes import writer_queue

SCHEMA = """
CREATE TABLE IF NOT EXISTS strings (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE IF NOT EXISTS strings_fts USING fts5(
    text, content='strings', content_rowid='id', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS strings_ai AFTER INSERT ON strings BEGIN
    INSERT INTO strings_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER IF NOT EXISTS strings_ad AFTER DELETE ON strings BEGIN
    INSERT INTO strings_fts(strings_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    ts INTEGER NOT NULL,
    dataset TEXT NOT NULL, kind TEXT NOT NULL, category TEXT NOT NULL, type TEXT NOT NULL,
    action TEXT NOT NULL, outcome TEXT NOT NULL,
    user_name TEXT COLLATE NOCASE, source_ip TEXT, source_port INTEGER, host_name TEXT,
    path_id INTEGER, target_id INTEGER,
    file_mode TEXT, file_owner TEXT, file_group TEXT, file_type TEXT,
    log_file TEXT, log_offset INTEGER,
    client TEXT COLLATE NOCASE, assigned INTEGER, off_hours INTEGER, share TEXT,
    count INTEGER NOT NULL DEFAULT 1, departed INTEGER, archived INTEGER,
    extra BLOB
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE INDEX IF NOT EXISTS events_user_ts ON events(user_name, ts);
CREATE INDEX IF NOT EXISTS events_client_ts ON events(client, ts);
CREATE INDEX IF NOT EXISTS events_path ON events(path_id);
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    ts INTEGER NOT NULL,
    rule_id TEXT NOT NULL, severity TEXT NOT NULL,
    user_name TEXT, client TEXT,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_ts ON alerts(ts);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    received INTEGER NOT NULL,
    source TEXT NOT NULL, file TEXT, offset INTEGER,
    reason TEXT NOT NULL, length INTEGER NOT NULL, line BLOB
);
CREATE TABLE IF NOT EXISTS source_state (name TEXT PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, position INTEGER NOT NULL, state BLOB);
"""

# event attribute -> column, in the order of the events table (after seq, id, ts)
_COLUMNS = (
    "dataset", "kind", "category", "type", "action", "outcome", "user_name", "source_ip",
    "source_port", "host_name", "file_mode", "file_owner", "file_group", "file_type",
    "log_file", "log_offset", "client", "assigned", "off_hours", "share", "count",
    "departed", "archived",
)
_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (id, ts, path_id, target_id, extra, "
    + ", ".join(_COLUMNS) + ") VALUES (" + ", ".join("?" * (5 + len(_COLUMNS))) + ")"
)
EVENT_SELECT = (
    "SELECT e.seq, e.id, e.ts, p.text, t.text, extra_json(e.extra) AS extra, "
    + ", ".join(f"e.{c}" for c in _COLUMNS)
    + " FROM events e LEFT JOIN strings p ON p.id = e.path_id"
    " LEFT JOIN strings t ON t.id = e.target_id"
)
DEAD_LETTER_KEEP = 64 * 1024  # bytes of a bad line kept; its full length is recorded


@dataclass(frozen=True)
class DeadLetter:
    id: str
    source: str
    file: str | None
    offset: int | None
    reason: str
    line: bytes


class Store:
    """One connection to the store. Not for sharing between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        fresh = not os.path.exists(self.path)
        if fresh:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # The store holds who touched which client's files: owner-only.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                  check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; only an OS crash can
        # lose the last transactions, and sources then re-read them.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.db.executescript(SCHEMA)
        self.db.executescript(chain.SCHEMA)
        extra_codec.register(self.db)  # EVENT_SELECT reads `extra` through it
        self._string_ids: dict[str, int] = {}

    def close(self) -> None:
        self.db.close()

    # -- writing ---------------------------------------------------------
    def _string_id(self, text: str | None) -> int | None:
        if text is None:
            return None
        sid = self._string_ids.get(text)
        if sid is None:
            cur = self.db.execute(
                "INSERT INTO strings(text) VALUES (?) ON CONFLICT(text) DO UPDATE SET text=text"
                " RETURNING id", (text,))
            sid = int(cur.fetchone()[0])
            if len(self._string_ids) > 200_000:
                self._string_ids.clear()
            self._string_ids[text] = sid
        return sid

    def _event_row(self, ev: Event, extra: bytes | None) -> tuple[Any, ...]:
        values = [getattr(ev, c) for c in _COLUMNS]
        return (bytes.fromhex(ev.id), ts_to_us(ev.timestamp), self._string_id(ev.file_path),
                self._string_id(ev.file_target_path),
                extra_codec.encode(extra) if extra else None, *values)

    def transaction(self) -> _Transaction:
        """`with store.transaction():` — everything inside commits together or not at all.
        For sources that keep more state than a position (the filesystem watcher)."""
        return _Transaction(self)

    def commit_source_batch(self, source: str, events: Sequence[Event],
                            dead: Sequence[DeadLetter], state: dict[str, Any]) -> int:
        """Store a source's events and bad lines together with its read position."""
        with self.transaction():
            stored = self.insert_events(events)
            self.insert_dead(dead)
            self.set_source_state(source, state)
        return stored

    def insert_events(self, events: Sequence[Event]) -> int:
        """Within a transaction: store events (ones already there are skipped); how many new."""
        if not events:
            return 0
        # the hash chain covers the JSON of `extra`, as EVENT_SELECT gives it back
        docs = [dumps(dict(e.extra)) if e.extra else None for e in events]
        rows = [self._event_row(e, d)  # may insert strings: count after
                for e, d in zip(events, docs, strict=True)]
        first = self.head() + 1
        before = self.db.total_changes
        self.db.executemany(_INSERT_EVENT, rows)
        stored = self.db.total_changes - before
        if stored == len(rows):  # all new: their seqs are first, first+1, … (one writer)
            canonical: Iterable[Sequence[Any]] = (
                (first + i, r[0], r[1], e.file_path, e.file_target_path, d, *r[5:])
                for i, (r, e, d) in enumerate(zip(rows, events, docs, strict=True)))
            chain.append(self.db, "events", first, first + stored - 1, canonical, _now_us())
        elif stored:  # some were there already: hash what the database now holds
            last = self.head()
            chain.append(self.db, "events", first, last, self.rows_of("events", first, last),
                         _now_us())
        return stored

    def rows_of(self, kind: str, first: int, last: int) -> Iterator[tuple[Any, ...]]:
        """A batch's rows in the hash chain's canonical order."""
        if kind == "events":
            sql = EVENT_SELECT + " WHERE e.seq BETWEEN ? AND ? ORDER BY e.seq"
        else:
            sql = "SELECT * FROM alerts WHERE seq BETWEEN ? AND ? ORDER BY seq"
        return iter(self.db.execute(sql, (first, last)))

    def set_source_state(self, source: str, state: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO source_state(name, state) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET state=excluded.state",
            (source, dumps(state)))

    def insert_dead(self, dead: Iterable[DeadLetter]) -> None:
        now = ts_to_us(datetime.now().astimezone())
        self.db.executemany(
            "INSERT OR IGNORE INTO dead_letters (id, received, source, file, offset, reason,"
            " length, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(bytes.fromhex(d.id), now, d.source, d.file, d.offset, d.reason, len(d.line),
              d.line[:DEAD_LETTER_KEEP]) for d in dead])

    def commit_consumer(self, name: str, position: int, state: bytes | None,
                        alerts: Sequence[Alert] = ()) -> int:
        """Store a consumer's output (alerts) with its cursor and state snapshot."""
        with self.transaction():
            first = self.alerts_head() + 1
            before = self.db.total_changes
            self.db.executemany(
                "INSERT OR IGNORE INTO alerts (id, ts, rule_id, severity, user_name, client, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(bytes.fromhex(a.id), ts_to_us(a.timestamp), a.rule_id, a.severity, a.user_name,
                  a.client, dumps(a.to_ecs())) for a in alerts])
            stored = self.db.total_changes - before
            if stored:
                last = self.alerts_head()
                chain.append(self.db, "alerts", first, last, self.rows_of("alerts", first, last),
                             _now_us())
            self.db.execute(
                "INSERT INTO cursors(name, position, state) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET position=excluded.position, state=excluded.state",
                (name, position, state))
        return stored

    # -- reading ---------------------------------------------------------
    def source_state(self, source: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT state FROM source_state WHERE name=?", (source,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def cursor(self, name: str) -> tuple[int, bytes | None]:
        row = self.db.execute("SELECT position, state FROM cursors WHERE name=?",
                              (name,)).fetchone()
        return (int(row[0]), row[1]) if row else (0, None)

    def head(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def events_after(self, seq: int, limit: int = 1000) -> list[tuple[int, Event]]:
        rows = self.db.execute(EVENT_SELECT + " WHERE e.seq > ? ORDER BY e.seq LIMIT ?",
                               (seq, limit)).fetchall()
        return [(row[0], row_to_event(row)) for row in rows]

    def query(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        return iter(self.db.execute(sql, params))

    def count(self, table: str = "events") -> int:
        if table not in ("events", "alerts", "dead_letters", "strings"):
            raise ValueError(table)
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def event_ids(self) -> list[str]:
        return [bytes(r[0]).hex() for r in self.db.execute("SELECT id FROM events ORDER BY seq")]

    def dead_letters(self, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT source, file, offset, reason, length, line FROM dead_letters"
            " ORDER BY seq LIMIT ?", (limit,)).fetchall()
        keys = ("source", "file", "offset", "reason", "length", "line")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def alerts_after(self, seq: int, limit: int = 1000) -> list[tuple[int, dict[str, Any]]]:
        """Stored alerts after a consumer's cursor, as ECS documents, oldest first."""
        rows = self.db.execute("SELECT seq, doc FROM alerts WHERE seq > ? ORDER BY seq LIMIT ?",
                               (seq, limit))
        return [(int(s), orjson.loads(doc)) for s, doc in rows]

    def alerts_head(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM alerts").fetchone()
        return int(row[0] or 0)

    def alerts(self, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT doc FROM alerts ORDER BY seq LIMIT ?", (limit,))
        return [orjson.loads(r[0]) for r in rows]

    # -- retention -------------------------------------------------------
    def prune(self, before: datetime, keep_from_seq: int | None = None) -> int:
        """Delete whole stored batches older than `before` (the hash chain stays
        verifiable), never events from `keep_from_seq` on, and orphaned strings."""
        cutoff = ts_to_us(before)
        with self.transaction():
            removed = chain.prune(self.db, cutoff, keep_from_seq)
            self.db.execute("DELETE FROM dead_letters WHERE received < ?", (cutoff,))
            if removed:
                self.db.execute(
                    "DELETE FROM strings WHERE id NOT IN (SELECT path_id FROM events"
                    " WHERE path_id IS NOT NULL UNION SELECT target_id FROM events"
                    " WHERE target_id IS NOT NULL)")
        if removed:
            self._string_ids.clear()
        return int(removed)


class _Transaction:
    def __init__(self, store: Store) -> None:
        self.store = store
        # the daemon's stages take turns for the write lock (see store_writes.py)
        self.queue = writer_queue(store.path)

    def __enter__(self) -> None:
        self.queue.acquire()
        try:
            self.store.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.queue.release()
            raise

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        db = self.store.db
        try:
            if kind is None:
                try:
                    db.execute("COMMIT")
                except sqlite3.Error:
                    self._rollback()
                    raise
            else:
                self._rollback()
        finally:
            self.queue.release()

    def _rollback(self) -> None:
        # SQLite may have rolled back by itself (a full disk does that): a second
        # ROLLBACK would raise and hide the real error
        if self.store.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the caller's error is the one to report
                self.store.db.execute("ROLLBACK")
        self.store._string_ids.clear()  # ids handed out in this transaction are gone


def _now_us() -> int:
    return ts_to_us(datetime.now(UTC))


def dumps(value: Any) -> bytes:
    """JSON bytes; orjson refuses integers beyond 64 bits (a garbled log line can
    carry one), so those documents take the slow path instead of failing the batch."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, default=str, ensure_ascii=False).encode()


def row_to_event(row: Sequence[Any]) -> Event:
    """Rebuild an Event from a row of EVENT_SELECT."""
    _seq, raw_id, ts, path, target, extra = row[:6]
    values = dict(zip(_COLUMNS, row[6:], strict=True))
    for flag in ("assigned", "off_hours", "departed", "archived"):
        if values[flag] is not None:
            values[flag] = bool(values[flag])
    return Event(
        id=bytes(raw_id).hex(), timestamp=us_to_ts(ts), file_path=path, file_target_path=target,
        extra=orjson.loads(extra) if extra else {}, **values,
    )
