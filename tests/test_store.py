"""The SQLite store on real temp files."""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.event import event_id
from monitor.store import DeadLetter, Store
from tests.helpers import make_event


def test_store_file_is_private_to_its_owner(tmp_path: Path) -> None:
    Store(tmp_path / "w.db").close()
    assert stat.S_IMODE(os.stat(tmp_path / "w.db").st_mode) == 0o600


def test_the_same_event_is_stored_once_however_often_it_is_committed(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    events = [make_event(i) for i in range(10)]
    assert store.commit_source_batch("s", events, [], {"offset": 1}) == 10
    assert store.commit_source_batch("s", events[5:], [], {"offset": 2}) == 0
    assert store.count() == 10
    assert store.event_ids() == [e.id for e in events]
    assert store.source_state("s") == {"offset": 2}


def test_events_come_back_equal_to_what_went_in(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    ev = make_event(1, file_target_path="/srv/share/clients/acme/新.xlsx", off_hours=False,
                    extra={"samba.operations": {"pread_recv": 3}}, count=3, source_port=445)
    store.commit_source_batch("s", [ev], [], {})
    [(seq, back)] = store.events_after(0)
    assert seq == 1
    assert back == ev


def test_dead_letters_keep_reason_offset_and_the_line(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    dead = DeadLetter(event_id("d", 1), "samba", "/var/log/a.log", 42, "bad header",
                      b"\xff\xfe garbage")
    store.commit_source_batch("s", [], [dead, dead], {})
    [row] = store.dead_letters()
    assert row["reason"] == "bad header"
    assert row["offset"] == 42
    assert row["line"] == b"\xff\xfe garbage"


def test_cursor_and_state_are_saved_with_the_consumer_output(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    assert store.cursor("rules") == (0, None)
    store.commit_consumer("rules", 17, b"snapshot")
    assert store.cursor("rules") == (17, b"snapshot")


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    good = make_event(1, file_path="/srv/share/clients/acme/only-in-failed-batch.txt")
    broken = make_event(2, id="not-hex")
    with contextlib.suppress(ValueError):
        store.commit_source_batch("s", [good, broken], [], {"offset": 9})
    assert store.count() == 0
    assert store.source_state("s") is None
    # the string id cached during the failed batch must not leak into the next one
    store.commit_source_batch("s", [good], [], {"offset": 9})
    [(_, back)] = store.events_after(0)
    assert back.file_path == good.file_path


def test_retention_removes_old_events_and_their_unused_paths(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    old = make_event(1, timestamp=datetime(2020, 1, 1, tzinfo=UTC), file_path="/old/path")
    new = make_event(2, timestamp=datetime.now(UTC))
    store.commit_source_batch("s", [old], [], {})
    store.commit_source_batch("s", [new], [], {})
    assert store.prune(datetime.now(UTC) - timedelta(days=180)) == 1
    assert [e.id for _, e in store.events_after(0)] == [new.id]
    texts = [r[0] for r in store.query("SELECT text FROM strings", [])]
    assert texts == [new.file_path]


def test_chinese_substring_finds_the_path_through_the_trigram_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    ev = make_event(1, file_path="/srv/share/clients/acme/2024年发票汇总.xlsx")
    store.commit_source_batch("s", [ev, make_event(2)], [], {})
    rows = list(store.query(
        "SELECT text FROM strings WHERE id IN (SELECT rowid FROM strings_fts"
        " WHERE strings_fts MATCH ?)", ['"发票汇"']))
    assert rows == [(ev.file_path,)]


def test_a_huge_integer_from_a_garbled_line_does_not_block_the_batch(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    ev = make_event(1, extra={"process.pid": 10**30})
    store.commit_source_batch("s", [ev], [], {"pending": 10**40})
    [(_, back)] = store.events_after(0)
    # read back as floats (orjson's choice): near enough for garbage, and the batch is in
    assert back.extra["process.pid"] == float(10**30)
    assert store.source_state("s") == {"pending": float(10**40)}


def test_retention_removes_whole_batches_only_so_the_chain_still_verifies(tmp_path: Path) -> None:
    from monitor import chain
    store = Store(tmp_path / "w.db")
    old = make_event(1, timestamp=datetime(2020, 1, 1, tzinfo=UTC))
    mixed = [make_event(2, timestamp=datetime(2020, 1, 1, tzinfo=UTC)),
             make_event(3, timestamp=datetime.now(UTC))]
    store.commit_source_batch("s", [old], [], {})
    store.commit_source_batch("s", mixed, [], {})
    assert store.prune(datetime.now(UTC) - timedelta(days=180)) == 1  # the mixed batch stays
    assert store.count() == 2
    assert chain.verify(store.db, store.rows_of).ok


def test_retention_keeps_what_a_consumer_still_needs(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    for n in range(3):
        store.commit_source_batch("s", [make_event(n, timestamp=datetime(2020, 1, 1,
                                                                        tzinfo=UTC))], [], {})
    assert store.prune(datetime.now(UTC), keep_from_seq=2) == 1
    assert [seq for seq, _ in store.events_after(0)] == [2, 3]
