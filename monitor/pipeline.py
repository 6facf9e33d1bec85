"""Wires sources → store (and, later, store → consumers); shutdown and acks.

Each source runs in its own thread with its own store connection: read lines,
parse, enrich, then commit events + dead letters + tail position + parser state
in one transaction. If the commit fails (disk full, database locked too long)
the runner rewinds its tailer and parser to the last committed state and tries
again later, so nothing is skipped.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from monitor import chain
from monitor.assignments.refresher import AssignmentRefresher
from monitor.config import Config, SourceConfig
from monitor.enrich import Enricher
from monitor.event import Event, ts_to_us, us_to_ts
from monitor.rules.consumer import Backlog, RuleConsumer
from monitor.rules.model import Rule
from monitor.sinks import SINKS
from monitor.sinks.base import SinkContext
from monitor.sinks.elasticsearch import keep_from_seq
from monitor.sources import SOURCES
from monitor.sources.base import (
    LineParser,
    ParseOutput,
    ParserContext,
    Runner,
    RunnerContext,
    SourceType,
)
from monitor.sources.tail import MAX_LINE, Line, Tailer
from monitor.store import Store
from monitor.store_writes import free_bytes, is_disk_full

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # safety net when no inotify wake-up arrives
IDLE_FLUSH_SECONDS = 2.0  # a quiet file releases the records a parser holds back
RETRY_SECONDS = 5.0
# a store that refuses writes (disk full) is retried sooner at first, then less often
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 1.0, 30.0
REMIND_SECONDS = 300.0  # a long stall is logged again this often, not on every retry


def make_parser(cfg: SourceConfig, config: Config, stype: SourceType | None = None,
                now: Callable[[], datetime] | None = None) -> LineParser:
    stype = stype or SOURCES[cfg.type]
    if stype.make_parser is None:
        raise ValueError(f"source type {cfg.type} does not read log lines")
    ctx = ParserContext(source=cfg.name, path=cfg.path, timezone=config.timezone,
                        options=cfg.options, now=now or (lambda: datetime.now(UTC)))
    return stype.make_parser(ctx)


def feed_lines(parser: LineParser, lines: list[Line], out: ParseOutput) -> None:
    """Parse lines; a line that breaks the parser is a dead letter, not a crash."""
    for line in lines:
        if line.too_long:
            out.bad(line, f"line longer than {MAX_LINE} bytes (cut for the dead-letter table)")
            continue
        try:
            parser.feed(line, out)
        except Exception as exc:  # a parser bug must not stop ingestion
            log.exception("%s: parser failed at offset %d", out.source, line.offset)
            out.bad(line, f"parser error: {type(exc).__name__}: {exc}")
    # a parser that joins lines into one record (Samba: a name with a newline) learns
    # that nothing more has been read for now
    end_of_batch = getattr(parser, "end_of_batch", None)
    if end_of_batch is not None:
        try:
            end_of_batch(out)
        except Exception as exc:
            log.exception("%s: parser failed at the end of a read", out.source)
            if lines:
                out.bad(lines[-1], f"parser error: {type(exc).__name__}: {exc}")


def parse_file(cfg: SourceConfig, config: Config, enrich: bool = True) -> Iterator[Event]:
    """Every event a static file yields, as the daemon would store them."""
    parser = make_parser(cfg, config)
    enricher = Enricher(config) if enrich else None
    tailer = Tailer(cfg.path)
    try:
        while True:
            lines = tailer.read_lines()
            out = ParseOutput(cfg.name, cfg.path)
            if not lines:
                parser.flush(out)
            feed_lines(parser, lines, out)
            for ev in out.events:
                yield enricher(ev) if enricher else ev
            if not lines:
                return
    finally:
        tailer.close()


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


class _Waker(FileSystemEventHandler):
    """Wakes the runner whose file (or a rotated sibling) changed."""

    def __init__(self, runners: list[SourceRunner]) -> None:
        self.by_name = {r.cfg.path: r for r in runners}

    def on_any_event(self, event: FileSystemEvent) -> None:
        for p in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(p) if p else ""
            for name, runner in self.by_name.items():
                if path.startswith(name):
                    runner.wake.set()


@dataclass
class Daemon:
    config: Config
    rules: list[Rule] = field(default_factory=list)
    runners: list[SourceRunner] = field(default_factory=list)
    stop_flag: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        Store(self.config.store.path).close()  # create the schema before threads race for it
        self.consumer = RuleConsumer(self.config.store.path, self.rules, self.config.lateness,
                                     self.stop_flag, self.config.max_future)
        sink_ctx = SinkContext(self.config, self.config.store.path, self.stop_flag)
        self.sinks: list[Runner] = [s for s in (make(sink_ctx) for make in SINKS)
                                    if s is not None]
        # assignments first: the last good copy and a first refresh, before any event
        self.assignments = AssignmentRefresher(self.config, self.config.store.path,
                                               self.stop_flag)
        self.assignments.start()
        enricher = Enricher(self.config, assignments=self.assignments.holder)
        tailed = [cfg for cfg in self.config.sources if SOURCES[cfg.type].make_parser]
        self.runners = [SourceRunner(cfg, self.config, enricher, self.stop_flag)
                        for cfg in tailed]
        store = Store(self.config.store.path)
        try:
            for tail_runner in self.runners:
                tail_runner.remember(store)
        finally:
            store.close()
        # a commit wakes the rules, new alerts wake the sinks: nothing waits for a poll
        for tail_runner in self.runners:
            tail_runner.stored = self.consumer.wake
        self.consumer.alerted = [w for w in (getattr(s, "wake", None) for s in self.sinks)
                                 if isinstance(w, threading.Event)]
        self.consumer.lagging = self.lagging
        self.wake = threading.Event()
        self.others: list[Runner] = []
        for cfg in self.config.sources:
            make_runner = SOURCES[cfg.type].make_runner
            if make_runner is not None:
                self.others.append(make_runner(RunnerContext(
                    self.config, cfg, self.config.store.path, enricher, self.stop_flag,
                    self.wake)))
        self.observer = Observer()
        waker = _Waker(self.runners)
        for directory in sorted({str(Path(cfg.path).parent) for cfg in tailed}):
            if os.path.isdir(directory):
                # only what changes a log; our own opens and reads must not wake us
                self.observer.schedule(waker, directory, recursive=False, event_filter=[
                    FileModifiedEvent, FileCreatedEvent, FileDeletedEvent, FileMovedEvent,
                    FileClosedEvent])
        self.observer.start()
        for runner in [*self.runners, *self.others, self.consumer, *self.sinks]:
            runner.start()
        log.info("wallwatch started: %d source(s), %d rule(s), store %s",
                 len(self.runners) + len(self.others), len(self.rules), self.config.store.path)

    def lagging(self) -> Backlog:
        """Datasets of the tailed sources that have unread lines (the rules wait for
        them), whether one of those has stored no event yet this run, and whether any
        source still has something on its way to the store."""
        datasets: set[str] = set()
        unknown = busy = False
        for runner in self.runners:
            if runner.ident is not None and not runner.is_alive():
                continue  # a stopped source sends nothing more (/healthz says so)
            busy = busy or runner.busy()
            if not runner.behind():
                continue
            datasets |= runner.stats.datasets
            unknown = unknown or not runner.stats.datasets
        return Backlog(frozenset(datasets), unknown, busy)

    def prune(self) -> int:
        store = Store(self.config.store.path)
        try:
            removed = store.prune(datetime.now(UTC) - self.config.store.retention,
                                  keep_from_seq=keep_from_seq(self.config, store))
            batch, head = chain.head(store.db)
        finally:
            store.close()
        # the chain head in the log: a copy outside the database to check it against
        log.info("chain head: batch %d %s", batch, head.hex())
        if removed:
            log.info("retention: removed %d events older than %s", removed,
                     self.config.store.retention)
        return removed

    def stop(self, timeout: float = 8.0) -> None:
        self.stop_flag.set()
        self.wake.set()
        self.assignments.wake.set()
        self.consumer.wake.set()
        for runner in self.runners:
            runner.wake.set()
        deadline = time.monotonic() + timeout
        for thread in [*self.runners, *self.others, self.consumer, *self.sinks,
                       self.assignments]:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.observer.stop()
        self.observer.join(2)
        log.info("wallwatch stopped; positions saved")

    def alive(self) -> bool:
        return all(r.is_alive() for r in [*self.runners, *self.others, self.consumer,
                                          *self.sinks])

    def health(self) -> tuple[bool, list[str]]:
        """Alive and storing? With the reasons when not (for /healthz and systemd)."""
        problems = []
        for runner in self.runners:
            if not runner.is_alive():
                problems.append(f"source {runner.cfg.name}: stopped")
            elif runner.stats.error:
                problems.append(f"source {runner.cfg.name}: {runner.stats.error}")
        for thread in [*self.others, self.consumer, *self.sinks]:
            if not thread.is_alive():
                problems.append(f"{getattr(thread, 'name', type(thread).__name__)}: stopped")
        if self.consumer.error:
            problems.append(f"rules: {self.consumer.error}")
        return not problems, problems

    def rules_lag(self) -> int:
        """Events stored but not yet evaluated."""
        store = Store(self.config.store.path)
        try:
            return max(0, store.head() - self.consumer.position)
        finally:
            store.close()

    def refresh_assignments(self) -> None:
        """Re-read staff–client assignments from their providers now (SIGHUP)."""
        self.assignments.refresh_now()

    def reload_rules(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.consumer.swap_rules(rules)
