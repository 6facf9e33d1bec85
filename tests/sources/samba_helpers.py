"""Run the Samba parser over lines or files, the way the pipeline does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.event import Event
from monitor.sources.base import ParseOutput, ParserContext
from monitor.sources.samba import SambaParser
from monitor.sources.tail import Line, Tailer

DATA = Path(__file__).resolve().parent.parent / "data" / "samba"
SAMPLE_ROOT = "/tmp/wallwatch-samples/srv/share/clients"  # where make_samples.py ran smbd


def parser(**options: Any) -> SambaParser:
    opts = {"prefix": "%u|%I|%m|%S", **options}
    return SambaParser(ParserContext("samba", "/x.log", UTC, opts,
                                     lambda: datetime(2026, 11, 27, tzinfo=UTC)))


def run_lines(p: SambaParser, lines: list[bytes], flush: bool = True) -> ParseOutput:
    out = ParseOutput("samba", "/x.log")
    offset = 0
    for data in lines:
        p.feed(Line(offset, data, "fp"), out)
        offset += len(data) + 1
    p.end_of_batch(out)  # as the pipeline does after each read
    if flush:
        p.flush(out)
    return out


def run_file(path: Path, **options: Any) -> ParseOutput:
    p = parser(**options)
    tailer = Tailer(str(path))
    out = ParseOutput("samba", str(path))
    while lines := tailer.read_lines():
        for line in lines:
            p.feed(line, out)
        p.end_of_batch(out)
    p.flush(out)
    tailer.close()
    return out


def debug_record(body: str, when: str = "2026/11/02 10:00:00.000001") -> list[bytes]:
    return [f"[{when},  1] ../../source3/modules/vfs_full_audit.c:643(do_log)".encode(),
            f"  {body}".encode()]


def by_action(events: list[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for ev in events:
        out.setdefault(ev.action, []).append(ev)
    return out
