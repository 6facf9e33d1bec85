"""Periodic digests for routes in hourly / daily / digest mode.

Such a route gets no message per alert: each alert it takes joins the digest of
the period its *event time* falls in (periods aligned to the firm's local
clock: hours, local midnight), and the digest is sent once the watermark has
passed the period's end. An alert that arrives for a period already sent goes
into a second part of it, so nothing is dropped and nothing is told twice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from monitor.sinks.notify_model import NotifyAlert

SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_digests (
    id TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    bucket_start INTEGER NOT NULL,    -- event time, µs
    bucket_end INTEGER NOT NULL,
    part INTEGER NOT NULL,
    emitted INTEGER NOT NULL DEFAULT 0,
    state BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS notify_digests_open ON notify_digests(emitted, bucket_end);
"""

MAX_ITEMS = 500  # items listed in one digest; counts cover the rest


@dataclass
class Digest:
    id: str
    route: str
    bucket_start: int
    bucket_end: int
    part: int
    items: list[dict[str, Any]] = field(default_factory=list)
    alerts: int = 0
    events: int = 0
    emitted: bool = False

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @staticmethod
    def from_json(blob: bytes) -> Digest:
        return Digest(**orjson.loads(blob))


def bucket(ts_us: int, every: timedelta, tz: ZoneInfo) -> tuple[int, int]:
    """The period [start, end) holding `ts_us`, aligned to the local clock."""
    every_us = int(every.total_seconds() * 1_000_000)
    local = datetime.fromtimestamp(ts_us / 1_000_000, UTC).astimezone(tz)
    offset = local.utcoffset()
    off_us = int(offset.total_seconds() * 1_000_000) if offset else 0
    start = (ts_us + off_us) // every_us * every_us - off_us
    return start, start + every_us


class DigestBook:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.current: dict[tuple[str, int], Digest] = {}
        self.dirty: dict[str, Digest] = {}

    def load(self, db: sqlite3.Connection) -> None:
        self.current.clear()
        self.dirty.clear()
        for (blob,) in db.execute("SELECT state FROM notify_digests WHERE emitted=0"):
            digest = Digest.from_json(blob)
            self.current[(digest.route, digest.bucket_start)] = digest

    def save(self, db: sqlite3.Connection) -> None:
        db.executemany(
            "INSERT INTO notify_digests (id, route, bucket_start, bucket_end, part, emitted,"
            " state) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
            " emitted=excluded.emitted, state=excluded.state",
            [(d.id, d.route, d.bucket_start, d.bucket_end, d.part, int(d.emitted), d.to_json())
             for d in self.dirty.values()])
        self.dirty.clear()

    def add(self, db: sqlite3.Connection, route: str, every: timedelta, alert: NotifyAlert,
            incident: str, new_incident: bool) -> Digest:
        start, end = bucket(alert.ts, every, self.tz)
        digest = self.current.get((route, start))
        if digest is None or digest.emitted:
            row = db.execute("SELECT max(part) FROM notify_digests WHERE route=? AND"
                             " bucket_start=?", (route, start)).fetchone()
            parts = [d.part for d in self.dirty.values()
                     if d.route == route and d.bucket_start == start]
            part = max([int(row[0] or 0) if row else 0, *parts]) + 1
            digest = Digest(f"dg-{route}-{start}-{part}", route, start, end, part)
            self.current[(route, start)] = digest
        digest.alerts += 1
        digest.events += alert.count
        if len(digest.items) < MAX_ITEMS:
            digest.items.append({
                "alert_id": alert.id, "incident": incident, "new": new_incident,
                "ts": alert.ts, "severity": alert.severity, "rule_id": alert.rule_id,
                "rule_name": alert.rule_name, "user": alert.user, "client": alert.client,
                "host": alert.host, "path": alert.path, "ip": alert.ip, "count": alert.count})
        self.dirty[digest.id] = digest
        return digest

    def due(self, watermark: int) -> list[Digest]:
        return [d for d in self.current.values() if not d.emitted and d.bucket_end <= watermark]

    def emitted(self, digest: Digest) -> None:
        digest.emitted = True
        self.dirty[digest.id] = digest
        del self.current[(digest.route, digest.bucket_start)]
