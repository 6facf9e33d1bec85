"""What a source runner tells the rest of the daemon: to the rules, that it is busy
from its start until everything it read is stored and its parser holds nothing back
(then the log is quiet), and behind while it has unread lines; to the metrics, the
newest event time it stored."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import load_config
from monitor.enrich import Enricher
from monitor.pipeline import Daemon
from monitor.source_runner import SourceRunner
from monitor.store import Store
from tests.daemon_process import write_config
from tests.samba_lines import generate, record


def runner_over(tmp_path: Path, text: str) -> SourceRunner:
    """A Samba source runner (not started) over a log holding `text`, with its store."""
    log = tmp_path / "audit.log"
    log.write_text(text)
    db = tmp_path / "w.db"
    config = load_config(write_config(tmp_path / "w.yaml", db, [
        {"type": "samba", "name": "smb", "prefix": "%u|%I|%m|%S", "path": str(log)}]))
    Store(db).close()
    return SourceRunner(config.sources[0], config, Enricher(config), threading.Event())


def stop(runner: SourceRunner) -> None:
    runner.stop_flag.set()
    runner.wake.set()
    runner.join(5)


def test_a_source_is_busy_until_its_lines_are_stored_and_its_parser_is_empty(
        tmp_path: Path) -> None:
    runner = runner_over(tmp_path, "".join(generate(200)))
    db = tmp_path / "w.db"
    daemon = Daemon(runner.config, runners=[runner])
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
        stop(runner)


def test_a_stopped_source_is_not_waited_for(tmp_path: Path) -> None:
    runner = runner_over(tmp_path, "")
    runner.stop_flag.set()  # it stops at once
    runner.start()
    runner.join(5)
    assert not runner.is_alive()
    backlog = Daemon(runner.config, runners=[runner]).lagging()
    assert not backlog.busy and not backlog.unknown


def test_the_newest_event_time_does_not_believe_a_clock_years_ahead(tmp_path: Path) -> None:
    # a 2099 line would otherwise hold wallwatch_source_last_event_timestamp_seconds in
    # the future, and WallwatchSourceSilent could never fire for the source
    pre = "alice|10.0.0.11|ALICE-PC|clients"
    runner = runner_over(tmp_path, "".join(generate(20)) + record(
        datetime(2099, 1, 1), f"{pre}|unlinkat|ok|/srv/share/clients/acme/x") + record(
        datetime(2026, 11, 2, 10, 0), f"{pre}|unlinkat|ok|/srv/share/clients/acme/y"))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while runner.tailer is None or runner.busy():
            assert time.monotonic() < deadline, "the source never went quiet"
            time.sleep(0.05)
        assert runner.stats.last_event == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    finally:
        stop(runner)


def test_after_a_restart_a_source_behind_names_its_datasets_before_it_stores_anything(
        tmp_path: Path) -> None:
    # else the rules hold every event back until its first commit and meanwhile
    # evaluate late events against other state than an uninterrupted run would
    runner = runner_over(tmp_path, "".join(generate(50)))
    runner.start()
    deadline = time.monotonic() + 30
    while runner.tailer is None or runner.busy():
        assert time.monotonic() < deadline, "the source never went quiet"
        time.sleep(0.05)
    stop(runner)
    with (tmp_path / "audit.log").open("a") as f:
        f.write("".join(generate(50, seed=8)))  # a backlog while it was down
    again = SourceRunner(runner.cfg, runner.config, runner.enricher, threading.Event())
    assert not again.stats.datasets
    store = Store(tmp_path / "w.db")
    try:
        again.remember(store)  # as the daemon does before it starts the threads
    finally:
        store.close()
    backlog = Daemon(runner.config, runners=[again]).lagging()  # not started: behind
    assert backlog.datasets == {"samba.audit"} and not backlog.unknown
