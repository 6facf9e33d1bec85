"""watchdog's inotify observer, told what the filesystem watcher needs, and turned
into a queue of things to look at.

Two things differ from a plain `Observer().schedule(...)`:

- The event filter leaves out opened / closed-without-write: on a tree of
  ~5,000 directories watchdog 7.1 with those classes loops on "Inotify queue
  overflowed … reconciling" and delivers nothing (shared/NOTES.md). Attribute
  changes need `FileModifiedEvent` in the filter: watchdog only asks inotify for
  IN_ATTRIB when a modified class is listed.
- When the kernel queue overflows, watchdog re-adds its watches but tells no
  handler that events were lost. The watch group below also queues a `rescan`,
  and the runner diffs the whole tree against its snapshot.

The queue holds `Op`s, not watchdog events: the runner never trusts an event's
content, it looks at the disk (see fswatch.py), so an op only says where to look.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from watchdog.events import (
    DirAttribEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import DEFAULT_OBSERVER_TIMEOUT, BaseObserver
from watchdog.observers.inotify import InotifyEmitter, InotifyWatchGroup
from watchdog.observers.inotify_c import InotifyFD

EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent, DirCreatedEvent, FileDeletedEvent, DirDeletedEvent,
    FileMovedEvent, DirMovedEvent, FileModifiedEvent, FileAttribEvent, DirAttribEvent,
    FileClosedEvent,  # closed after writing: the file's content is complete
]


@dataclass(frozen=True, slots=True)
class Op:
    kind: str  # check | content | closed | move | rescan
    path: str = ""
    dest: str = ""  # move: where it went


class _Group(InotifyWatchGroup):
    """watchdog's watch group, plus a hook called when the kernel dropped events."""

    overflow_hook: Callable[[], None] | None = None

    def on_queue_overflow(self) -> None:
        super().on_queue_overflow()
        if self.overflow_hook is not None:
            self.overflow_hook()


class _Emitter(InotifyEmitter):
    def __init__(self, *args: Any, on_overflow: Callable[[], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_overflow = on_overflow

    def on_thread_start(self) -> None:
        # InotifyEmitter.on_thread_start with our group class
        group = _Group(self._inotify_fd, os.fsencode(self.watch.path),
                       is_recursive=self.watch.is_recursive,
                       event_mask=self.get_event_mask_from_filter(),
                       follow_symlink=self.watch.follow_symlink)
        group.overflow_hook = self._on_overflow
        self._inotify = group


class WatchObserver(BaseObserver):
    """InotifyObserver with the overflow-aware emitter; one inotify instance of its own."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        self._fd = InotifyFD()
        self._fd.start()
        super().__init__(_Emitter, timeout=DEFAULT_OBSERVER_TIMEOUT, inotify_fd=self._fd,
                         on_overflow=on_overflow)

    def on_thread_stop(self) -> None:
        super().on_thread_stop()
        self._fd.stop()
        self._fd.join()


class OpQueue(FileSystemEventHandler):
    """Turns watchdog events into ops for the runner."""

    def __init__(self) -> None:
        self.ops: queue.SimpleQueue[Op] = queue.SimpleQueue()

    def overflowed(self) -> None:
        self.ops.put(Op("rescan"))

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_synthetic:
            return  # watchdog's made-up events below a new or moved directory: we walk it
        src = os.fsdecode(event.src_path)
        if isinstance(event, FileMovedEvent | DirMovedEvent):
            self.ops.put(Op("move", src, os.fsdecode(event.dest_path)))
        elif isinstance(event, FileModifiedEvent | FileCreatedEvent):
            self.ops.put(Op("content", src))  # looked at once the writing settles
        elif isinstance(event, FileClosedEvent):
            self.ops.put(Op("closed", src))
        elif isinstance(event, DirCreatedEvent | DirAttribEvent | FileAttribEvent
                        | FileDeletedEvent | DirDeletedEvent):
            self.ops.put(Op("check", src))


MAX_WATCHES = "/proc/sys/fs/inotify/max_user_watches"


def watch_limit() -> int | None:
    """How many inotify watches root may hold in all (one per watched directory).
    watchdog skips a directory it cannot watch without a word, so we check."""
    try:
        with open(MAX_WATCHES) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def watch(root: str, handler: OpQueue) -> WatchObserver:
    """Start watching `root` recursively; the watches are in place when this returns."""
    observer = WatchObserver(handler.overflowed)
    observer.schedule(handler, root, recursive=True, event_filter=EVENT_FILTER)
    observer.start()
    return observer
