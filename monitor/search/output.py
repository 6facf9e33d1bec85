"""How `wallwatch search` shows events: an aligned table or JSON lines.

File names come from whoever created the files, so they may hold terminal
escape sequences or bidirectional overrides that would rewrite what a responder
sees. The table shows every control and format character as a `\\x..`,
`\\u....` escape; JSON escapes C0 controls itself and we escape C1 ones too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import tzinfo

from monitor.event import Event

HEADER = ("TIME", "USER", "ACTION", "OUTCOME", "CLIENT", "ASSIGNED", "PATH", "SOURCE.IP")
_GAP = "  "
_C1 = re.compile("[\x7f-\x9f]")


def _safe(text: str) -> str:
    """`text` with characters that could steer a terminal written as escapes."""
    out = []
    for c in text:
        category = unicodedata.category(c)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: wide East Asian characters take two,
    combining marks none."""
    width = 0
    for c in text:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me"):
            continue
        width += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _flag(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def _row(event: Event, tz: tzinfo) -> tuple[str, ...]:
    path = event.file_path or "-"
    if event.file_target_path:
        path = f"{path} → {event.file_target_path}"
    return tuple(_safe(cell) for cell in (
        event.timestamp.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
        event.user_name or "-",
        event.action,
        event.outcome,
        event.client or "-",
        _flag(event.assigned),
        path,
        event.source_ip or "-",
    ))


def format_table(events: Sequence[Event], tz: tzinfo) -> str:
    """Events as an aligned table, times in `tz`; one line per event after a
    header, no trailing spaces, ending with a newline. No events: ""."""
    if not events:
        return ""
    rows = [HEADER, *(_row(e, tz) for e in events)]
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for row in rows:
        cells = [_pad(cell, widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append(_GAP.join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def format_json_lines(events: Sequence[Event]) -> str:
    """Events as ECS documents, one JSON object per line (UTF-8 text kept)."""
    lines = (json.dumps(e.to_ecs(), ensure_ascii=False, sort_keys=True, default=str)
             for e in events)
    return "".join(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", line) + "\n" for line in lines)
