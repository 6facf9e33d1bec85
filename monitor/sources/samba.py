"""Samba `vfs_full_audit` logs, in both forms Samba writes them.

Debug-log form (`full_audit:syslog = false`, `log level = 1 full_audit:1@FILE`):
    [2026/11/27 13:59:06.863317,  1] ../../source3/modules/vfs_full_audit.c:643(do_log)
      alice|127.0.0.1|alice-pc|clients|openat|ok|r|/srv/share/clients/acme/a.xlsx
The header carries the time (the host's local time, no zone: the config's
timezone is used); the indented line is the record. Samba indents every line of
a message, so a file name with a newline (possible from Linux or NFS, never from
Windows) continues the record on further indented lines: they are joined back
into one record, so the name is stored as it is and its second line cannot pass
for a record of its own (a header starts at column 0, Samba never writes one
indented). A record is complete at the next line that is not indented, or at the
end of what the tailer read (`end_of_batch`): Samba writes the lines of one
message in quick succession, and if a read falls between them, the rest becomes
a dead letter that says so.

Syslog form: `<syslog header> smbd_audit: <record>`; lines with another tag are
another program's and are skipped (counted as ignored), not dead letters.

Which records become which events is described in samba_access.py (grouping of
one file access) and in `_single` below (everything else).
"""

from __future__ import annotations

import pwd
import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from monitor.event import Event, ts_to_us, us_to_ts
from monitor.sources.base import LineParser, ParseOutput, ParserContext, SourceType
from monitor.sources.samba_access import GROUPED_OPS, LOOKUP_FAILURES, AccessGrouper, make_event
from monitor.sources.samba_record import (
    DEFAULT_PREFIX,
    Record,
    RecordError,
    path_arg,
    prefix_names,
    split_record,
    two_paths,
)
from monitor.sources.syslog import parse_syslog
from monitor.sources.tail import Line

_HEADER = re.compile(
    r"^\[(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)(?:\.(\d{1,6}))?,\s*\d+[^\]]*\]\s*(.*)$")
UNCHANGED_ID = "4294967295"  # (uid_t)-1: fchown left this one as it was

# failed op -> the action it was attempting
_ATTEMPT = {
    "openat": "open", "create_file": "open", "pread_send": "read", "pread_recv": "read",
    "pwrite_send": "write", "pwrite_recv": "write", "close": "close", "renameat": "rename",
    "unlinkat": "delete", "mkdirat": "mkdir", "fchmod": "changed-file-permissions-of",
    "fchown": "changed-file-ownership-of", "fset_nt_acl": "changed-file-acl-of",
    "fset_dos_attributes": "changed-file-attributes-of", "connect": "connect",
    "disconnect": "disconnect",
}


def _user_of(uid: str) -> str | None:
    try:
        return pwd.getpwuid(int(uid)).pw_name
    except (KeyError, ValueError, OverflowError):
        return None


class SambaParser:
    """LineParser for full_audit logs; see the module docstring."""

    def __init__(self, ctx: ParserContext) -> None:
        self.ctx = ctx
        self.tz: tzinfo = ctx.timezone
        self.form = str(ctx.options.get("format", "auto"))
        self.tag = str(ctx.options.get("tag", "smbd_audit"))
        self.names = prefix_names(str(ctx.options.get("prefix", DEFAULT_PREFIX)))
        self.grouper = AccessGrouper(ctx.source)
        # debug form: the header waiting for its record line (time, offset, is it ours)
        self.header: tuple[int, int, bool] | None = None
        # debug form: a record line that may continue on indented lines (a name with a
        # newline): its line, the texts so far, time, offset of its header
        self.body: tuple[Line, list[str], int, int] | None = None
        self.after_body = -1  # offset after the last line of the newest record line
        self.body_end = -1  # the same, once that record is complete
        self._seconds: dict[str, int] = {}

    # -- LineParser -------------------------------------------------------
    def feed(self, line: Line, out: ParseOutput) -> None:
        try:
            text = line.data.decode("utf-8")
        except UnicodeDecodeError:
            text = line.data.decode("utf-8", "replace")
            if text.count("\ufffd") > 4:
                self.header = None
                out.bad(line, "not UTF-8 text")
                return
        if "\x00" in text:
            self.header = None
            self.end_of_batch(out)
            out.bad(line, "contains NUL bytes")
            return
        if self.body is not None and text.startswith("  "):
            self.body[1].append(text[2:])  # the record goes on: a name with a newline
            self.after_body = line.offset + len(line.data) + 1
            return
        self.end_of_batch(out)
        if self.form != "syslog" and text.startswith("["):
            self._header(line, text, out)
        elif self.form != "syslog" and text.startswith((" ", "\t")) and self.header is not None:
            ts_us, offset, ours = self.header
            self.header = None
            if ours:
                self.body = (line, [text.lstrip()], ts_us, offset)
                self.after_body = line.offset + len(line.data) + 1
            else:
                out.ignored += 1
        elif self.form != "syslog" and text.startswith("  ") and self.body_end == line.offset:
            self.body_end = line.offset + len(line.data) + 1
            out.bad(line, "the rest of the record before it, read separately (a file name"
                    " with a newline): that record was stored up to the newline")
        elif self.form != "debug":
            self._syslog(line, text, out)
        else:
            out.bad(line, "expected a '[YYYY/MM/DD HH:MM:SS…]' header or an indented record")

    def end_of_batch(self, out: ParseOutput) -> None:
        """The lines read so far are all there is for now: a record line waiting for
        possible continuation lines is complete."""
        if self.body is None:
            return
        line, texts, ts_us, offset = self.body
        self.body, self.body_end = None, self.after_body
        self._record(line, "\n".join(texts).rstrip(), us_to_ts(ts_us), ts_us, offset, out)

    def flush(self, out: ParseOutput) -> None:
        self.end_of_batch(out)
        self.grouper.flush(out.events)

    def snapshot(self) -> Any:
        return {"access": self.grouper.snapshot(), "header": self.header}

    def restore(self, state: Any) -> None:
        state = state or {}
        self.grouper.restore(state.get("access"))
        header = state.get("header")
        self.header = (int(header[0]), int(header[1]), bool(header[2])) if header else None

    # -- line forms -------------------------------------------------------
    def _header(self, line: Line, text: str, out: ParseOutput) -> None:
        if self.header is not None and self.header[2]:
            out.bad(line, "previous header had no record line")  # counted, then go on
        m = _HEADER.match(text)
        if not m:
            self.header = None
            out.bad(line, "bad debug-log header")
            return
        second = self._second_us(m.group(1))
        if second is None:
            self.header = None
            out.bad(line, "impossible date in header")
            return
        micro = int((m.group(2) or "0").ljust(6, "0"))
        self.header = (second + micro, line.offset, m.group(3).endswith("(do_log)"))

    def _second_us(self, text: str) -> int | None:
        """µs since the epoch of a local `YYYY/MM/DD HH:MM:SS`; cached, since many
        records share their second and the timezone conversion is what costs."""
        found = self._seconds.get(text)
        if found is None:
            try:
                found = ts_to_us(datetime.strptime(text, "%Y/%m/%d %H:%M:%S").replace(
                    tzinfo=self.tz))
            except ValueError:
                return None
            if len(self._seconds) > 4096:
                self._seconds.clear()
            self._seconds[text] = found
        return found

    def _syslog(self, line: Line, text: str, out: ParseOutput) -> None:
        parsed = parse_syslog(text, self.tz, self.ctx.now())
        if parsed is None:
            out.bad(line, "not a syslog line nor a Samba debug-log record")
            return
        if parsed.tag != self.tag:
            out.ignored += 1
            return
        self._record(line, parsed.message.strip(), parsed.timestamp,
                     ts_to_us(parsed.timestamp), line.offset, out)

    def _record(self, line: Line, body: str, ts: datetime, ts_us: int, offset: int,
                out: ParseOutput) -> None:
        try:
            rec = split_record(body, self.names, ts, ts_us, offset, line.file_id)
            self.grouper.expire(ts_us, out.events)
            if (rec.op in GROUPED_OPS and (rec.ok or rec.op == "create_file")) or (
                    rec.op, rec.error) in LOOKUP_FAILURES:
                self._grouped(rec, out)
            else:
                out.events.append(self._single(rec, out))
        except RecordError as exc:
            out.bad(line, f"bad full_audit record: {exc}")

    def _grouped(self, rec: Record, out: ParseOutput) -> None:
        if rec.op == "create_file":
            path = path_arg(rec.args, fixed_before=3)
        elif rec.op == "openat":
            path = path_arg(rec.args, fixed_before=1)
        else:
            path = path_arg(rec.args)
        if len(path) > 1 and path.endswith("/"):
            if rec.op == "openat" and rec.ok:
                # Samba opens the share root (logged as `<share path>/`) at the start of
                # nearly every client request: its own look-up, not the client's act. As
                # an event it would be most of the log (a `stat` of the share root for
                # every action); the client's real look-ups of the root (`<share path>`,
                # a create_file) still are events.
                out.ignored += 1
                return
            path = path.rstrip("/")  # `clients/` and `clients` are one directory
        if self.grouper.is_rename_housekeeping(rec, path):
            return
        self.grouper.add(rec, path, out.events)

    def _single(self, rec: Record, out: ParseOutput) -> Event:
        """An event for a record that stands alone. A pending group on the same
        path ends here: folded into this event if it only opened the path."""
        p, grouper, op, args = rec.prefix, self.grouper, rec.op, rec.args
        extra: dict[str, Any] = {"samba.operation": op}
        if rec.error:
            extra["error.message"] = rec.error

        def ev(category: str, etype: str, action: str, *paths: str, **kw: Any) -> Event:
            """`paths` are the paths whose pending group this record ends."""
            folded: dict[str, int] = {}
            for path in paths:
                for name, n in grouper.take(rec.session, path, out.events).items():
                    folded[name] = folded.get(name, 0) + n
            if folded:
                extra["samba.operations"] = dict(sorted(folded.items()))
            return make_event(self.ctx.source, rec.file_id, rec.offset, rec.timestamp, p,
                              category=category, etype=etype, action=action,
                              outcome="success" if rec.ok else "failure", extra=extra, **kw)

        if op in ("connect", "disconnect"):
            if op == "disconnect":
                grouper.close_session(rec.session, out.events)
            if args and args[0] and not p.get("share"):
                p = {**p, "share": args[0]}
            return ev("session", "start" if op == "connect" else "end", op)
        if op == "renameat":
            old, new = two_paths(args)
            if rec.ok:
                grouper.note_rename(rec.session, new, rec.ts_us)
            return ev("file", "change", "rename", old, new, path=old, target=new)
        if op == "fchmod":
            path = path_arg(args, fixed_after=1)
            mode = args[-1].strip()
            # a permission change does not end the open it happens in (Samba sets
            # the create mode inside the creating open): no path is passed
            return ev("file", "change", "changed-file-permissions-of", path=path,
                      mode=mode[-4:].rjust(4, "0") if mode.isdigit() else None)
        if op == "fchown":
            path = path_arg(args, fixed_after=2)
            uid, gid = args[-2].strip(), args[-1].strip()
            if uid != UNCHANGED_ID:
                extra["file.uid"] = uid
            if gid != UNCHANGED_ID:
                extra["file.gid"] = gid
            return ev("file", "change", "changed-file-ownership-of", path=path,
                      owner=_user_of(uid) if uid != UNCHANGED_ID else None)
        if op == "fset_nt_acl":
            path, sddl = _split_sddl("|".join(args))
            if sddl:
                extra["samba.sddl"] = sddl
            return ev("file", "change", "changed-file-acl-of", path=path)
        if op == "create_file" and len(args) >= 4:
            path = path_arg(args, fixed_before=3)
            extra["samba.access_mask"], extra["samba.disposition"] = args[0], args[2]
            return ev("file", "access", "open", path, path=path,
                      file_type="dir" if args[1] == "dir" else "file")
        if op == "openat" and len(args) >= 2:
            path = path_arg(args, fixed_before=1)
            return ev("file", "access", "open", path, path=path)
        if not args:
            return ev("file", "info", _ATTEMPT.get(op, op))
        path = path_arg(args)
        if op == "unlinkat":
            return ev("file", "deletion", "delete", path, path=path)
        if op == "mkdirat":
            return ev("file", "creation", "mkdir", path, path=path, file_type="dir")
        return ev("file", "info", _ATTEMPT.get(op, op), path, path=path)


def _split_sddl(text: str) -> tuple[str, str | None]:
    """fset_nt_acl logs `PATH [SDDL]` when full_audit:log_secdesc is on."""
    if text.endswith("]"):
        cut = text.rfind(" [")
        if cut > 0:
            return text[:cut], text[cut + 2:-1]
    return text, None


def _check(options: Mapping[str, Any]) -> str | None:
    if str(options.get("format", "auto")) not in ("auto", "debug", "syslog"):
        return "format must be auto, debug or syslog"
    prefix = options.get("prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or "%" not in prefix:
        return "prefix must be the full_audit:prefix template, e.g. '%u|%I|%m|%S'"
    return None


def _make(ctx: ParserContext) -> LineParser:
    return SambaParser(ctx)


SOURCE = SourceType(name="samba", options=frozenset({"format", "prefix", "tag"}),
                    make_parser=_make, check_options=_check)
