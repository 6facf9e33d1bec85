"""The consumer releases its buffer when the log is quiet — not when a source is
merely slow. A source restarting after a crash, or slowed by a busy machine, stores
nothing for a while although it has lines in hand; taking that for a quiet log made
the events that followed late (evaluated in arrival order), and the alerts of a run
with kills differed from an uninterrupted one."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from monitor.event import Event
from monitor.rules.consumer import Backlog, RuleConsumer
from monitor.rules.samples import event_from_fields
from monitor.store import Store
from tests.rules.helpers import at, rules_from

LATENESS = timedelta(seconds=1)
GUESSING = ("id: t.guess\ntitle: guessing\nkind: threshold\n"
            "when: {event.category: authentication, event.outcome: failure}\n"
            "group_by: source.ip\nwindow: 5m\ncount: 10\n")


def failure(seconds: float, n: int) -> Event:
    return event_from_fields(at(seconds, event__dataset="system.auth", source__ip="192.0.2.7",
                                event__category="authentication", event__outcome="failure"), n)


def wait(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def run_with_a_pause(tmp_path: Path, busy_during_pause: bool) -> int:
    """Store 40 failures, pause (three times the lateness, or until the buffer is
    released), store two more whose time is within the lateness of the first batch's
    newest (out of order, as Samba's grouped records and several sources give).
    Returns how many the engine took as late."""
    db = tmp_path / "w.db"
    store = Store(db)
    backlog = Backlog(busy=busy_during_pause)
    stop = threading.Event()
    consumer = RuleConsumer(str(db), rules_from(tmp_path, GUESSING), LATENESS, stop)
    consumer.lagging = lambda: backlog
    consumer.start()
    try:
        store.commit_source_batch("auth", [failure(float(i), i) for i in range(40)], [], {})
        wait(lambda: consumer.position == store.head())
        if busy_during_pause:  # the source has lines in hand: the buffer stays
            time.sleep(3 * LATENESS.total_seconds())
            assert consumer.engine is not None and consumer.engine.buffer
        else:  # a quiet log: the buffer is released after `lateness`
            wait(lambda: consumer.engine is not None and not consumer.engine.buffer)
        store.commit_source_batch("auth", [failure(38.3, 40), failure(38.7, 41)], [], {})
        backlog = Backlog()  # now everything is stored and the log goes quiet
        wait(lambda: consumer.position == store.head() and consumer.engine is not None
             and not consumer.engine.buffer)
        assert consumer.engine is not None
        return consumer.engine.stats.late
    finally:
        stop.set()
        consumer.wake.set()
        consumer.join(5)
        store.close()


def test_a_busy_source_keeps_the_buffer_so_its_next_events_are_not_late(
        tmp_path: Path) -> None:
    assert run_with_a_pause(tmp_path, busy_during_pause=True) == 0


def test_a_quiet_log_releases_the_buffer_and_older_events_after_it_are_late(
        tmp_path: Path) -> None:
    # the counterpart: with nothing on its way, the pause is a quiet log and the
    # buffer is released; the two events after it are older than what was released
    assert run_with_a_pause(tmp_path, busy_during_pause=False) == 2


def test_a_source_behind_keeps_the_buffer_too(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = Store(db)
    stop = threading.Event()
    consumer = RuleConsumer(str(db), rules_from(tmp_path, GUESSING), LATENESS, stop)
    consumer.lagging = lambda: Backlog(datasets=frozenset({"samba.auth"}))
    consumer.start()
    try:
        store.commit_source_batch("auth", [failure(float(i), i) for i in range(40)], [], {})
        wait(lambda: consumer.position == store.head())
        time.sleep(3 * LATENESS.total_seconds())
        assert consumer.engine is not None and consumer.engine.buffer
    finally:
        stop.set()
        consumer.wake.set()
        consumer.join(5)
        store.close()
