"""What every line-based source provides: a parser from log lines to Events.

A parser may hold records back (to join a Samba open with its reads, or the
records of one auditd event); `snapshot()` returns that pending state as plain
JSON-able data, which the pipeline stores in the same transaction as the tail
position, and `restore()` takes it back after a restart. Bad lines become
DeadLetters with a reason, never exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

from monitor.event import Event, event_id
from monitor.sources.tail import Line
from monitor.store import DeadLetter


@dataclass
class ParseOutput:
    source: str
    file: str
    events: list[Event] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    ignored: int = 0  # lines that are fine but not ours (another program's syslog lines)

    def bad(self, line: Line, reason: str) -> None:
        self.dead.append(DeadLetter(
            id=event_id("dead", self.source, line.file_id, line.offset),
            source=self.source, file=self.file, offset=line.offset, reason=reason,
            line=line.data))


@dataclass(frozen=True)
class ParserContext:
    source: str  # the source's configured name: part of every event id
    path: str
    timezone: tzinfo  # for timestamps written without an offset
    options: Mapping[str, Any]
    now: Callable[[], datetime]  # for syslog timestamps written without a year


class LineParser(Protocol):
    def feed(self, line: Line, out: ParseOutput) -> None: ...

    def flush(self, out: ParseOutput) -> None:
        """Emit whatever is held back; called when the file has gone quiet."""

    def snapshot(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


class Runner(Protocol):
    """A source that is not a tailed log file (e.g. the filesystem watcher) runs as
    its own thread; the daemon starts it, sets `stop` to end it, and reads `stats`."""

    def start(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool: ...


@dataclass
class RunnerContext:
    """What a non-tailing source runner gets from the daemon."""

    config: Any  # monitor.config.Config
    source: Any  # monitor.config.SourceConfig
    store_path: str
    enrich: Callable[[Event], Event]
    stop: Any  # threading.Event: set when the daemon stops
    wake: Any  # threading.Event: set on stop so a waiting runner wakes at once


@dataclass(frozen=True)
class SourceType:
    name: str
    options: frozenset[str]  # keys a config entry of this type may use besides type/path/name
    make_parser: Callable[[ParserContext], LineParser] | None = None  # tailed log sources
    # returns what is wrong with a config entry's options, or None
    check_options: Callable[[Mapping[str, Any]], str | None] = lambda options: None
    make_runner: Callable[[RunnerContext], Runner] | None = None  # sources that are not logs
