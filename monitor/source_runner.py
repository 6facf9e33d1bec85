"""One tailed source as a thread: read lines, parse, enrich, then commit events +
dead letters + tail position + parser state in one transaction. If the commit fails
(disk full, database locked too long) the runner rewinds its tailer and parser to
the last committed state and tries again later, so nothing is skipped. It also
says what the rest of the daemon needs: whether it is behind or busy (the rules),
and its counts (metrics, /healthz)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.config import Config, SourceConfig
from monitor.enrich import Enricher
from monitor.event import ts_to_us, us_to_ts
from monitor.sources.base import LineParser, ParseOutput
from monitor.sources.reading import feed_lines, make_parser
from monitor.sources.tail import Line, Tailer
from monitor.store import Store
from monitor.store_writes import free_bytes, is_disk_full

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # safety net when no inotify wake-up arrives
IDLE_FLUSH_SECONDS = 2.0  # a quiet file releases the records a parser holds back
RETRY_SECONDS = 5.0
# a store that refuses writes (disk full) is retried sooner at first, then less often
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 1.0, 30.0
REMIND_SECONDS = 300.0  # a long stall is logged again this often, not on every retry


@dataclass
class SourceStats:
    lines: int = 0
    bytes: int = 0
    events: int = 0
    dead: int = 0
    ignored: int = 0
    last_event: datetime | None = None
    error: str | None = None
    blocked: str | None = None  # why the store refuses this source's writes (disk full)
    actions: dict[str, int] = field(default_factory=dict)  # events stored, by event.action
    # event.dataset of the events this source stores (kept with its position: after a
    # restart the rules know at once what a source still behind will bring)
    datasets: set[str] = field(default_factory=set)


class SourceRunner(threading.Thread):
    """Tails one source into the store until told to stop."""

    def __init__(self, cfg: SourceConfig, config: Config, enricher: Enricher,
                 stop: threading.Event) -> None:
        super().__init__(name=f"source {cfg.name}", daemon=True)
        self.cfg, self.config, self.enricher, self.stop_flag = cfg, config, enricher, stop
        self.stats = SourceStats()
        self.tailer: Tailer | None = None
        self.wake = threading.Event()
        self.stored = threading.Event()  # set after each commit of events (the rules wait on it)
        self.failures = 0  # commits failed in a row
        self.failing_since = self.reminded = 0.0
        self.in_hand = True  # lines read (or about to be) and not yet stored
        self.held = True  # the parser may hold records back until the file goes quiet

    def behind(self) -> bool:
        """Unread lines (or not started yet): the rules hold this source's events back."""
        return self.tailer is None or self.tailer.lag() > 0

    def busy(self) -> bool:
        """Anything of this source not yet in the store: unread lines, lines read and
        not committed, records the parser holds back."""
        return self.in_hand or self.held or self.behind()

    def remember(self, store: Store) -> dict[str, Any]:
        """Take back what this source said before a restart; the daemon calls it before
        any thread starts. Returns the saved state."""
        state = store.source_state(self.cfg.name) or {}
        # a restarted source that is behind holds back only its own datasets; without
        # them the rules would hold everything until its first commit, and evaluate the
        # late events meanwhile against other state than an uninterrupted run
        self.stats.datasets.update(str(d) for d in state.get("datasets") or ())
        if self.stats.last_event is None and state.get("last_event") is not None:
            # a source already silent before a restart must still show as silent
            self.stats.last_event = us_to_ts(int(state["last_event"]))
        return state

    def _load(self, store: Store) -> tuple[Tailer, LineParser]:
        state = self.remember(store)
        if self.tailer is not None:
            self.tailer.close()
        tailer = Tailer(self.cfg.path, state.get("tail"))
        tailer.wake = self.wake
        parser = make_parser(self.cfg, self.config)
        parser.restore(state.get("parser"))
        self.tailer = tailer
        return tailer, parser

    def run(self) -> None:
        store = Store(self.config.store.path)
        try:
            self._loop(store)
        finally:
            if self.tailer is not None:
                self.tailer.close()
            store.close()

    def _loop(self, store: Store) -> None:
        tailer, parser = self._load(store)
        last_data = time.monotonic()
        self.held = True  # the parser may hold records back (also restored ones)
        while not self.stop_flag.is_set():
            self.in_hand = True  # before the read: the tailer's lag drops as it reads
            lines = tailer.read_lines()
            out = ParseOutput(self.cfg.name, self.cfg.path)
            feed_lines(parser, lines, out)
            now = time.monotonic()
            flushing = False
            if lines:
                last_data, self.held = now, True
            elif self.held and now - last_data >= IDLE_FLUSH_SECONDS:
                parser.flush(out)  # the file went quiet: release what the parser holds
                flushing = True
            stored = not (lines or out.events or out.dead) or self._commit(
                store, tailer, parser, lines, out)
            if not stored:  # read nothing more until the store takes this batch
                self.stop_flag.wait(self.retry_delay())
                tailer, parser = self._load(store)
                self.held = True
                continue
            self.in_hand = False
            if flushing:
                self.held = False
            if not lines:
                self.wake.wait(POLL_SECONDS)
                self.wake.clear()

    def _commit(self, store: Store, tailer: Tailer, parser: LineParser, lines: list[Line],
                out: ParseOutput) -> bool:
        events = [self.enricher(ev) for ev in out.events]
        # the newest event time, not believing a clock far ahead (rules.max_future)
        bound = datetime.now(UTC) + self.config.max_future
        newest = max((ev.timestamp for ev in events if ev.timestamp <= bound), default=None)
        last = self.stats.last_event if newest is None or (
            self.stats.last_event is not None and self.stats.last_event > newest) else newest
        # known before the events are in the store, where the rules may read them at once
        self.stats.datasets.update(ev.dataset for ev in events)
        state: dict[str, Any] = {"tail": tailer.position(), "parser": parser.snapshot(),
                                 "last_event": None if last is None else ts_to_us(last),
                                 "datasets": sorted(self.stats.datasets)}
        try:
            store.commit_source_batch(self.cfg.name, events, out.dead, state)
        except Exception as exc:  # disk full, locked: rewind and retry, never skip
            self._failed(store, exc)
            return False
        if self.failures:
            log.info("%s: the store takes writes again after %.0f s; resuming from the saved"
                     " position", self.cfg.name, time.monotonic() - self.failing_since)
        self.failures = 0
        st = self.stats
        st.error = st.blocked = None
        st.lines += len(lines)
        st.bytes += sum(len(line.data) + 1 for line in lines)
        st.events += len(events)
        for ev in events:
            st.actions[ev.action] = st.actions.get(ev.action, 0) + 1
        st.dead += len(out.dead)
        st.ignored += out.ignored
        if events:
            st.last_event = last
            self.stored.set()
        return True

    def retry_delay(self) -> float:
        """Seconds before the next attempt: doubling while the store refuses writes."""
        if self.stats.blocked is None:
            return RETRY_SECONDS
        return min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2.0 ** max(0, self.failures - 1))

    def _failed(self, store: Store, exc: Exception) -> None:
        """Say why nothing is read: once in the log (and again every few minutes), and
        in the stats that /healthz and the metrics show."""
        now = time.monotonic()
        self.failures += 1
        if self.failures == 1:
            self.failing_since = self.reminded = now
        if is_disk_full(exc):
            free = free_bytes(store.path)
            self.stats.blocked = "disk full"
            self.stats.error = (
                f"store full: cannot write to {store.path} ({exc}; "
                f"{'?' if free is None else f'{free:,}'} bytes free); reading paused, the"
                f" position kept, trying again in {self.retry_delay():g} s")
        else:
            self.stats.blocked = None
            self.stats.error = f"cannot store: {exc}"
        if self.failures == 1 or now - self.reminded >= REMIND_SECONDS:
            self.reminded = now
            log.error("%s: %s%s", self.cfg.name, self.stats.error,
                      "" if self.stats.blocked else
                      "; will re-read from the last saved position")
