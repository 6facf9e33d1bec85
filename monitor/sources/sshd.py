"""OpenSSH sshd and its PAM lines: logins, failed logins, sessions, disconnects.

Three line forms, told apart line by line (one file may even mix them):
- syslog, RFC 3339 (`2026-11-27T14:15:12.963039+00:00 fs01 sshd[13]: …`, rsyslog's
  file format) or classic BSD (`Nov 27 14:15:12 fs01 sshd[13]: …`; no year: the
  year that puts the line not in the future, so December lines read in January
  are last year's);
- `journalctl -o json`: one JSON object per line; `__REALTIME_TIMESTAMP` (µs),
  `SYSLOG_IDENTIFIER`, `_PID`, `MESSAGE` (a string, or a list of byte values when
  it is not UTF-8), `_HOSTNAME`.
Lines of other programs are counted as ignored; so are sshd's lines that say
nothing about authentication ("Server listening …"). Lines that are neither
syslog nor journal JSON, and sshd authentication lines that do not parse, are
dead letters.

The `program` option names the syslog tag (default `sshd`; OpenSSH 9.8+ logs as
`sshd-session`, and a configured `sshd` accepts that too). What is recognised
is in sshd_messages.py; how the several lines of one failed attempt become one
event is in sshd_attempts.py. Events (dataset `system.auth`):
- `ssh_login`: category authentication, type start, outcome success/failure;
- `ssh_session`: PAM session opened/closed: category session, type start/end;
- `ssh_disconnect`: a connection closed (`Connection closed by … user …`,
  `Disconnected from … user …`, `Received disconnect from …`): category session,
  type end, outcome unknown (a close is neither);
- `ssh_max_auth_tries_exceeded`: sshd cut a connection after MaxAuthTries
  failures: category session, type end, outcome failure. Its failed attempts are
  already events of their own; this one is the verdict on the connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

import orjson

from monitor.event import Event, event_id, ts_to_us, us_to_ts
from monitor.sources.base import LineParser, ParseOutput, ParserContext, SourceType
from monitor.sources.sshd_attempts import AttemptTracker, Origin, login_event
from monitor.sources.sshd_messages import Garbled, SshMessage, classify
from monitor.sources.syslog import parse_syslog
from monitor.sources.tail import Line

# OpenSSH 9.8 split the per-connection part into sshd-session (10.0 adds sshd-auth,
# whose messages sshd-session logs); they are still "sshd" for the admin
SPLIT_BINARIES = ("sshd-session", "sshd-auth")
# journalctl's own notes in its text outputs, not log lines
_JOURNAL_NOTES = ("-- ",)
MAX_US = 253_402_300_800_000_000  # year 10000


def programs(option: Any) -> frozenset[str]:
    names = [option] if isinstance(option, str) else list(option or ["sshd"])
    out = set(map(str, names))
    if "sshd" in out:
        out.update(SPLIT_BINARIES)
    return frozenset(out)


class SshdParser:
    """LineParser for sshd's authentication lines; see the module docstring."""

    def __init__(self, ctx: ParserContext) -> None:
        self.ctx = ctx
        self.tz: tzinfo = ctx.timezone
        self.programs = programs(ctx.options.get("program", "sshd"))
        self.attempts = AttemptTracker(ctx.source)

    # -- LineParser -------------------------------------------------------
    def feed(self, line: Line, out: ParseOutput) -> None:
        text = _text(line, out)
        if text is None:
            return
        if text.startswith("{"):
            parsed = self._journal(line, text, out)
        else:
            parsed = self._syslog(line, text, out)
        if parsed is None:
            return
        origin, message = parsed
        self.attempts.expire(origin.ts_us, out.events)  # every line moves event time on
        if origin.program not in self.programs:
            out.ignored += 1
            return
        try:
            msg = classify(message)
        except Garbled as exc:
            out.bad(line, f"garbled sshd line: {exc}")
            return
        if msg is None:
            out.ignored += 1
            return
        self._message(origin, msg, out.events)

    def flush(self, out: ParseOutput) -> None:
        self.attempts.expire(ts_to_us(self.ctx.now()), out.events)

    def snapshot(self) -> Any:
        return {"pending": self.attempts.snapshot()}

    def restore(self, state: Any) -> None:
        self.attempts.restore((state or {}).get("pending"))

    # -- envelopes ----------------------------------------------------------
    def _syslog(self, line: Line, text: str, out: ParseOutput) -> tuple[Origin, str] | None:
        if text.startswith(_JOURNAL_NOTES) or not text.strip():
            out.ignored += 1
            return None
        try:
            parsed = parse_syslog(text, self.tz, self.ctx.now())
        except ValueError:  # a BSD 29 Feb that no recent year had
            parsed = None
        if parsed is None:
            out.bad(line, "not a syslog line nor a journalctl JSON record")
            return None
        return (Origin(line.file_id, line.offset, ts_to_us(parsed.timestamp), parsed.host,
                       parsed.tag, _pid(parsed.pid)), parsed.message)

    def _journal(self, line: Line, text: str, out: ParseOutput) -> tuple[Origin, str] | None:
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError:
            out.bad(line, "not valid JSON (expected one journalctl -o json record per line)")
            return None
        if not isinstance(record, dict):
            out.bad(line, "journal record is not a JSON object")
            return None
        realtime = record.get("__REALTIME_TIMESTAMP")
        message = _journal_text(record.get("MESSAGE"))
        if not isinstance(realtime, str | int) or not str(realtime).isdigit() or message is None:
            out.bad(line, "journal record without __REALTIME_TIMESTAMP or MESSAGE")
            return None
        ts_us = int(realtime)
        if not 0 < ts_us < MAX_US:
            out.bad(line, "journal timestamp out of range")
            return None
        tag = record.get("SYSLOG_IDENTIFIER") or record.get("_COMM") or ""
        pid_text = str(record.get("_PID") or record.get("SYSLOG_PID") or "")
        pid = _pid(int(pid_text)) if pid_text.isdigit() and len(pid_text) < 12 else None
        host = record.get("_HOSTNAME")
        return (Origin(line.file_id, line.offset, ts_us, str(host) if host else None,
                       str(tag), pid), message)

    # -- messages -------------------------------------------------------------
    def _message(self, origin: Origin, msg: SshMessage, out: list[Event]) -> None:
        attempts, source = self.attempts, self.ctx.source
        if msg.kind in ("invalid", "pam_failure", "pam_error"):
            attempts.opening(origin, msg, out)
            return
        if msg.kind == "failed":
            attempts.failed(origin, msg, out)
            return
        attempts.release_pid(origin.pid, out, msg)  # this connection's attempt is over
        if msg.kind == "accepted":
            out.append(login_event(source, origin, msg, "success"))
        elif msg.kind in ("session_open", "session_close"):
            out.append(_event(source, origin, msg, "session",
                              "start" if msg.kind == "session_open" else "end",
                              "ssh_session", "success"))
        elif msg.kind == "max_tries":
            out.append(_event(source, origin, msg, "session", "end",
                              "ssh_max_auth_tries_exceeded", "failure"))
        else:
            out.append(_event(source, origin, msg, "session", "end", "ssh_disconnect",
                              "unknown"))


def _event(source: str, origin: Origin, msg: SshMessage, category: str, etype: str,
           action: str, outcome: str) -> Event:
    extra: dict[str, Any] = {"process.name": origin.program, **msg.fields}
    if origin.pid is not None:
        extra["process.pid"] = origin.pid
    if msg.invalid_user:
        extra["system.auth.ssh.invalid_user"] = True
    if msg.preauth:
        extra["system.auth.ssh.preauth"] = True
    return Event(id=event_id(source, origin.file_id, origin.offset),
                 timestamp=us_to_ts(origin.ts_us), dataset="system.auth", category=category,
                 type=etype, action=action, outcome=outcome, user_name=msg.user or None,
                 source_ip=msg.ip, source_port=msg.port, host_name=origin.host,
                 log_offset=origin.offset, extra=extra)


def _pid(pid: int | None) -> int | None:
    """A pid as Linux has them; a garbled huge one would not even store (JSON ints are
    64-bit), and pairs no lines."""
    return pid if pid is not None and pid < 2**31 else None


def _text(line: Line, out: ParseOutput) -> str | None:
    try:
        text = line.data.decode("utf-8")
    except UnicodeDecodeError:
        text = line.data.decode("utf-8", "replace")
        if text.count("\ufffd") > 4:  # a stray byte in a user name is fine; binary is not
            out.bad(line, "not UTF-8 text")
            return None
    if "\x00" in text:
        out.bad(line, "contains NUL bytes")
        return None
    return text


def _journal_text(value: Any) -> str | None:
    """journalctl prints MESSAGE as a list of byte values when it is not valid UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    return None


def _check(options: Mapping[str, Any]) -> str | None:
    program = options.get("program", "sshd")
    names = [program] if isinstance(program, str) else program
    if not isinstance(names, list) or not names or not all(
            isinstance(n, str) and n and not any(c.isspace() for c in n) for n in names):
        return "program must be a syslog tag (e.g. sshd) or a list of them"
    return None


def _make(ctx: ParserContext) -> LineParser:
    return SshdParser(ctx)


SOURCE = SourceType(name="sshd", options=frozenset({"program"}), make_parser=_make,
                    check_options=_check)
