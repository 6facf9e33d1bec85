"""The daemon's stages write to one store from several threads: they take turns in
the order they asked, a writer that gives up waiting does not block the ones
behind it, and an error inside a transaction is the error reported."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from monitor import store_writes
from monitor.store import Store
from monitor.store_writes import is_disk_full, is_full_text


def test_writers_in_one_process_get_the_store_in_the_order_they_asked(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    holder = Store(db)
    order: list[str] = []
    waiting = threading.Semaphore(0)

    def writer(name: str) -> None:
        s = Store(db)
        try:
            waiting.release()
            with s.transaction():
                order.append(name)
        finally:
            s.close()

    threads = []
    with holder.transaction():  # everyone queues behind this one
        for name in ("first", "second", "third", "fourth"):
            t = threading.Thread(target=writer, args=(name,))
            t.start()
            waiting.acquire()
            queue = store_writes.writer_queue(str(db))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # it has asked before the next one asks
                with queue._cond:
                    if queue._next == len(threads) + 2:
                        break
                time.sleep(0.001)
            threads.append(t)
    for t in threads:
        t.join(10)
    holder.close()
    assert order == ["first", "second", "third", "fourth"]


def test_a_writer_that_gives_up_does_not_hold_up_the_next(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "w.db"
    impatient, patient = Store(db), Store(db)
    monkeypatch.setattr(store_writes, "WRITE_WAIT_SECONDS", 0.2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        holder = Store(db)
        with holder.transaction():
            holding.set()
            release.wait(30)
        holder.close()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"), \
            impatient.transaction():
        pass
    release.set()
    thread.join(10)
    with patient.transaction():  # the abandoned turn is skipped, not waited for
        patient.db.execute("INSERT INTO cursors(name, position) VALUES ('x', 1)")
    assert patient.cursor("x") == (1, None)
    with impatient.transaction():  # and the one that gave up can write again
        impatient.db.execute("INSERT INTO cursors(name, position) VALUES ('z', 3)")
    assert impatient.cursor("z") == (3, None)
    for s in (impatient, patient):
        s.close()


def test_the_error_inside_a_transaction_is_the_one_raised_even_if_sqlite_rolled_back(
        tmp_path: Path) -> None:
    s = Store(tmp_path / "w.db")
    with pytest.raises(ValueError, match="the real error"), s.transaction():
        s.db.execute("ROLLBACK")  # as SQLite does by itself on a full disk
        raise ValueError("the real error")
    with s.transaction():  # and the store is usable afterwards
        s.db.execute("INSERT INTO cursors(name, position) VALUES ('y', 2)")
    assert s.cursor("y") == (2, None)
    s.close()


def test_full_disk_errors_are_recognised_however_they_arrive() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    assert is_disk_full(full)
    assert is_disk_full(OSError(28, "No space left on device"))
    wrapped = RuntimeError("cannot store")
    wrapped.__cause__ = full
    assert is_disk_full(wrapped)
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert is_full_text("source smb: store full: cannot write to /x (database or disk is full)")
    assert not is_full_text("rules: cannot store alerts: database is locked")
    assert not is_full_text(None)
