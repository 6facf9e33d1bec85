"""The filesystem watcher: permission, ownership and ACL changes (with before and
after), creations, deletions, renames and content changes under a root.

    sources:
      - {type: fswatch, path: /srv/share/clients, exclude: ["~$*", "*.tmp"], rescan_every: 24h}

It is not a tailed log: it runs as its own thread (`make_runner`). inotify
(watchdog 7.1, see fswatch_inotify.py) only says *where* to look; what changed
is always found by comparing the disk with a snapshot of every entry under the
root (mode, uid, gid, POSIX ACLs, size and mtime; fswatch_snapshot.py), which
lives in the store's `fswatch_snapshot` table. The same comparison
(fswatch_diff.py) serves three moments:

- first start: the scan is stored as the baseline and emits nothing;
- restart (or lost inotify events): the whole tree is diffed against the
  stored snapshot, so what changed while the daemon was down is reported with
  its before and after, then the watcher goes live;
- live: each inotify event re-reads its path (a new directory: its subtree),
  diffs it against the snapshot row(s), and commits; every `rescan_every`
  (default 24h, `0s` = never) the whole tree is diffed again, because inotify
  has blind spots: a chmod through a hard link that lives outside the root
  reaches no watch on the root.

Events carry no user (`user.name` is absent): inotify does not say who made a
change. auditd, watching the same tree, has the user for the same change.

Exactly once: the events of a batch, the snapshot rows they explain and the
source's sequence number are committed in one transaction. A crash before the
commit leaves the old rows, so the rescan at restart finds the same before and
after again and reports the change then; a crash after it leaves the new rows,
so the rescan finds nothing to report. There is no file offset, so an event id
is derived from the source, path, kind of change, the before and after state and
the sequence number, which are all committed with the event: the id is a
function of the stored change, so re-deriving it cannot give a stored change a
second id, while a real repeat of an identical change (0750 → 0754, back, and
again) gets a new sequence number and so its own id.

What it cannot see: a file that is created and removed before the watcher looks
at it (writes are looked at once they settle, ~0.5 s), and intermediate states
between two looks (0750 → 0777 → 0754 within one batch is reported as 0750 → 0754).
"""

from __future__ import annotations

import logging
import os
import posixpath
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.durations import parse_duration
from monitor.event import Event
from monitor.sources.base import RunnerContext, SourceType
from monitor.sources.fswatch_diff import Diff, diff_trees
from monitor.sources.fswatch_events import forget_names, make_event
from monitor.sources.fswatch_inotify import Op, OpQueue, WatchObserver, watch, watch_limit
from monitor.sources.fswatch_snapshot import (
    Entry,
    Excluder,
    ScanStopped,
    SnapshotTable,
    entry_of,
    scan,
)
from monitor.store import Store

log = logging.getLogger(__name__)

SETTLE_SECONDS = 0.5  # a file being written is looked at once it has been quiet this long
MAX_HOLD_SECONDS = 5.0  # ... or at the latest this long after the first write
POLL_SECONDS = 0.25  # how often an idle runner checks for stop and due writes
RETRY_SECONDS = 5.0
MAX_BATCH = 5000  # ops per transaction


DEFAULT_RESCAN = timedelta(hours=24)


def check_options(options: Mapping[str, Any]) -> str | None:
    try:
        rescan_interval(options)
    except ValueError as exc:
        return f"'rescan_every': {exc}"
    exclude = options.get("exclude", [])
    if isinstance(exclude, str):
        exclude = [exclude]
    if not isinstance(exclude, list) or not all(isinstance(p, str) and p for p in exclude):
        return "'exclude' must be a list of glob patterns (e.g. ['~$*', 'acme/tmp/*'])"
    return None


def rescan_interval(options: Mapping[str, Any]) -> float:
    """Seconds between full rescans; 0 = never."""
    value = options.get("rescan_every")
    return (parse_duration(value) if value is not None else DEFAULT_RESCAN).total_seconds()


def exclude_patterns(options: Mapping[str, Any]) -> list[str]:
    exclude = options.get("exclude", [])
    return [exclude] if isinstance(exclude, str) else [str(p) for p in exclude]


@dataclass
class WatchStats:
    events: int = 0
    entries: int = 0  # in the snapshot after the last full scan
    baseline_seconds: float | None = None
    rescans: int = 0
    last_event: datetime | None = None
    error: str | None = None


class FsWatcher(threading.Thread):
    """Runner for one `fswatch` source; see the module docstring."""

    def __init__(self, ctx: RunnerContext) -> None:
        super().__init__(name=f"source {ctx.source.name}", daemon=True)
        self.ctx = ctx
        self.source: str = ctx.source.name
        self.root: str = os.path.normpath(ctx.source.path)
        # the store itself may live under the root: its writes must not become events
        store = os.path.abspath(ctx.store_path)
        self.excluder = Excluder(self.root, exclude_patterns(ctx.source.options),
                                 skip=[store + suffix for suffix in ("", "-wal", "-shm",
                                                                     "-journal")])
        self.rescan_every = rescan_interval(ctx.source.options)
        self.last_scan = time.monotonic()
        self.handler: OpQueue | None = None  # the live op queue (None while not watching)
        self.observer: WatchObserver | None = None
        self.stats = WatchStats()
        self.seq = 0  # sequence number of the last committed event
        self.baseline: dict[str, Any] | None = None
        self.caught_up = threading.Event()  # baseline or restart diff committed; live

    # -- thread ------------------------------------------------------------
    def run(self) -> None:
        store = Store(self.ctx.store_path)
        try:
            table = SnapshotTable(store, self.source)
            while not self.ctx.stop.is_set():
                if not os.path.isdir(self.root):
                    self._load(store)
                    if table.count():  # it went while we were not watching: report that
                        self._commit(store, table, _whole_tree(table, {}), "rescan")
                    self._trouble(f"{self.root} is not a directory; waiting for it")
                    continue
                handler = self.handler = OpQueue()
                observer = None
                try:
                    observer = self.observer = watch(self.root, handler)
                    self._catch_up(store, table)
                    self._live(store, table, handler)
                except ScanStopped:
                    return
                except Exception as exc:  # DB locked, disk full, a bug: rescan rather than die
                    log.exception("%s: watcher failed", self.source)
                    self._trouble(f"{type(exc).__name__}: {exc}; will rescan")
                finally:
                    self.caught_up.clear()
                    self.handler = self.observer = None
                    if observer is not None:
                        observer.stop()
                        observer.join(5)
        finally:
            store.close()

    def _trouble(self, message: str) -> None:
        if self.stats.error != message:
            log.error("%s: %s", self.source, message)
        self.stats.error = message
        self.ctx.stop.wait(RETRY_SECONDS)

    def request_rescan(self) -> None:
        """Diff the whole tree against the snapshot now (as after lost inotify events)."""
        handler = self.handler
        if handler is not None:
            handler.overflowed()

    def _state(self, seq: int) -> dict[str, Any]:
        return {"seq": seq, "root": self.root, "baseline": self.baseline}

    # -- baseline and restart diff -------------------------------------------
    def _load(self, store: Store) -> dict[str, Any]:
        state = store.source_state(self.source) or {}
        self.seq = int(state.get("seq", 0))
        self.baseline = state.get("baseline")
        return state

    def _catch_up(self, store: Store, table: SnapshotTable) -> None:
        state = self._load(store)
        started = time.monotonic()
        if self.baseline is None or state.get("root") != self.root:
            current = scan(self.root, self.excluder, self.ctx.stop)
            took = round(time.monotonic() - started, 3)
            self.baseline = {"root": self.root, "entries": len(current), "seconds": took,
                             "at": datetime.now(UTC).isoformat()}
            with store.transaction():
                table.clear()
                table.put(current.items())
                store.set_source_state(self.source, self._state(self.seq))
            log.info("%s: baseline of %d entries under %s in %.1f s", self.source,
                     len(current), self.root, took)
            self.stats.baseline_seconds, self.stats.entries = took, len(current)
            self.last_scan = time.monotonic()
        else:
            entries = self._rescan(store, table)
            log.info("%s: rescanned %d entries in %.1f s", self.source, entries,
                     time.monotonic() - started)
        self.stats.error = None
        self._check_watch_limit(table)
        self.caught_up.set()

    def _check_watch_limit(self, table: SnapshotTable) -> None:
        limit = watch_limit()
        dirs = table.count_dirs()
        if limit is not None and dirs > limit:
            self.stats.error = (f"{dirs} directories under {self.root} but only {limit} inotify"
                                " watches (fs.inotify.max_user_watches): changes in the"
                                " others are seen only by rescans; raise the limit")
            log.error("%s: %s", self.source, self.stats.error)

    def _rescan(self, store: Store, table: SnapshotTable) -> int:
        """Diff the whole tree against the snapshot and commit what changed."""
        current = scan(self.root, self.excluder, self.ctx.stop)  # outside the write lock
        forget_names()
        self._commit(store, table, _whole_tree(table, current), "rescan")
        self.last_scan = time.monotonic()
        self.stats.rescans += 1
        self.stats.entries = len(current)
        return len(current)

    # -- live ----------------------------------------------------------------
    def _live(self, store: Store, table: SnapshotTable, handler: OpQueue) -> None:
        writing: dict[str, tuple[float, float]] = {}  # path -> first, last write seen
        while not self.ctx.stop.is_set():
            if not os.path.isdir(self.root):  # the root itself went: report it, then wait
                self._commit(store, table, iter([self._reconcile(table, self.root, True)]),
                             "live")
                return
            ops = self._collect(handler, writing)
            due = bool(self.rescan_every) and (
                time.monotonic() - self.last_scan >= self.rescan_every)
            if due or any(op.kind == "rescan" for op in ops):
                if not due:
                    log.warning("%s: inotify lost events; rescanning %s", self.source, self.root)
                writing.clear()
                self._rescan(store, table)
            elif ops:
                self._commit(store, table, (self._diff(table, op) for op in ops), "live")

    def _collect(self, handler: OpQueue, writing: dict[str, tuple[float, float]]) -> list[Op]:
        """The ops to handle now: everything queued, and writes that have settled."""
        now = time.monotonic()
        due = [min(last + SETTLE_SECONDS, first + MAX_HOLD_SECONDS)
               for first, last in writing.values()]
        wait = max(0.0, min([POLL_SECONDS, *(d - now for d in due)]))
        ops: list[Op] = []
        try:
            ops.append(handler.ops.get(timeout=wait) if wait else handler.ops.get_nowait())
            while len(ops) < MAX_BATCH:
                ops.append(handler.ops.get_nowait())
        except queue.Empty:
            pass
        now = time.monotonic()
        ready: list[Op] = []
        for op in ops:
            if op.kind == "content":
                first, _last = writing.get(op.path, (now, now))
                writing[op.path] = (first, now)
                continue
            if op.kind == "closed":
                writing.pop(op.path, None)
                op = Op("check", op.path)
            if not ready or ready[-1] != op:  # a burst of one kind on one path: look once
                ready.append(op)
        for path, (first, last) in list(writing.items()):
            if now - last >= SETTLE_SECONDS or now - first >= MAX_HOLD_SECONDS:
                del writing[path]
                ready.append(Op("check", path))
        return ready

    def _diff(self, table: SnapshotTable, op: Op) -> Diff:
        if op.kind == "move":
            if not self.excluder.inside(op.dest):  # moved out of the tree (or excluded)
                return self._reconcile(table, op.path)
            if not self.excluder.inside(op.path):
                return self._reconcile(table, op.dest, deep=True)
            # both ends in one diff, so the inode pairs them up as a rename
            stored = {**table.subtree(op.path), **table.subtree(op.dest)}
            current = {**scan(op.path, self.excluder), **scan(op.dest, self.excluder)}
            return diff_trees(stored, current)
        return self._reconcile(table, op.path)

    def _reconcile(self, table: SnapshotTable, path: str, deep: bool = False) -> Diff:
        """Diff one path (a directory that appeared, vanished or changed identity: its
        subtree) against the snapshot."""
        if not self.excluder.inside(path):
            return Diff()
        # a path below a directory we have not recorded yet: record from that directory
        while path != self.root:
            parent = posixpath.dirname(path)
            if table.get(parent) is not None or entry_of(parent) is None:
                break
            path, deep = parent, True
        before, after = table.get(path), entry_of(path)
        if deep or _identity_changed(before, after):
            return diff_trees(table.subtree(path), scan(path, self.excluder))
        return diff_trees({path: before} if before else {}, {path: after} if after else {})

    # -- commit ----------------------------------------------------------------
    def _commit(self, store: Store, table: SnapshotTable,
                diffs: Iterator[Diff], detected: str) -> None:
        """Snapshot rows, events and seq in one transaction. `diffs` is lazy: each diff
        is computed inside the transaction, after the previous one is written, since it
        may read those rows."""
        seq = self.seq
        events: list[Event] = []
        now = datetime.now(UTC)
        with store.transaction():
            for diff in diffs:
                table.delete(diff.deletes)
                table.put(diff.upserts)
                for change in diff.changes:
                    seq += 1
                    events.append(self.ctx.enrich(make_event(self.source, change, seq,
                                                             detected, now)))
            store.insert_events(events)
            store.set_source_state(self.source, self._state(seq))
        self.seq = seq  # only once committed: a rolled-back batch gives its numbers back
        if events:
            self.stats.events += len(events)
            self.stats.last_event = max(ev.timestamp for ev in events)


def _whole_tree(table: SnapshotTable, current: dict[str, Entry]) -> Iterator[Diff]:
    yield diff_trees(table.all(), current)


def _identity_changed(before: Entry | None, after: Entry | None) -> bool:
    """A directory appeared, vanished, or another object took its name."""
    if before is None or after is None:
        present = before or after
        return present is not None and present.kind == "dir"
    return "dir" in (before.kind, after.kind) and (
        (before.kind, before.ino) != (after.kind, after.ino))


SOURCE = SourceType(
    name="fswatch",
    options=frozenset({"exclude", "rescan_every"}),
    check_options=check_options,
    make_runner=FsWatcher,
)
