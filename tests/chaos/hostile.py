"""Hostile input in numbers, for `make chaos`: every log parser fed byte-level
mutations of real lines (tests/test_fuzz_parsers.py does the same and asserts;
here the counts are kept for docs/RELIABILITY.md)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from monitor.sources import SOURCES
from monitor.sources.base import ParseOutput, ParserContext
from monitor.sources.reading import feed_lines
from monitor.sources.tail import Line
from monitor.store import dumps
from tests.test_fuzz_parsers import mutate, real_lines


@dataclass
class FuzzCount:
    parser: str
    lines: int
    mutated: int
    events: int
    dead: int  # kept in the dead-letter table, each with its reason and offset
    ignored: int  # well-formed lines of another program
    crashes: int  # lines that made the parser raise (caught, but a bug)
    unlocated: int  # dead letters without a reason or an offset
    seconds: float


def parsers() -> list[str]:
    return sorted(k for k, s in SOURCES.items() if s.make_parser)


def fuzz(kind: str, count: int) -> FuzzCount:
    started = time.monotonic()
    stype = SOURCES[kind]
    assert stype.make_parser is not None
    parser = stype.make_parser(ParserContext(kind, "/fuzz.log", UTC, {},
                                             lambda: datetime(2026, 11, 27, tzinfo=UTC)))
    seeds = real_lines(kind)
    rng = random.Random(f"chaos:{kind}")
    out = ParseOutput(kind, "/fuzz.log")
    offset = mutated = 0
    lines = []
    for _ in range(count):
        if rng.random() < 0.8:
            raw = mutate(rng, rng.choice(seeds))
            mutated += 1
        else:
            raw = rng.choice(seeds)
        lines.append(Line(offset, raw, "fz"))
        offset += len(raw) + 1
    for start in range(0, len(lines), 5000):
        feed_lines(parser, lines[start:start + 5000], out)
        orjson.loads(dumps(parser.snapshot()))  # held state survives the store's JSON
    parser.flush(out)
    for ev in out.events:  # everything that came out can be stored
        dumps(dict(ev.extra))
    return FuzzCount(
        kind, count, mutated, len(out.events), len(out.dead), out.ignored,
        crashes=sum(1 for d in out.dead if d.reason.startswith("parser error")),
        unlocated=sum(1 for d in out.dead if not d.reason or d.offset is None),
        seconds=time.monotonic() - started)


HEADER = ("| Parser | Lines | Mutated | Events | Dead letters (reason + offset) | Ignored |"
          " Parser crashes | Time | Run |\n|---|---:|---:|---:|---:|---:|---:|---:|---|")


def row(c: FuzzCount, run: str) -> str:
    return (f"| {c.parser} (`{c.parser}`) | {c.lines:,} | {c.mutated:,} | {c.events:,} |"
            f" {c.dead:,}{'' if not c.unlocated else f' ({c.unlocated} without a location)'} |"
            f" {c.ignored:,} | {c.crashes} | {c.seconds:.0f} s | {run} |")
