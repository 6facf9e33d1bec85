"""Reading a log file's lines into events: the parser for a source, feeding it lines
(a line that breaks a parser is a dead letter, never a crash), and a whole static
file as the daemon would store it (backtests, doctor, tests)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from monitor.config import Config, SourceConfig
from monitor.enrich import Enricher
from monitor.event import Event
from monitor.sources import SOURCES
from monitor.sources.base import LineParser, ParseOutput, ParserContext, SourceType
from monitor.sources.tail import MAX_LINE, Line, Tailer

log = logging.getLogger(__name__)


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
