"""The rule engine as a consumer of the store.

It reads events after its cursor, evaluates them, and commits the alerts, the
new cursor and the engine's snapshot in one transaction. After a crash it
reloads the snapshot and replays the events after it: the same alerts come out
with the same ids, and the store keeps each once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from monitor.event import Event
from monitor.rules.engine import RuleEngine
from monitor.rules.model import Rule
from monitor.store import EVENT_SELECT, Store, row_to_event

log = logging.getLogger(__name__)

CURSOR = "rules"
BATCH = 2_000
POLL_SECONDS = 0.25
RETRY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the sources still have to store, as the daemon sees it now."""

    datasets: frozenset[str] = frozenset()  # of sources with unread lines: hold these back
    unknown: bool = False  # one of those has stored nothing yet this run: hold everything
    # a source is reading, parsing, committing or holding records back: the log is not
    # quiet even when the store has had nothing new for `lateness` (a source restarting
    # after a crash, or slowed by a busy machine, looks like a quiet log otherwise)
    busy: bool = False


class RuleConsumer(threading.Thread):
    def __init__(self, store_path: str, rules: Sequence[Rule], lateness: timedelta,
                 stop: threading.Event, max_future: timedelta | None = None) -> None:
        super().__init__(name="rules", daemon=True)
        self.store_path = store_path
        self.rules = list(rules)
        self.lateness = lateness
        self.max_future = max_future
        self.stop_flag = stop
        self.wake = threading.Event()
        self.alerted: list[threading.Event] = []  # set after alerts are stored (the sinks')
        # what the sources still have to store (the daemon provides it; a backtest,
        # reading a finished store, has none)
        self.lagging: Callable[[], Backlog] | None = None
        self._pending: list[Rule] | None = None
        self._lock = threading.Lock()
        self.engine: RuleEngine | None = None
        self.position = 0
        self.error: str | None = None

    def swap_rules(self, rules: Sequence[Rule]) -> None:
        """Use a new (already validated) rule set from the next batch on."""
        with self._lock:
            self._pending = list(rules)
        self.wake.set()

    def run(self) -> None:
        store = Store(self.store_path)
        try:
            self._loop(store)
        finally:
            store.close()

    def _load(self, store: Store) -> RuleEngine:
        self.position, state = store.cursor(CURSOR)
        engine = RuleEngine(self.rules, self.lateness, self.max_future)
        engine.restore(state, lambda seqs: load_events(store, seqs))
        return engine

    def _loop(self, store: Store) -> None:
        engine = self.engine = self._load(store)
        quiet_since = time.monotonic()
        while not self.stop_flag.is_set():
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is not None:
                self.rules = pending
                engine = self.engine = engine.with_rules(pending)
                log.info("rules: now %d rules", len(engine.rules))
            backlog = self.lagging() if self.lagging is not None else Backlog()
            engine.holding, engine.holding_unknown = backlog.datasets, backlog.unknown
            batch = store.events_after(self.position, BATCH)
            alerts = []
            for seq, ev in batch:
                alerts.extend(engine.process(ev, seq))
            position = batch[-1][0] if batch else self.position
            now = time.monotonic()
            flushed = False
            if batch or backlog.busy or backlog.datasets or backlog.unknown:
                quiet_since = now  # quiet means: nothing stored and nothing on its way
            elif engine.buffer and now - quiet_since >= self.lateness.total_seconds():
                alerts.extend(engine.flush())  # the log went quiet: nothing later is coming
                flushed = True
            if batch or alerts or flushed or pending is not None:
                try:
                    store.commit_consumer(CURSOR, position, engine.snapshot(), alerts)
                except Exception as exc:  # disk full, locked: redo from the saved cursor
                    self.error = f"cannot store alerts: {exc}"
                    log.error("rules: %s; will replay from the saved cursor", self.error)
                    self.stop_flag.wait(RETRY_SECONDS)
                    engine = self.engine = self._load(store)
                    continue
                self.error = None
                self.position = position
                if alerts:
                    for wake in self.alerted:
                        wake.set()
                for alert in alerts:
                    log.warning("ALERT [%s] %s: %s user=%s client=%s count=%d id=%s",
                                alert.severity, alert.rule_id, alert.rule_name, alert.user_name,
                                alert.client, alert.count, alert.id)
            if len(batch) < BATCH:
                self.wake.wait(POLL_SECONDS)
                self.wake.clear()


def load_events(store: Store, seqs: list[int]) -> dict[int, Event]:
    """The stored events with these seqs (the buffered part of a snapshot)."""
    out: dict[int, Event] = {}
    for i in range(0, len(seqs), 500):
        chunk = seqs[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for row in store.db.execute(f"{EVENT_SELECT} WHERE e.seq IN ({marks})", chunk):
            out[int(row[0])] = row_to_event(row)
    return out
