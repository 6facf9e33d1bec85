"""Run the filesystem watcher as the daemon does: its own thread, a real Store,
real inotify on a real temp tree; read back what it stored."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.config import Config, load_config
from monitor.enrich import Enricher
from monitor.event import Event
from monitor.sources.base import RunnerContext
from monitor.sources.fswatch import FsWatcher
from monitor.store import Store
from tests.daemon_process import write_config


class Watcher:
    """One fswatch source over `root`, started and stopped like the daemon does it."""

    def __init__(self, tmp_path: Path, root: Path, db: Path | None = None,
                 **options: Any) -> None:
        self.root, self.db = root, db or tmp_path / "w.db"
        source = {"type": "fswatch", "name": "fs", "path": str(root), **options}
        self.config: Config = load_config(write_config(
            tmp_path / "w.yaml", self.db, [source], clients=f'["{root}/{{client}}/**"]'))
        self.thread: FsWatcher | None = None
        self.stop_flag = threading.Event()
        self.reader = Store(self.db)
        self.seen, self.stored = 0, list[Event]()

    def start(self, timeout: float = 60) -> FsWatcher:
        self.stop_flag = threading.Event()
        ctx = RunnerContext(self.config, self.config.sources[0], str(self.db),
                            Enricher(self.config), self.stop_flag, threading.Event())
        self.thread = FsWatcher(ctx)
        self.thread.start()
        assert self.thread.caught_up.wait(timeout), "watcher never caught up"
        return self.thread

    def stop(self) -> None:
        assert self.thread is not None
        self.stop_flag.set()
        self.thread.join(10)
        assert not self.thread.is_alive()

    def events(self) -> list[Event]:
        """Everything stored so far (read incrementally: polling must stay cheap)."""
        while batch := self.reader.events_after(self.seen, 10_000):
            self.seen = batch[-1][0]
            self.stored.extend(ev for _seq, ev in batch)
        return list(self.stored)

    def state(self) -> dict[str, Any]:
        return self.reader.source_state("fs") or {}

    def snapshot_rows(self) -> int:
        return int(self.reader.db.execute(
            "SELECT count(*) FROM fswatch_snapshot WHERE source='fs'").fetchone()[0])

    def wait_for(self, match: Callable[[Event], bool], timeout: float = 10,
                 count: int = 1) -> list[Event]:
        deadline = time.monotonic() + timeout
        while True:
            found = [ev for ev in self.events() if match(ev)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} such events within {timeout} s;"
                                     f" stored: {[(e.action, e.file_path) for e in found[:20]]}")
            time.sleep(0.01 if count == 1 else 0.2)

    def quiet(self, seconds: float = 1.5) -> list[Event]:
        """Wait for the watcher to have looked at everything, then all stored events."""
        time.sleep(seconds)
        return self.events()

    def close(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            self.stop()
        self.reader.close()


def by_path(events: list[Event], path: Path | str) -> list[tuple[str, str | None]]:
    return [(ev.action, ev.file_target_path) for ev in events if ev.file_path == str(path)]


def build_tree(root: Path, clients: int, folders: int, subfolders: int, files: int) -> int:
    """clientNN/folderNN/subNN/docNN.pdf plus an index.txt per folder and a README per
    client; built once in Python, copied with `cp -a` (much faster on a busy machine).
    Returns how many entries the tree holds, its root included."""
    first = root / "client00"
    for d in range(folders):
        for s in range(subfolders):
            leaf = first / f"folder{d:02}" / f"sub{s:02}"
            leaf.mkdir(parents=True)
            for f in range(files):
                os.close(os.open(leaf / f"doc{f:02}.pdf", os.O_CREAT | os.O_WRONLY, 0o644))
        (first / f"folder{d:02}" / "index.txt").touch()
    (first / "README").touch()
    for c in range(1, clients):
        subprocess.run(["cp", "-a", str(first), str(root / f"client{c:02}")], check=True)
    per_client = 1 + folders * (1 + subfolders * (1 + files) + 1) + 1
    return 1 + clients * per_client
