"""The stored form of `extra`: compressed with a preset dictionary, read back as the
same JSON, old (plain JSON) rows still read, and the hash chain still sees edits."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import chain, extra_codec
from monitor.search.sql import search
from monitor.store import Store
from tests.helpers import make_event

# an auditd file event as the parser builds it (shape of tests/data/auditd/raw.log)
AUDITD: dict[str, Any] = {
    "auditd.record_types": ["SYSCALL", "CWD", "PATH", "PROCTITLE"], "auditd.sequence": 97,
    "user.id": "1004", "process.executable": "/usr/bin/cat", "process.name": "cat",
    "process.pid": 20149, "process.parent.pid": 20148, "auditd.data.arch": "c000003e",
    "auditd.data.syscall": "openat", "auditd.data.success": "yes", "auditd.data.exit": "3",
    "auditd.data.a0": "ffffff9c", "auditd.data.a1": "7ffd1f6c2e1a", "auditd.data.a2": "0",
    "auditd.data.a3": "0", "auditd.data.items": "1", "auditd.data.ppid": "20148",
    "auditd.data.pid": "20149", "auditd.data.auid": "1004", "auditd.data.uid": "1004",
    "auditd.data.gid": "1004", "auditd.data.euid": "1004", "auditd.data.suid": "1004",
    "auditd.data.fsuid": "1004", "auditd.data.egid": "1004", "auditd.data.sgid": "1004",
    "auditd.data.fsgid": "1004", "auditd.data.tty": "pts0", "auditd.data.ses": "3",
    "auditd.data.comm": "cat", "auditd.data.exe": "/usr/bin/cat", "auditd.data.key": "acme",
    "auditd.paths": [{"item": "0", "name": "/srv/acme/报表.xlsx", "inode": "393219",
                      "dev": "08:01", "mode": "0100644", "ouid": "1004", "ogid": "1004",
                      "rdev": "00:00", "nametype": "NORMAL", "cap_fp": "0", "cap_fi": "0",
                      "cap_fe": "0", "cap_fver": "0", "cap_frootid": "0",
                      "path": "/srv/acme/报表.xlsx"}],
    "file.inode": "393219", "file.uid": "1004", "file.gid": "1004", "file.device": "08:01",
    "auditd.open_flags": ["O_RDONLY"], "process.working_directory": "/root",
    "process.title": "cat /srv/acme/报表.xlsx", "auditd.session": "3", "tags": ["acme"],
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300)
@given(st.dictionaries(st.text(), JSON, min_size=1, max_size=12))
def test_any_document_reads_back_byte_for_byte(doc: dict[str, Any]) -> None:
    raw = orjson.dumps(doc)
    assert extra_codec.decode(extra_codec.encode(raw)) == raw


def test_an_auditd_document_is_stored_in_a_fraction_of_its_json() -> None:
    raw = orjson.dumps(AUDITD)
    stored = extra_codec.encode(raw)
    assert stored[0] == extra_codec.VERSION_1
    assert len(stored) * 3 < len(raw)


def test_a_document_that_would_not_shrink_stays_json() -> None:
    raw = orjson.dumps({"k": "v"})
    assert extra_codec.encode(raw) == raw


def test_events_with_large_extras_come_back_equal_and_searchable(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    ev = make_event(1, extra=AUDITD)
    store.commit_source_batch("s", [ev, make_event(2)], [], {})
    [(_, back), _] = store.events_after(0)
    assert back == ev
    stored = store.db.execute("SELECT extra FROM events WHERE seq = 1").fetchone()[0]
    assert stored[0] == extra_codec.VERSION_1
    assert [e.id for e in search(store, 'auditd.data.syscall:openat')] == [ev.id]
    assert [e.id for e in search(store, 'process.title:*报表*')] == [ev.id]
    assert [e.id for e in search(store, 'auditd.data.items:1')] == [ev.id]
    assert chain.verify(store.db, store.rows_of).ok


def test_rows_stored_as_plain_json_before_still_read_and_verify(tmp_path: Path) -> None:
    """A store written before compression: its rows (and their chain links) stay valid."""
    store = Store(tmp_path / "w.db")
    ev = make_event(1, extra=AUDITD)
    store.commit_source_batch("s", [ev], [], {})
    # what the old code stored: the JSON itself; the old chain hashed those bytes too
    store.db.execute("UPDATE events SET extra = ? WHERE seq = 1", (orjson.dumps(AUDITD),))
    [(_, back)] = store.events_after(0)
    assert back == ev
    assert chain.verify(store.db, store.rows_of).ok


def test_a_damaged_compressed_extra_fails_verification(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.commit_source_batch("s", [make_event(1, extra=AUDITD)], [], {})
    stored = bytearray(store.db.execute("SELECT extra FROM events").fetchone()[0])
    stored[len(stored) // 2] ^= 0xFF
    store.db.execute("UPDATE events SET extra = ? WHERE seq = 1", (bytes(stored),))
    verdict = chain.verify(store.db, store.rows_of)
    assert not verdict.ok and "batch 1" in verdict.problem


def test_other_connections_read_the_json_through_the_sql_function(tmp_path: Path) -> None:
    Store(tmp_path / "w.db").commit_source_batch("s", [make_event(1, extra=AUDITD)], [], {})
    db = sqlite3.connect(tmp_path / "w.db")
    extra_codec.register(db)
    [(text,)] = db.execute("SELECT extra_json(extra) FROM events").fetchall()
    assert orjson.loads(text) == AUDITD
