"""Hostile input to every log parser: byte-level mutations of real lines. No
parser raises, and every line is accounted for (event, dead letter, ignored or
held back for the next line). The count comes from WALLWATCH_FUZZ_LINES:
`make chaos` runs 100k per parser; `make test` a quicker share."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from monitor.sources import SOURCES
from monitor.sources.base import ParseOutput, ParserContext
from monitor.sources.reading import feed_lines
from monitor.sources.tail import Line
from monitor.store import dumps

LINES = int(os.environ.get("WALLWATCH_FUZZ_LINES", "20000"))
DATA = Path(__file__).resolve().parent / "data"


def real_lines(kind: str) -> list[bytes]:
    files = {
        "samba": [DATA / "samba" / "debug_audit.log", DATA / "samba" / "syslog_audit.log"],
        "samba_auth": [DATA / "samba" / "auth.log"],
        "auditd": [DATA / "auditd" / "raw.log", DATA / "auditd" / "enriched.log"],
        "winlog": [DATA / "windows" / "otrf_selected_security_events.jsonl"],
        "sshd": [],
    }[kind]
    out = [line for f in files if f.exists() for line in f.read_bytes().split(b"\n") if line]
    if kind == "sshd":
        out = [b"Nov  2 10:00:01 fs01 sshd[811]: Failed password for root from 203.0.113.9 "
               b"port 52211 ssh2",
               b"2026-11-02T10:00:02+08:00 fs01 sshd[811]: Accepted publickey for alice from "
               b"10.0.0.5 port 50122 ssh2: ED25519 SHA256:AbCdEf",
               b'{"__REALTIME_TIMESTAMP":"1793600000000000","SYSLOG_IDENTIFIER":"sshd",'
               b'"_PID":"9","MESSAGE":"Invalid user bob from 203.0.113.7 port 4"}']
    return out


def mutate(rng: random.Random, line: bytes) -> bytes:
    data = bytearray(line)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        pos = rng.randrange(len(data) + 1)
        if op < 0.3 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op < 0.5:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op < 0.7:
            del data[pos:pos + rng.randint(1, 20)]
        elif op < 0.8:
            data[pos:pos] = rng.choice([b"|", b"\x00", b"\xff\xfe", "发票".encode(), b"[",
                                        b"  ", b'"', b"{", b"}", b"9" * 30, b"%", b"\\"])
        else:
            cut = rng.randrange(len(data) + 1)
            data = data[:cut]
    return bytes(data).replace(b"\n", b" ")


@pytest.mark.parametrize("kind", sorted(k for k, s in SOURCES.items() if s.make_parser))
def test_mutated_real_lines_never_crash_a_parser_and_are_all_accounted_for(kind: str) -> None:
    stype = SOURCES[kind]
    assert stype.make_parser is not None
    parser = stype.make_parser(ParserContext(kind, "/fuzz.log", UTC, {},
                                             lambda: datetime(2026, 11, 27, tzinfo=UTC)))
    seeds = real_lines(kind)
    assert seeds, f"no real lines to mutate for {kind}"
    rng = random.Random(kind)
    out = ParseOutput(kind, "/fuzz.log")
    offset = 0
    lines = []
    for _ in range(LINES):
        raw = mutate(rng, rng.choice(seeds)) if rng.random() < 0.8 else rng.choice(seeds)
        lines.append(Line(offset, raw, "fz"))
        offset += len(raw) + 1
    for start in range(0, len(lines), 5000):
        chunk = lines[start:start + 5000]
        feed_lines(parser, chunk, out)
        orjson.loads(dumps(parser.snapshot()))  # held state survives the store's JSON
    parser.flush(out)
    crashes = [d for d in out.dead if d.reason.startswith("parser error")]
    assert crashes == [], crashes[:3]
    assert out.events, "some mutated lines are still good ones"
    assert all(d.reason and d.offset is not None for d in out.dead)
    for ev in out.events:  # everything that came out can be stored
        dumps(dict(ev.extra))
