"""Run the rules over old logs or over the store, exactly as the live daemon would.

Files are parsed by the same parsers as live (the source whose `path` is the
file, or `--type`), enriched the same way, merged in event-time order and fed
to a fresh engine with the configured lateness. So the alerts (and their ids)
are those a live run over the same events gives.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from monitor.config import Config, SourceConfig
from monitor.errors import WallwatchError
from monitor.event import Alert, Event, ts_to_us
from monitor.rules.engine import RuleEngine
from monitor.rules.model import Rule
from monitor.sources import SOURCES
from monitor.sources.reading import parse_file
from monitor.store import EVENT_SELECT, Store, row_to_event


def source_for(path: str, config: Config, kind: str | None) -> SourceConfig:
    full = str(Path(path).resolve())
    for src in config.sources:
        if str(Path(src.path).resolve()) == full:
            return src if kind is None else replace(src, type=kind)
    if kind is None:
        raise WallwatchError(f"{path} is not a configured source: say which format with --type",
                             "<command line>")
    if kind not in SOURCES:
        raise WallwatchError(f"unknown source type {kind!r}", "<command line>")
    options = next((s.options for s in config.sources if s.type == kind), {})
    return SourceConfig(f"{kind}:{full}", kind, full, options)


def file_events(paths: list[str], config: Config, kind: str | None) -> Iterator[Event]:
    streams = [parse_file(source_for(p, config, kind), config) for p in paths]
    keyed = [((ts_to_us(ev.timestamp), ev.id, ev) for ev in stream) for stream in streams]
    for _, _, ev in heapq.merge(*keyed, key=lambda item: (item[0], item[1])):
        yield ev


def store_events(config: Config, since: datetime | None, until: datetime | None
                 ) -> Iterator[Event]:
    store = Store(config.store.path)
    try:
        where, params = [], []
        if since is not None:
            where.append("e.ts >= ?")
            params.append(ts_to_us(since))
        if until is not None:
            where.append("e.ts < ?")
            params.append(ts_to_us(until))
        sql = EVENT_SELECT + (" WHERE " + " AND ".join(where) if where else "") + \
            " ORDER BY e.seq"
        for row in store.query(sql, params):
            yield row_to_event(row)
    finally:
        store.close()


def backtest(events: Iterator[Event], rules: list[Rule], config: Config,
             since: datetime | None = None, until: datetime | None = None,
             progress: Callable[[int], None] | None = None) -> list[Alert]:
    engine = RuleEngine(rules, config.lateness, config.max_future)
    alerts: list[Alert] = []
    for n, ev in enumerate(events, 1):
        if (since is not None and ev.timestamp < since) or (until is not None and
                                                             ev.timestamp >= until):
            continue
        alerts.extend(engine.process(ev))
        if progress is not None and n % 10_000 == 0:
            progress(n)
    alerts.extend(engine.flush())
    return alerts


def format_alert(alert: Alert, config: Config) -> str:
    when = alert.timestamp.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M:%S")
    who = " ".join(f"{k}={v}" for k, v in alert.group)
    return (f"{when}  [{alert.severity}] {alert.rule_id}  {who}  count={alert.count}"
            f"  id={alert.id}")


def print_progress(n: int) -> None:
    sys.stderr.write(f"\r{n:,} events evaluated")
    sys.stderr.flush()
