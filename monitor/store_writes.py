"""Writing to the store from many threads, and telling a full disk from other errors.

The daemon's stages are threads, each with its own connection to the one store.
SQLite lets one of them write at a time and makes the others wait in its busy
handler, which sleeps and polls: a stage that writes often (the ingestion) wins
again and again, and one that writes rarely (the notifier recording "sent") can
wait seconds. A kill in that time sends the message again after the restart. So
the stages of one process queue for the write lock in the order they ask.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading

WRITE_WAIT_SECONDS = 60.0  # as the connections' own busy timeout


class WriterQueue:
    """Turns for the write lock of one store, in the order they were asked for;
    re-entrant per thread. A writer that waits longer than the timeout gives its
    turn up and fails as SQLite does ("database is locked")."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = self._serving = 0
        self._owner: int | None = None
        self._depth = 0
        self._abandoned: set[int] = set()  # tickets of writers that gave up waiting

    def acquire(self, timeout: float | None = None) -> None:
        timeout = WRITE_WAIT_SECONDS if timeout is None else timeout
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return
            ticket, self._next = self._next, self._next + 1
            if not self._cond.wait_for(lambda: self._serving == ticket, timeout):
                # give the turn up (the holder's release moves past it) and fail like
                # SQLite does when it waits too long
                self._abandoned.add(ticket)
                raise sqlite3.OperationalError(
                    f"database is locked (another writer held it over {timeout:g} s)")
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


_QUEUES: dict[str, WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def writer_queue(path: str) -> WriterQueue:
    """The queue of the store at `path` (one per file in this process)."""
    key = os.path.realpath(path)
    with _QUEUES_LOCK:
        queue = _QUEUES.get(key)
        if queue is None:
            queue = _QUEUES[key] = WriterQueue()
        return queue


def is_full_text(text: str | None) -> bool:
    """A stage's error message says the store's disk is full."""
    return bool(text) and any(m in str(text) for m in ("database or disk is full",
                                                        "No space left on device",
                                                        "store full"))


def free_bytes(path: str) -> int | None:
    """Free space on the filesystem holding the store (None when it cannot be read)."""
    try:
        return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
    except OSError:
        return None


def is_disk_full(exc: BaseException | None) -> bool:
    """SQLite's "database or disk is full", or ENOSPC, anywhere in the chain."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == \
                sqlite3.SQLITE_FULL:
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
