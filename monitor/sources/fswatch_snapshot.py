"""What the filesystem watcher knows about every entry under its root.

`Entry` is the state of one directory, file or symlink as far as the audit
cares: kind, inode, permission bits, owner, group, POSIX ACLs, and for regular
files size and mtime (content). `scan` reads it from disk; `SnapshotTable`
keeps it in the store, in the watcher's own table, so a restart can diff the
disk against what was last committed.

Paths are `str` as `os` returns them (undecodable bytes as surrogates) and are
stored as their exact bytes (BLOB), so any file name round-trips.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.sources.fswatch_acl import ACCESS_XATTR, DEFAULT_XATTR, read_acl
from monitor.store import Store

TABLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS fswatch_snapshot (
    source TEXT NOT NULL,
    path BLOB NOT NULL,
    kind TEXT NOT NULL,
    ino INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    acl TEXT NOT NULL,
    dacl TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (source, path)
) WITHOUT ROWID;
"""
_COLS = "kind, ino, mode, uid, gid, acl, dacl, size, mtime_ns"


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # file | dir | symlink | other
    ino: int
    mode: int  # permission bits (07777)
    uid: int
    gid: int
    acl: str  # named entries of the access ACL, canonical (fswatch_acl); "" = none
    dacl: str  # default ACL of a directory, canonical; "" = none
    size: int  # regular files only (content changes); 0 otherwise
    mtime_ns: int  # regular files only; 0 otherwise
    # when the inode last changed: the best time for a change we did not see happen
    ctime_ns: int = field(default=0, compare=False)

    def state(self) -> str:
        """Everything compared, as one string: part of event ids."""
        return (f"{self.kind}:{self.ino}:{self.mode:o}:{self.uid}:{self.gid}:{self.acl}:"
                f"{self.dacl}:{self.size}:{self.mtime_ns}")


def _kind(st_mode: int) -> str:
    if stat.S_ISREG(st_mode):
        return "file"
    if stat.S_ISDIR(st_mode):
        return "dir"
    if stat.S_ISLNK(st_mode):
        return "symlink"
    return "other"


def entry_from_stat(path: str, st: os.stat_result) -> Entry:
    kind = _kind(st.st_mode)
    acl = dacl = ""
    if kind in ("file", "dir"):
        acl = read_acl(path, ACCESS_XATTR, named_only=True)
        if kind == "dir":
            dacl = read_acl(path, DEFAULT_XATTR, named_only=False)
    content = kind == "file"
    return Entry(kind, st.st_ino, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, acl, dacl,
                 st.st_size if content else 0, st.st_mtime_ns if content else 0, st.st_ctime_ns)


def entry_of(path: str) -> Entry | None:
    """The entry at `path` now (not following symlinks), or None when there is none."""
    try:
        return entry_from_stat(path, os.lstat(path))
    except OSError:
        return None


class Excluder:
    """Config `exclude` patterns: one with a `/` matches the path relative to the
    root (`acme/tmp/*`), one without matches any single name (`~$*`, `*.tmp`).
    An excluded directory hides everything below it."""

    def __init__(self, root: str, patterns: Sequence[str], skip: Iterable[str] = ()) -> None:
        self.root = root.rstrip("/") or "/"
        self.skip = frozenset(skip)  # exact paths (the store's own files)
        self.by_path = [p.strip("/") for p in patterns if "/" in p.strip("/")]
        self.by_name = [p.strip("/") for p in patterns if "/" not in p.strip("/")]

    def _relative(self, path: str) -> str | None:
        if path == self.root:
            return ""
        prefix = self.root if self.root == "/" else self.root + "/"
        return path[len(prefix):] if path.startswith(prefix) else None

    def inside(self, path: str) -> bool:
        """Under the root and not excluded (itself or through a parent)."""
        rel = self._relative(path)
        if rel is None or path in self.skip:
            return False
        if not rel or not (self.by_path or self.by_name):
            return True
        parts = rel.split("/")
        return not any(self._hit(parts[i], "/".join(parts[:i + 1])) for i in range(len(parts)))

    def _hit(self, name: str, rel: str) -> bool:
        return (any(fnmatch.fnmatchcase(name, p) for p in self.by_name)
                or any(fnmatch.fnmatchcase(rel, p) for p in self.by_path))

    def skip_child(self, rel_parent: str, name: str) -> bool:
        if not (self.by_path or self.by_name):
            return False
        rel = f"{rel_parent}/{name}" if rel_parent else name
        return self._hit(name, rel)

    def relative(self, path: str) -> str:
        return self._relative(path) or ""


class ScanStopped(Exception):
    """The daemon is stopping: a scan was abandoned (nothing was committed)."""


def scan(path: str, excluder: Excluder, stop: threading.Event | None = None) -> dict[str, Entry]:
    """Every entry at and below `path` now; {} when `path` is gone or excluded."""
    if not excluder.inside(path):
        return {}
    top = entry_of(path)
    if top is None:
        return {}
    out = {path: top}
    if top.kind == "dir":
        _walk(path, excluder.relative(path), excluder, out, stop)
    return out


def _walk(directory: str, rel: str, excluder: Excluder, out: dict[str, Entry],
          stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise ScanStopped
    try:
        with os.scandir(directory) as it:
            children = list(it)
    except OSError:  # vanished or replaced while we walk: its own event says what happened
        return
    for child in children:
        if excluder.skip_child(rel, child.name) or child.path in excluder.skip:
            continue
        try:
            entry = entry_from_stat(child.path, child.stat(follow_symlinks=False))
        except OSError:
            continue
        out[child.path] = entry
        if entry.kind == "dir":
            _walk(child.path, f"{rel}/{child.name}" if rel else child.name, excluder, out, stop)


def _key(path: str) -> bytes:
    return os.fsencode(path)


_U64 = 1 << 64


def _signed(ino: int) -> int:
    """SQLite integers are signed 64-bit; some filesystems use all 64 inode bits."""
    return ino - _U64 if ino >= _U64 // 2 else ino


def _entry(values: Sequence[Any]) -> Entry:
    kind, ino, *rest = values
    return Entry(kind, ino % _U64, *rest)


def _row(values: Sequence[Any]) -> tuple[str, Entry]:
    return os.fsdecode(bytes(values[0])), _entry(values[1:])


class SnapshotTable:
    """The committed snapshot of one source, in the store's `fswatch_snapshot` table.
    Writes are meant to run inside `store.transaction()` with the events they explain."""

    def __init__(self, store: Store, source: str) -> None:
        self.db = store.db
        self.source = source
        self.db.executescript(TABLE_SCHEMA)

    def get(self, path: str) -> Entry | None:
        row = self.db.execute(f"SELECT {_COLS} FROM fswatch_snapshot WHERE source=? AND path=?",
                              (self.source, _key(path))).fetchone()
        return _entry(row) if row else None

    def subtree(self, path: str) -> dict[str, Entry]:
        """`path` and everything stored below it."""
        key = _key(path)
        low, high = (b"/", b"0") if key == b"/" else (key + b"/", key + b"0")  # '0' follows '/'
        rows = self.db.execute(
            f"SELECT path, {_COLS} FROM fswatch_snapshot WHERE source=? AND"
            " (path=? OR (path>=? AND path<?))", (self.source, key, low, high))
        return dict(_row(r) for r in rows)

    def all(self) -> dict[str, Entry]:
        rows = self.db.execute(f"SELECT path, {_COLS} FROM fswatch_snapshot WHERE source=?",
                               (self.source,))
        return dict(_row(r) for r in rows)

    def put(self, items: Iterable[tuple[str, Entry]]) -> None:
        self.db.executemany(
            f"INSERT OR REPLACE INTO fswatch_snapshot (source, path, {_COLS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(self.source, _key(p), e.kind, _signed(e.ino), e.mode, e.uid, e.gid, e.acl, e.dacl,
              e.size, e.mtime_ns) for p, e in items])

    def delete(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM fswatch_snapshot WHERE source=? AND path=?",
                            [(self.source, _key(p)) for p in paths])

    def clear(self) -> None:
        self.db.execute("DELETE FROM fswatch_snapshot WHERE source=?", (self.source,))

    def count_dirs(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM fswatch_snapshot WHERE source=? AND"
                                   " kind='dir'", (self.source,)).fetchone()[0])

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM fswatch_snapshot WHERE source=?",
                                   (self.source,)).fetchone()[0])
