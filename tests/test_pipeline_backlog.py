"""What the daemon tells the rules about the sources: a source is busy from its
start until everything it read is stored and its parser holds nothing back (then
the log is quiet), and behind while it has unread lines."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from monitor.config import load_config
from monitor.enrich import Enricher
from monitor.pipeline import Daemon, SourceRunner
from monitor.store import Store
from tests.daemon_process import write_config
from tests.samba_lines import generate


def test_a_source_is_busy_until_its_lines_are_stored_and_its_parser_is_empty(
        tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("".join(generate(200)))
    db = tmp_path / "w.db"
    config = load_config(write_config(tmp_path / "w.yaml", db, [
        {"type": "samba", "name": "smb", "prefix": "%u|%I|%m|%S", "path": str(log)}]))
    Store(db).close()
    stop = threading.Event()
    runner = SourceRunner(config.sources[0], config, Enricher(config), stop)
    daemon = Daemon(config, runners=[runner])
    # not started: everything it will store is unknown, hold all of it
    before = daemon.lagging()
    assert before.busy and before.unknown
    runner.start()
    try:
        store = Store(db)
        deadline = time.monotonic() + 30
        seen_busy_after_stored = False
        while True:
            backlog = daemon.lagging()
            stored = store.head() > 0
            if stored and backlog.busy:
                # the last Samba access of the file is held until the file goes quiet
                seen_busy_after_stored = True
            if stored and not backlog.busy:
                break
            assert time.monotonic() < deadline, "the source never went quiet"
            time.sleep(0.05)
        assert seen_busy_after_stored
        assert not backlog.datasets and not backlog.unknown
        head = store.head()
        time.sleep(0.5)
        assert store.head() == head  # quiet: nothing was on its way any more
        store.close()
    finally:
        stop.set()
        runner.wake.set()
        runner.join(5)


def test_a_stopped_source_is_not_waited_for(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    config = load_config(write_config(tmp_path / "w.yaml", db, [
        {"type": "samba", "name": "smb", "prefix": "%u|%I|%m|%S",
         "path": str(tmp_path / "audit.log")}]))
    Store(db).close()
    stop = threading.Event()
    stop.set()  # it stops at once
    runner = SourceRunner(config.sources[0], config, Enricher(config), stop)
    runner.start()
    runner.join(5)
    assert not runner.is_alive()
    backlog = Daemon(config, runners=[runner]).lagging()
    assert not backlog.busy and not backlog.unknown
