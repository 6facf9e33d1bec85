"""What changed between the committed snapshot and the disk.

Every change the watcher reports, live or after a restart, comes from one
comparison: the stored entries of some subtree against the entries on disk now.
That is what makes a live event and a restart diff agree, and what makes the
watcher exactly-once (see fswatch.py).

Renames are recognised by inode: an entry that vanished from one path and
appeared at another with the same inode and kind (and, for a file, the same
size and mtime, so a reused inode is not taken for a rename) moved. Entries
below a renamed directory follow it silently; entries below a deleted
directory are folded into that directory's deletion event.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.sources.fswatch_snapshot import Entry


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # create | delete | rename | modify | mode | owner | acl
    path: str
    before: Entry | None
    after: Entry | None
    target: str | None = None  # rename: the new path
    removed: int = 0  # delete: entries below a deleted directory, folded into this one


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)
    upserts: list[tuple[str, Entry]] = field(default_factory=list)  # snapshot rows to write
    deletes: list[str] = field(default_factory=list)  # snapshot rows to drop


def _order(path: str) -> bytes:
    return os.fsencode(path)  # the store's order: parents before their children


def compare(path: str, before: Entry, after: Entry) -> list[Change]:
    """The changes between two states of the entry at one path."""
    if before.kind != after.kind or (after.kind == "dir" and before.ino != after.ino):
        # another object under the same name: the old one is gone, a new one is here
        return [Change("delete", path, before, None), Change("create", path, None, after)]
    out: list[Change] = []
    if after.kind == "file" and (before.ino, before.size, before.mtime_ns) != (
            after.ino, after.size, after.mtime_ns):
        out.append(Change("modify", path, before, after))
    if before.mode != after.mode:
        out.append(Change("mode", path, before, after))
    if (before.uid, before.gid) != (after.uid, after.gid):
        out.append(Change("owner", path, before, after))
    if (before.acl, before.dacl) != (after.acl, after.dacl):
        out.append(Change("acl", path, before, after))
    return out


def _nearest(path: str, *tables: Mapping[str, object]) -> str | None:
    """The closest ancestor of `path` that is a key of one of `tables`."""
    parent = posixpath.dirname(path)
    while parent and parent != path:
        if any(parent in table for table in tables):
            return parent
        path, parent = parent, posixpath.dirname(parent)
    return None


class _Matcher:
    """Pairs entries that vanished with entries that appeared: renames."""

    def __init__(self, new: list[str], current: dict[str, Entry]) -> None:
        self.current = current
        self.free = set(new)
        self.by_ino: dict[int, list[str]] = {}
        for path in new:
            self.by_ino.setdefault(current[path].ino, []).append(path)
        self.moved: dict[str, str] = {}  # old path -> new path

    def match(self, old: str, before: Entry) -> tuple[str, bool] | None:
        """The new path of `old` and whether its parent's rename implies it."""
        anc = _nearest(old, self.moved)
        if anc is not None:  # below a renamed directory: look where it went first
            implied = self.moved[anc] + old[len(anc):]
            now = self.current.get(implied)
            if implied in self.free and now is not None and (now.kind, now.ino) == (
                    before.kind, before.ino):
                return self._take(old, implied), posixpath.dirname(old) in self.moved
        for path in self.by_ino.get(before.ino, ()):
            now = self.current[path]
            same_content = (now.size, now.mtime_ns) == (before.size, before.mtime_ns)
            if path in self.free and now.kind == before.kind and (
                    now.kind != "file" or same_content):
                return self._take(old, path), False
        return None

    def _take(self, old: str, new: str) -> str:
        self.free.discard(new)
        self.moved[old] = new
        return new


def diff_trees(stored: dict[str, Entry], current: dict[str, Entry]) -> Diff:
    """The changes that turn `stored` into `current`, and the snapshot rows to write."""
    if len(stored) == 1 and stored.keys() == current.keys():  # one path looked at again
        [(path, before)] = stored.items()
        after = current[path]
        return Diff(compare(path, before, after), [(path, after)] if before != after else [])
    diff = Diff()
    missing = sorted(stored.keys() - current.keys(), key=_order)
    new = sorted(current.keys() - stored.keys(), key=_order)
    matcher = _Matcher(new, current)
    deleted: dict[str, int] = {}  # deleted path -> entries folded into its event
    for old in missing:
        before = stored[old]
        found = matcher.match(old, before)
        if found is not None:
            target, implied = found
            after = current[target]
            if not implied:
                diff.changes.append(Change("rename", old, before, after, target=target))
            diff.changes.extend(compare(target, before, after))
            continue
        anc = _nearest(old, deleted, matcher.moved)
        if anc is not None and anc in deleted:
            deleted[anc] += 1
        else:
            deleted[old] = 0
    diff.changes.extend(Change("delete", path, stored[path], None, removed=removed)
                        for path, removed in deleted.items())
    diff.changes.extend(Change("create", path, None, current[path])
                        for path in new if path in matcher.free)
    for path in sorted(stored.keys() & current.keys(), key=_order):
        diff.changes.extend(compare(path, stored[path], current[path]))
    diff.upserts = [(p, e) for p, e in sorted(current.items(), key=lambda i: _order(i[0]))
                    if stored.get(p) != e]
    diff.deletes = missing
    return diff
