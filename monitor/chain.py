"""Tamper evidence: every stored batch of events or alerts is a link in a hash chain.

A batch's hash covers its rows — every column, with the path texts they point
to — and the previous batch's hash. So editing a row, deleting one, or swapping
two changes a batch's digest, and removing a whole batch breaks the next link.
`verify` walks the chain and names the first batch that no longer matches.

The link is written in the same transaction as the rows. Retention removes
whole batches from the start of the chain only and keeps the hash of the last
removed one as the anchor the remaining chain must start from, so a pruned
store still verifies. Anyone holding a chain head logged earlier (the daemon
logs it; Elasticsearch keeps it when configured) can check that the local
database was not quietly rewritten from scratch either.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS chain (
    batch INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- 'events' or 'alerts'
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    max_ts INTEGER NOT NULL,
    created INTEGER NOT NULL,
    digest BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), hash BLOB);
"""
GENESIS = b"\x00" * 32

# the rows of one batch, in their canonical column order (the store provides it)
RowsOf = Callable[[str, int, int], Iterable[Sequence[Any]]]


def digest(rows: Iterable[Sequence[Any]]) -> tuple[bytes, int, int]:
    """(digest, number of rows, newest ts) of canonical rows: seq, id, ts, … The same
    digest whether the rows come from memory (while storing) or from the database."""
    h = hashlib.blake2b(digest_size=32)
    count, max_ts = 0, 0
    for row in rows:
        count += 1
        max_ts = max(max_ts, int(row[2]))
        # bools are stored as integers: hash what the database will give back
        h.update(repr(tuple(int(v) if type(v) is bool else v for v in row)).encode())
        h.update(b"\n")
    return h.digest(), count, max_ts


def link(prev: bytes, kind: str, first: int, last: int, rows: int, digest: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    h.update(prev + f"|{kind}|{first}|{last}|{rows}|".encode() + digest)
    return h.digest()


def head(db: sqlite3.Connection) -> tuple[int, bytes]:
    row = db.execute("SELECT batch, hash FROM chain ORDER BY batch DESC LIMIT 1").fetchone()
    if row:
        return int(row[0]), bytes(row[1])
    anchor = db.execute("SELECT hash FROM chain_anchor WHERE id = 1").fetchone()
    return 0, bytes(anchor[0]) if anchor and anchor[0] else GENESIS


def append(db: sqlite3.Connection, kind: str, first: int, last: int, rows: Iterable[
        Sequence[Any]], now_us: int) -> None:
    """Within the writing transaction: chain the rows first..last just inserted."""
    if last < first:
        return
    value, count, max_ts = digest(rows)
    if count == 0:
        return
    _, prev = head(db)
    db.execute("INSERT INTO chain (kind, first_seq, last_seq, rows, max_ts, created, digest,"
               " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (kind, first, last, count, max_ts, now_us, value,
                link(prev, kind, first, last, count, value)))


def prune(db: sqlite3.Connection, cutoff_us: int, keep_from_seq: int | None = None) -> int:
    """Within a transaction: drop whole batches, oldest first, whose newest row is
    older than the cutoff (and, for events, that a consumer such as the
    Elasticsearch shipper no longer needs); returns the number of events removed."""
    removed = 0
    anchor: bytes | None = None
    for batch, kind, first, last, max_ts, hash_ in db.execute(
            "SELECT batch, kind, first_seq, last_seq, max_ts, hash FROM chain ORDER BY batch"
    ).fetchall():
        if max_ts >= cutoff_us or (kind == "events" and keep_from_seq is not None
                                   and last >= keep_from_seq):
            break  # the chain stays a contiguous suffix
        table = "events" if kind == "events" else "alerts"
        count = db.execute(f"DELETE FROM {table} WHERE seq BETWEEN ? AND ?",
                           (first, last)).rowcount
        if kind == "events":
            removed += count
        db.execute("DELETE FROM chain WHERE batch = ?", (batch,))
        anchor = bytes(hash_)
    if anchor is not None:
        db.execute("INSERT INTO chain_anchor (id, hash) VALUES (1, ?)"
                   " ON CONFLICT(id) DO UPDATE SET hash = excluded.hash", (anchor,))
    return removed


@dataclass(frozen=True)
class Verdict:
    ok: bool
    batches: int
    rows: int
    head: str
    problem: str = ""


def verify(db: sqlite3.Connection, rows_of: RowsOf, since_us: int | None = None) -> Verdict:
    """Walk the chain; the first batch that no longer matches is named."""
    _, prev = 0, GENESIS
    anchor = db.execute("SELECT hash FROM chain_anchor WHERE id = 1").fetchone()
    if anchor and anchor[0]:
        prev = bytes(anchor[0])
    batches = rows_total = 0
    expected_next = {"events": None, "alerts": None}
    for batch, kind, first, last, rows, created, stored_digest, hash_ in db.execute(
            "SELECT batch, kind, first_seq, last_seq, rows, created, digest, hash FROM chain"
            " ORDER BY batch").fetchall():
        where = f"batch {batch} ({kind} {first}–{last})"
        if bytes(hash_) != link(prev, kind, first, last, rows, bytes(stored_digest)):
            return Verdict(False, batches, rows_total, prev.hex(),
                           f"{where}: its link does not follow the previous batch (a batch "
                           "before it was removed or the chain was edited)")
        if since_us is None or created >= since_us:
            now_digest, now_rows, _ = digest(rows_of(kind, first, last))
            if now_rows < rows:
                return Verdict(False, batches, rows_total, prev.hex(),
                               f"{where}: {rows - now_rows} row(s) removed")
            if now_rows > rows:
                return Verdict(False, batches, rows_total, prev.hex(),
                               f"{where}: {now_rows - rows} row(s) added")
            if now_digest != bytes(stored_digest):
                return Verdict(False, batches, rows_total, prev.hex(),
                               f"{where}: rows edited or reordered")
        gap = expected_next[kind]
        if gap is not None and first < gap:
            return Verdict(False, batches, rows_total, prev.hex(), f"{where}: overlaps")
        expected_next[kind] = last + 1
        prev = bytes(hash_)
        batches += 1
        rows_total += rows
    for kind, table in (("events", "events"), ("alerts", "alerts")):
        top = expected_next[kind]
        stray = db.execute(f"SELECT count(*) FROM {table} WHERE seq >= ?",
                           (top if top is not None else 0,)).fetchone()[0]
        if stray:
            return Verdict(False, batches, rows_total, prev.hex(),
                           f"{stray} {kind} row(s) after the end of the chain (inserted "
                           "behind the daemon's back)")
    return Verdict(True, batches, rows_total, prev.hex())
