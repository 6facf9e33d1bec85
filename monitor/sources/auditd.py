"""Linux audit logs (source type `auditd`): auditd's own file, RAW or ENRICHED, or
audit records that came through syslog.

Each line is one record (auditd_records.py); the records of one event are joined
(auditd_join.py) and become one ECS event (auditd_event.py, tables in
auditd_map.py), with paths made absolute (auditd_paths.py). The event's id comes
from the offset of its first line, so re-reading a file gives the same ids.

Lines through syslog: `<header> audisp-syslog: type=… msg=audit(…): …` (also
the older `audispd:` tag and `node=HOST type=…`), and the kernel's own
`kernel: [  12.345] audit: type=1400 audit(…): …` when no auditd runs. rsyslog
escapes the ENRICHED separator 0x1D as `#035`; it is turned back. Lines of other
programs in a shared syslog file are counted as ignored, not dead letters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from monitor.sources.auditd_event import build_event
from monitor.sources.auditd_join import LAG_RECORDS, Joiner, Pending
from monitor.sources.auditd_paths import InodePaths
from monitor.sources.auditd_records import GS, NoTimestamp, RecordError, parse_record
from monitor.sources.base import LineParser, ParseOutput, ParserContext, SourceType
from monitor.sources.syslog import parse_syslog
from monitor.sources.tail import Line

SYSLOG_TAGS = frozenset({"audispd", "audisp-syslog", "audisp", "auditd", "audit", "kernel"})
_KERNEL_PREFIX = re.compile(r"^(?:\[\s*\d+\.\d+\]\s*)?(?:audit:\s*)?")
_ESCAPED_GS = re.compile(r"#035(?=[A-Z_]+=)")


class AuditdParser:
    """LineParser for audit logs; see the module docstring."""

    def __init__(self, ctx: ParserContext) -> None:
        self.ctx = ctx
        self.joiner = Joiner(int(ctx.options.get("lag", LAG_RECORDS)))
        self.paths = InodePaths()

    # -- LineParser -------------------------------------------------------
    def feed(self, line: Line, out: ParseOutput) -> None:
        text = line.data.decode("utf-8", "replace").rstrip("\r\n")
        if text.count("\ufffd") > 4 and "msg=audit(" not in text:
            out.bad(line, "not UTF-8 text")
            return
        if "\x00" in text:
            out.bad(line, "contains NUL bytes")
            return
        if not text.strip():
            out.ignored += 1
            return
        unwrapped = self._unwrap(text)
        if unwrapped is None:
            out.bad(line, "not an audit record (type=… msg=audit(…)) nor a syslog line")
            return
        body, host = unwrapped
        if body is None:  # another program's syslog line
            out.ignored += 1
            return
        try:
            rec = parse_record(body)
        except NoTimestamp:
            # `type=UNKNOWN[1329] msg=?`: auditd's placeholder for a record it could not
            # stamp; with no time and serial there is nothing to join or place in time
            out.ignored += 1
            return
        except RecordError as exc:
            out.bad(line, f"bad audit record: {exc}")
            return
        done, used = self.joiner.add(rec, line.file_id, line.offset, host)
        if not used:
            out.ignored += 1  # an EOE whose event was already complete
        self._emit(done, out)

    def flush(self, out: ParseOutput) -> None:
        self._emit(self.joiner.flush(), out)

    def snapshot(self) -> Any:
        return {"join": self.joiner.snapshot(), "inodes": self.paths.snapshot()}

    def restore(self, state: Any) -> None:
        state = state or {}
        self.joiner.restore(state.get("join"))
        self.paths.restore(state.get("inodes"))

    # -- helpers ----------------------------------------------------------
    def _emit(self, done: list[Pending], out: ParseOutput) -> None:
        for p in done:
            try:
                out.events.append(build_event(self.ctx.source, p.file_id, p.offset,
                                              p.records, self.paths, p.host))
            except Exception as exc:  # a mapping bug must not lose the other events
                first = Line(p.offset, p.records[0].text.encode(), p.file_id)
                out.bad(first, f"cannot build the event: {type(exc).__name__}: {exc}")

    def _unwrap(self, text: str) -> tuple[str | None, str | None] | None:
        """(record text, syslog host); (None, None) for another program's line;
        None when the line is neither an audit record nor a syslog line."""
        if text.startswith(("type=", "node=")):
            return text, None
        parsed = parse_syslog(text, self.ctx.timezone, self.ctx.now())
        if parsed is None:
            return None
        if parsed.tag not in SYSLOG_TAGS:
            return None, None
        body = _KERNEL_PREFIX.sub("", parsed.message.strip(), count=1)
        if not body.startswith(("type=", "node=")):
            return None, None  # a kernel or auditd message that is not a record
        if GS not in body:
            body = _ESCAPED_GS.sub(GS, body, count=1)
        return body, parsed.host


def _check(options: Mapping[str, Any]) -> str | None:
    lag = options.get("lag", LAG_RECORDS)
    if not isinstance(lag, int) or isinstance(lag, bool) or not 1 <= lag <= 10_000:
        return "lag must be a number of records between 1 and 10000"
    return None


def _make(ctx: ParserContext) -> LineParser:
    return AuditdParser(ctx)


SOURCE = SourceType(name="auditd", options=frozenset({"lag"}), make_parser=_make,
                    check_options=_check)
