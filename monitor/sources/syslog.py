"""Syslog line headers, in the two forms rsyslog and journald write.

RFC 3339:  `2026-11-27T13:57:15.145339+08:00 host tag[pid]: message`
BSD:       `Nov 27 13:57:15 host tag[pid]: message` (no year, no zone: the
           firm's timezone is assumed and the year is the one that puts the
           time not in the future, so December lines read in January are last year's)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

_RFC3339 = re.compile(
    r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) (\S+) ([^\s\[:]+)"
    r"(?:\[(\d+)\])?: ?(.*)$", re.S)
_BSD = re.compile(
    r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? (\S+) ([^\s\[:]+)"
    r"(?:\[(\d+)\])?: ?(.*)$", re.S)
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


@dataclass(frozen=True, slots=True)
class SyslogLine:
    timestamp: datetime  # aware
    host: str
    tag: str
    pid: int | None
    message: str


def parse_syslog(text: str, tz: tzinfo, now: datetime) -> SyslogLine | None:
    """The parts of a syslog line, or None when it is not one."""
    m = _RFC3339.match(text)
    if m:
        stamp = m.group(1).replace(" ", "T", 1)
        try:
            ts = datetime.fromisoformat(stamp)
        except ValueError:
            return None
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=tz)
        pid = m.group(4)
        return SyslogLine(ts, m.group(2), m.group(3), int(pid) if pid else None, m.group(5))
    m = _BSD.match(text)
    if not m:
        return None
    month = _MONTHS.get(m.group(1))
    if month is None:
        return None
    micro = int((m.group(6) or "0")[:6].ljust(6, "0"))
    local_now = now.astimezone(tz)
    try:
        ts = datetime(local_now.year, month, int(m.group(2)), int(m.group(3)), int(m.group(4)),
                      int(m.group(5)), micro, tzinfo=tz)
    except ValueError:  # 29 Feb in a non-leap year: it was last (leap) year's
        try:
            ts = datetime(local_now.year - 1, month, int(m.group(2)), int(m.group(3)),
                          int(m.group(4)), int(m.group(5)), micro, tzinfo=tz)
        except ValueError:
            return None
    if ts - local_now > timedelta(days=2):
        try:
            ts = ts.replace(year=ts.year - 1)
        except ValueError:  # 29 Feb read on 1 Jan of a leap year: last year had none
            return None
    pid = m.group(9)
    return SyslogLine(ts, m.group(7), m.group(8), int(pid) if pid else None, m.group(10))
