"""Run the auditd parser over lines or files, the way the pipeline does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.event import Event
from monitor.sources.auditd import AuditdParser
from monitor.sources.base import ParseOutput, ParserContext
from monitor.sources.tail import Line, Tailer

DATA = Path(__file__).resolve().parent.parent / "data" / "auditd"
CORPUS = Path("/work/shared/corpus/auditd")
SAMPLE_TREE = "/tmp/wallwatch-samples/auditd/srv/clients"  # where make_samples.py worked


def parser(**options: Any) -> AuditdParser:
    return AuditdParser(ParserContext("audit", "/x.log", UTC, options,
                                      lambda: datetime(2026, 11, 27, tzinfo=UTC)))


def lines_of(path: Path) -> list[bytes]:
    """A file's lines as the tailer sees them (ENRICHED's 0x1D is not a line end)."""
    return path.read_bytes().split(b"\n")[:-1]


def run_lines(p: AuditdParser, lines: list[bytes], flush: bool = True,
              start: int = 0) -> ParseOutput:
    out = ParseOutput("audit", "/x.log")
    offset = start
    for data in lines:
        p.feed(Line(offset, data, "fp"), out)
        offset += len(data) + 1
    if flush:
        p.flush(out)
    return out


def run_file(path: Path, **options: Any) -> ParseOutput:
    p = parser(**options)
    tailer = Tailer(str(path))
    out = ParseOutput("audit", str(path))
    while lines := tailer.read_lines():
        for line in lines:
            p.feed(line, out)
    p.flush(out)
    tailer.close()
    return out


def one(lines: list[str], **options: Any) -> Event:
    """The single event some record lines make."""
    out = run_lines(parser(**options), [t.encode() for t in lines])
    assert out.dead == [], [d.reason for d in out.dead]
    [event] = out.events
    return event


def syscall(serial: int, name: str, number: int, *, args: tuple[str, ...] = ("0", "0", "0", "0"),
            success: str = "yes", exit_code: str = "0", uid: str = "0", items: int = 1,
            key: str = '"k"', enriched: str = "", t: str = "1700000000.100") -> str:
    a = " ".join(f"a{i}={v}" for i, v in enumerate(args))
    return (f"type=SYSCALL msg=audit({t}:{serial}): arch=c000003e syscall={number} "
            f"success={success} exit={exit_code} {a} items={items} ppid=1 pid=4242 "
            f"auid=1000 uid={uid} gid={uid} euid={uid} suid={uid} fsuid={uid} egid={uid} "
            f"sgid={uid} fsgid={uid} tty=pts0 ses=3 comm=\"prog\" exe=\"/usr/bin/prog\" "
            f"key={key}" + (f"\x1d{enriched}" if enriched else ""))


def cwd(serial: int, path: str, t: str = "1700000000.100") -> str:
    return f'type=CWD msg=audit({t}:{serial}): cwd="{path}"'


def path_rec(serial: int, item: int, name: str, nametype: str = "NORMAL", inode: int = 100,
             mode: str = "0100644", ouid: str = "0", t: str = "1700000000.100") -> str:
    name_field = name if name == "(null)" else f'"{name}"'
    return (f"type=PATH msg=audit({t}:{serial}): item={item} name={name_field} inode={inode} "
            f"dev=fe:00 mode={mode} ouid={ouid} ogid=0 rdev=00:00 nametype={nametype}")


def eoe(serial: int, t: str = "1700000000.100") -> str:
    return f"type=EOE msg=audit({t}:{serial}): "


def summary(events: list[Event]) -> list[tuple[Any, ...]]:
    return [(e.category, e.type, e.action, e.outcome, e.user_name, e.file_path,
             e.file_target_path, e.file_mode) for e in events]
