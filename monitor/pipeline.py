"""Wires the daemon together: one SourceRunner thread per tailed source
(monitor/source_runner.py), the other sources' runners, the rule consumer and the
sinks, all on one store; file-change wake-ups, shutdown, health, and what the rules
need to know about the sources (`Daemon.lagging`)."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
from monitor.config import Config
from monitor.enrich import Enricher
from monitor.rules.consumer import Backlog, RuleConsumer
from monitor.rules.model import Rule
from monitor.sinks import SINKS
from monitor.sinks.base import SinkContext
from monitor.sinks.elasticsearch import keep_from_seq
from monitor.source_runner import SourceRunner
from monitor.sources import SOURCES
from monitor.sources.base import Runner, RunnerContext
from monitor.store import Store

log = logging.getLogger(__name__)


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
