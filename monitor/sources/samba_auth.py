"""Samba's authentication audit: every SMB logon, successful or not (failed logons
never reach vfs_full_audit). Enabled with
    log level = 1 auth_audit:3@FILE auth_json_audit:3@FILE
(successes are logged at level 3, failures at 2). Per logon Samba writes a debug
header, the human-readable `Auth:` line and, from the JSON class, a JSON line
without a header of its own (see samba_auth_record.py for both):
    [2026/11/27 14:06:20.483951,  2] ../../auth/auth_log.c:647(log_authentication_event_…)
      Auth: [SMB2,(null)] user []\\[bob] at [… UTC] with [NTLMv2] status [NT_STATUS_WRONG_…] …
      {"timestamp": "2026-11-27T14:06:20.484106+0000", "type": "Authentication", …}
With `logging = syslog` each of those lines is its own syslog message of
`smbd[PID]:`, and lines of concurrent smbd processes interleave.

One logon is ONE event (action `smb_login`, category authentication, type start,
outcome from the NT status). Pairing, per stream (the file; or per host and pid
in syslog form, so that interleaved processes do not mix):
- an `Auth:` line is held until the next line of its stream;
- a JSON line that agrees with the held `Auth:` line (same status, account and
  remote address) replaces it: the event is built from the JSON (it has more:
  event id, logon type, duration, SIDs) and takes the id and offset of the
  record's first line (the header, else the `Auth:` line);
- an `Auth:` line that no agreeing JSON follows (JSON class off, or another
  logon's JSON) is an event of its own; so is a JSON line with no `Auth:` line.
So the result depends only on the order of the lines, and each logon yields one
event whether one or both classes are enabled. `flush()` releases a held `Auth:`
line: Samba writes the JSON line right after it, never seconds later.
Lines of other debug classes and other smbd messages are ignored; records of
other JSON types (Authorization, password changes) are ignored too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import orjson

from monitor.event import Event, ts_to_us, us_to_ts
from monitor.sources.base import LineParser, ParseOutput, ParserContext, SourceType
from monitor.sources.samba_auth_record import (
    Logon,
    RecordError,
    logon_event,
    parse_human,
    parse_json,
)
from monitor.sources.syslog import parse_syslog
from monitor.sources.tail import Line

_HEADER = re.compile(
    r"\[(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?,\s*\d+[^\]]*\]\s*(.*)")
_LOCATION = re.compile(r"\S+:\d+\(\w+\)")  # ../../auth/auth_log.c:647(function)
DEFAULT_TAGS = ("smbd", "samba")
MAX_STREAMS = 10_000
FILE_STREAM = ""


@dataclass
class _Held:
    """The first line of a record, and its `Auth:` line while it waits for the JSON."""

    file_id: str
    offset: int
    claimed: bool = False  # a record already took this header
    human: dict[str, Any] | None = None  # Logon as JSON-able data


class SambaAuthParser:
    """LineParser for auth_audit / auth_json_audit lines; see the module docstring."""

    def __init__(self, ctx: ParserContext) -> None:
        self.ctx = ctx
        self.tz: tzinfo = ctx.timezone
        tags = ctx.options.get("tag", list(DEFAULT_TAGS))
        self.tags = frozenset([tags] if isinstance(tags, str) else map(str, tags))
        self.streams: dict[str, _Held] = {}

    # -- LineParser -------------------------------------------------------
    def feed(self, line: Line, out: ParseOutput) -> None:
        try:
            text = line.data.decode("utf-8")
        except UnicodeDecodeError:
            out.bad(line, "not UTF-8 text")
            return
        if "\x00" in text:
            out.bad(line, "contains NUL bytes")
            return
        if text.startswith("["):
            self._header(FILE_STREAM, line, text, out)
        elif text.startswith((" ", "\t", "{")):
            self._content(FILE_STREAM, line, text.strip(), out)
        elif not text.strip():
            out.ignored += 1
        else:
            self._syslog(line, text, out)

    def flush(self, out: ParseOutput) -> None:
        for stream in list(self.streams):
            self._release(stream, out.events)

    def snapshot(self) -> Any:
        return {key: [h.file_id, h.offset, h.claimed, h.human] for key, h in self.streams.items()}

    def restore(self, state: Any) -> None:
        self.streams = {str(key): _Held(str(v[0]), int(v[1]), bool(v[2]), v[3])
                        for key, v in (state or {}).items()}

    # -- line forms ---------------------------------------------------------
    def _syslog(self, line: Line, text: str, out: ParseOutput) -> None:
        try:
            parsed = parse_syslog(text, self.tz, self.ctx.now())
        except ValueError:  # a BSD 29 Feb that no recent year had
            parsed = None
        if parsed is None:
            out.bad(line, "not a Samba debug-log line nor a syslog line")
            return
        if parsed.tag not in self.tags:
            out.ignored += 1
            return
        stream = f"{parsed.host}|{parsed.pid}"
        body = parsed.message.strip()
        if body.startswith("["):
            self._header(stream, line, body, out)
        else:
            self._content(stream, line, body, out)

    def _header(self, stream: str, line: Line, text: str, out: ParseOutput) -> None:
        self._release(stream, out.events)
        m = _HEADER.fullmatch(text)
        if m is None:
            out.bad(line, "bad debug-log header")
            return
        # the events take their time from the records (which carry a zone); the
        # header's (local time, no zone) is only checked
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        try:
            datetime(y, mo, d, h, mi, s)
        except ValueError:
            out.bad(line, "impossible date in debug-log header")
            return
        self._hold(stream, _Held(line.file_id, line.offset), out.events)
        rest = m.group(8).strip()
        if rest and not _LOCATION.fullmatch(rest):
            # `debug prefix timestamp = yes`: the message is on the header's line
            self._content(stream, line, rest, out)

    def _content(self, stream: str, line: Line, body: str, out: ParseOutput) -> None:
        if body.startswith("Auth:"):
            self._human(stream, line, body, out)
        elif body.startswith("{"):
            self._json(stream, line, body, out)
        else:
            out.ignored += 1  # another debug message (other class, AuthZ line, smbd noise)

    def _human(self, stream: str, line: Line, body: str, out: ParseOutput) -> None:
        held = self.streams.get(stream)
        if held is not None and held.human is not None:
            self._release(stream, out.events)  # two Auth: lines in a row: no JSON came
            held = None
        try:
            logon = parse_human(body, self.tz)
        except RecordError as exc:
            out.bad(line, f"bad Samba 'Auth:' line: {exc}")
            return
        if held is None or held.claimed:
            held = _Held(line.file_id, line.offset)
            self._hold(stream, held, out.events)
        held.claimed = True
        held.human = {"ts": ts_to_us(logon.timestamp), "fields": logon.fields}

    def _json(self, stream: str, line: Line, body: str, out: ParseOutput) -> None:
        try:
            logon = parse_json(orjson.loads(body))
        except orjson.JSONDecodeError:
            out.bad(line, "not valid JSON")
            return
        except RecordError as exc:
            out.bad(line, f"bad Samba JSON authentication record: {exc}")
            return
        if logon is None:
            out.ignored += 1
            return
        held = self.streams.get(stream)
        first: tuple[str, int] = (line.file_id, line.offset)
        lines = 1
        if held is not None and held.human is not None:
            if _human(held).key == logon.key:
                first, lines = (held.file_id, held.offset), 2
                held.human = None
            else:  # another logon's Auth: line: both are events
                self._release(stream, out.events)
        elif held is not None and not held.claimed:
            first, held.claimed = (held.file_id, held.offset), True
        out.events.append(logon_event(self.ctx.source, first[0], first[1], logon, lines))

    # -- held state -----------------------------------------------------------
    def _hold(self, stream: str, held: _Held, out: list[Event]) -> None:
        self.streams.pop(stream, None)
        self.streams[stream] = held  # newest last, so the oldest is dropped first
        while len(self.streams) > MAX_STREAMS:
            self._release(next(iter(self.streams)), out)

    def _release(self, stream: str, out: list[Event]) -> None:
        """Emit the stream's held `Auth:` line as an event of its own; forget the
        stream (a later content line without a header stands alone)."""
        held = self.streams.pop(stream, None)
        if held is not None and held.human is not None:
            out.append(logon_event(self.ctx.source, held.file_id, held.offset, _human(held), 1))


def _human(held: _Held) -> Logon:
    assert held.human is not None
    return Logon(us_to_ts(int(held.human["ts"])), dict(held.human["fields"]), "text")


def _check(options: Mapping[str, Any]) -> str | None:
    tag = options.get("tag", list(DEFAULT_TAGS))
    tags = [tag] if isinstance(tag, str) else tag
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t for t in tags):
        return "tag must be a syslog tag (e.g. smbd) or a list of them"
    return None


def _make(ctx: ParserContext) -> LineParser:
    return SambaAuthParser(ctx)


SOURCE = SourceType(name="samba_auth", options=frozenset({"tag"}), make_parser=_make,
                    check_options=_check)
