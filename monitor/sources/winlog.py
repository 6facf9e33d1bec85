"""Windows Security-channel events as JSON lines (source type `winlog`).

Files written by Winlogbeat (file output), by EVTX-to-JSON converters, or by
collectors that export flat JSON (NXLog + Logstash, OTRF/Mordor datasets); see
winlog_shape.py for the shapes and where each native field is kept.

What each event becomes (dataset `windows.security`):
- 4624 / 4625 logon: authentication/start, `logged-in` / `logon-failed`, user =
  TargetUserName, source.ip = IpAddress, `winlog.logon.type`, and for failures
  the Status / SubStatus / FailureReason decoded (`winlog.logon.failure.*`).
- 4663 object access (and 4656, its handle request): file.path = ObjectName for
  files, `registry.path` for keys; the access mask decoded (winlog_tables.py).
- 4670 permissions changed: a file's ACL change (`changed-file-acl-of`, as the
  Samba source names the same operation) or `permissions-changed` in `iam`;
  the old and new SDDL stay in event data, `wallwatch.widened` says whether the
  new DACL opened the object to a broad principal (winlog_sddl.py).
- 5140 share connect: session/start `connect`, like Samba's connect.
- 5145 share object access check: the requested access decoded, file.path =
  the share's local path + RelativeTargetName.
- any other id: an event too, categorised from a table (or host/info), with
  all its fields: it is never a dead letter.
Paths are written with `/` (`C:/Clients/acme/a.xlsx`) because the rest of
Wallwatch (client patterns, file.name / file.directory) splits paths on `/`;
the native fields keep Windows' own spelling.

Events from other channels are counted as ignored, unless the `channels`
option lists them (or is `"*"`). The rendered `Message` text (kilobytes per
event, a rendering of the data we keep) is dropped unless `keep_message: true`.
The parser holds nothing back between lines: snapshot() is None.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from monitor.event import Event, event_id
from monitor.sources.base import LineParser, ParseOutput, ParserContext, SourceType
from monitor.sources.tail import Line
from monitor.sources.winlog_sddl import SddlError, owner, sections, widened_to
from monitor.sources.winlog_shape import ShapeError, WinRecord, parse_document
from monitor.sources.winlog_tables import (
    EVENT_KINDS,
    LOGON_STATUS,
    LOGON_TYPES,
    decode_access_list,
    decode_mask,
    describe_failure_reason,
    parse_mask,
    verb,
)

AUDIT_SUCCESS = 1 << 53  # Keywords bits of the Security log
AUDIT_FAILURE = 1 << 52
LOGON_USER_IDS = frozenset({4624, 4625, 4634, 4647, 4648, 4768, 4769, 4771, 4776, 4778, 4779})
_NT_PREFIX = re.compile(r"^\\(?:\?\?|\?|\.)\\")  # \??\C:\ , \\?\C:\ , \\.\


class WinlogParser:
    """LineParser for Windows event JSON lines; see the module docstring."""

    def __init__(self, ctx: ParserContext) -> None:
        self.ctx = ctx
        channels = ctx.options.get("channels", ["Security"])
        self.channels: frozenset[str] | None = (
            None if channels == "*" else frozenset(str(c).lower() for c in channels))
        self.keep_message = bool(ctx.options.get("keep_message", False))

    def feed(self, line: Line, out: ParseOutput) -> None:
        try:
            text = line.data.decode("utf-8")
        except UnicodeDecodeError:
            out.bad(line, "not UTF-8 text")
            return
        text = text.removeprefix("\ufeff")  # PowerShell writes a BOM
        if not text.strip():
            out.ignored += 1
            return
        try:
            rec = parse_document(text, self.ctx.timezone)
        except ShapeError as exc:
            out.bad(line, str(exc))
            return
        if (self.channels is not None and rec.channel is not None
                and rec.channel.lower() not in self.channels):
            out.ignored += 1
            return
        out.events.append(self._event(rec, line))

    def flush(self, out: ParseOutput) -> None:
        """Nothing is held back."""

    def snapshot(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        """Stateless: nothing to take back."""

    def _event(self, rec: WinRecord, line: Line) -> Event:
        extra = dict(rec.extra)
        extra["winlog.event_id"] = rec.event_id
        extra["event.code"] = str(rec.event_id)
        if rec.channel is not None:
            extra["winlog.channel"] = rec.channel
        if self.keep_message and rec.message:
            extra["message"] = rec.message
        fields = build(rec, extra)
        channel = (rec.channel or "Security").lower()
        dataset = "windows.security" if channel == "security" else \
            "windows." + re.sub(r"[^a-z0-9]+", "-", channel).strip("-")
        return Event(id=event_id(self.ctx.source, line.file_id, line.offset),
                     timestamp=rec.timestamp, dataset=dataset, host_name=rec.computer,
                     log_offset=line.offset, extra=extra, **fields)


def build(rec: WinRecord, extra: dict[str, Any]) -> dict[str, Any]:
    """The Event fields of one record; fills `extra` with what it decodes."""
    d, eid = rec.data, rec.event_id
    failed = _audit_failure(rec)
    _process(d, extra)
    if eid in (4624, 4625):
        return _logon(rec, extra)
    if eid in (4656, 4663):
        return _object_access(d, extra, failed)
    if eid == 4670:
        return _permissions_changed(d, extra, failed)
    if eid in (5140, 5145):
        return _share_access(rec, extra, failed)
    category, etype, action = EVENT_KINDS.get(eid, ("host", "info", f"windows-event-{eid}"))
    if eid == 5143:
        _widening(d.get("OldSD"), d.get("NewSD"), extra)
    first, second = ("TargetUserName", "SubjectUserName") if eid in LOGON_USER_IDS else \
        ("SubjectUserName", "TargetUserName")
    user = _name(d.get(first)) or _name(d.get(second))
    _user_details(d, extra, "Target" if first == "TargetUserName" else "Subject")
    return {"category": category, "type": etype, "action": action,
            "outcome": "failure" if failed else "success", "user_name": user,
            "source_ip": _ip(d.get("IpAddress")) or _ip(d.get("ClientAddress")),
            "source_port": _port(d.get("IpPort"))}


def _logon(rec: WinRecord, extra: dict[str, Any]) -> dict[str, Any]:
    d = rec.data
    failed = rec.event_id == 4625
    logon_type = str(d.get("LogonType", "")).strip()
    if logon_type in LOGON_TYPES:
        extra["winlog.logon.type"] = LOGON_TYPES[logon_type]
    logon_id = _name(d.get("TargetLogonId"))
    if logon_id:
        extra["winlog.logon.id"] = logon_id
    if failed:
        reasons = []
        for field, key in (("Status", "status"), ("SubStatus", "sub_status")):
            code = parse_mask(d.get(field))
            if code is not None and code in LOGON_STATUS:
                extra[f"winlog.logon.failure.{key}"] = LOGON_STATUS[code]
                reasons.append(LOGON_STATUS[code])
        reason = describe_failure_reason(d.get("FailureReason"))
        if reason:
            extra["winlog.logon.failure.reason"] = reason
        # the sub-status is the precise cause; the status and FailureReason are coarser
        best = reasons[::-1] + ([reason] if reason else [])
        if best:
            extra["event.reason"] = best[0]
    _user_details(d, extra, "Target")
    return {"category": "authentication", "type": "start",
            "action": "logon-failed" if failed else "logged-in",
            "outcome": "failure" if failed else "success",
            "user_name": _name(d.get("TargetUserName")), "source_ip": _ip(d.get("IpAddress")),
            "source_port": _port(d.get("IpPort"))}


def _object_access(d: Mapping[str, Any], extra: dict[str, Any], failed: bool) -> dict[str, Any]:
    object_type = _name(d.get("ObjectType")) or "File"
    names = _access(d, extra, object_type)
    is_file = object_type.lower() in ("file", "directory")
    action, etype = verb(names, is_file)
    path = _name(d.get("ObjectName"))
    fields: dict[str, Any] = {"category": "file", "type": etype, "action": action,
                              "outcome": "failure" if failed else "success"}
    if is_file:
        fields["file_path"] = windows_path(path)
    elif object_type.lower() == "key":
        fields["category"] = "registry"
        if path:
            extra["registry.path"] = path
    else:
        fields["category"] = "host"
    _user_details(d, extra, "Subject")
    fields["user_name"] = _name(d.get("SubjectUserName"))
    return fields


def _permissions_changed(d: Mapping[str, Any], extra: dict[str, Any],
                         failed: bool) -> dict[str, Any]:
    object_type = (_name(d.get("ObjectType")) or "").lower()
    old_sd, new_sd = d.get("OldSd"), d.get("NewSd")
    _widening(old_sd, new_sd, extra)
    new_owner = None
    owner_changed = False
    try:
        if isinstance(new_sd, str) and isinstance(old_sd, str):
            new_owner = owner(new_sd)
            owner_changed = new_owner is not None and new_owner != owner(old_sd)
    except SddlError:
        pass
    _user_details(d, extra, "Subject")
    fields: dict[str, Any] = {"type": "change", "outcome": "failure" if failed else "success",
                              "user_name": _name(d.get("SubjectUserName"))}
    if object_type in ("file", "directory"):
        dacl_same = _dacl(old_sd) == _dacl(new_sd)
        action = "changed-file-ownership-of" if owner_changed and dacl_same \
            else "changed-file-acl-of"
        fields.update(category="file", action=action,
                      file_path=windows_path(_name(d.get("ObjectName"))),
                      file_owner=new_owner if owner_changed else None)
    else:
        fields.update(category="iam", action="permissions-changed")
    return fields


def _share_access(rec: WinRecord, extra: dict[str, Any], failed: bool) -> dict[str, Any]:
    d = rec.data
    share_name = _name(d.get("ShareName"))
    short = share_name.rstrip("\\").rsplit("\\", 1)[-1] if share_name else None
    _user_details(d, extra, "Subject")
    fields: dict[str, Any] = {
        "outcome": "failure" if failed else "success", "share": short or None,
        "user_name": _name(d.get("SubjectUserName")), "source_ip": _ip(d.get("IpAddress")),
        "source_port": _port(d.get("IpPort"))}
    names = _access(d, extra, _name(d.get("ObjectType")) or "File")
    if rec.event_id == 5140:
        fields.update(category="session", type="start", action="connect")
        return fields
    action, etype = verb(names, True)
    root = windows_path(_name(d.get("ShareLocalPath")))
    target = _name(d.get("RelativeTargetName"))
    path = None
    if root:  # IPC$ has no local path: its targets are named pipes, not files
        relative = windows_path(target) if target else ""
        path = root.rstrip("/") + "/" + relative.lstrip("/") if relative else root
    fields.update(category="file", type=etype, action=action, file_path=path)
    return fields


def _access(d: Mapping[str, Any], extra: dict[str, Any], object_type: str) -> list[str]:
    """Decode AccessMask (authoritative) or else AccessList; returns our right names."""
    list_text, list_rights = decode_access_list(d.get("AccessList"))
    if list_text:
        extra["winlog.event_data.AccessListDescription"] = list_text
    mask = parse_mask(d.get("AccessMask"))
    rights = decode_mask(mask, object_type) if mask is not None else list_rights
    if mask is not None:
        extra["winlog.event_data.AccessMaskDescription"] = [r[1] for r in rights]
    names = [r[2] for r in rights]
    if names:
        extra["wallwatch.access"] = names
    return names


def _widening(old_sd: Any, new_sd: Any, extra: dict[str, Any]) -> None:
    principals = widened_to(old_sd, new_sd)
    if principals is not None:
        extra["wallwatch.widened"] = bool(principals)
        if principals:
            extra["wallwatch.widened_to"] = principals


def _dacl(sddl: Any) -> str | None:
    try:
        return sections(sddl).get("D") if isinstance(sddl, str) else None
    except SddlError:
        return None


def _audit_failure(rec: WinRecord) -> bool:
    """Keywords as an int (signed or not), a hex string or Winlogbeat's names; NXLog's EventType."""
    if rec.event_type:
        return rec.event_type.upper() == "AUDIT_FAILURE"
    kw = rec.keywords
    if isinstance(kw, list):
        return any(str(k).strip().lower() == "audit failure" for k in kw)
    mask = kw if isinstance(kw, int) and not isinstance(kw, bool) else None
    if isinstance(kw, str):
        try:
            mask = int(kw.strip(), 16 if kw.strip().lower().startswith("0x") else 10)
        except ValueError:
            mask = None
    return mask is not None and bool(mask & AUDIT_FAILURE) and not mask & AUDIT_SUCCESS


def _user_details(d: Mapping[str, Any], extra: dict[str, Any], who: str) -> None:
    for field, key in ((f"{who}DomainName", "user.domain"), (f"{who}UserSid", "user.id")):
        value = _name(d.get(field))
        if value and value != "S-1-0-0":  # the NULL SID: no account
            extra[key] = value


def _process(d: Mapping[str, Any], extra: dict[str, Any]) -> None:
    exe = _name(d.get("ProcessName") or d.get("NewProcessName"))
    if exe:
        extra["process.executable"] = exe
    pid = parse_mask(d.get("ProcessId") or d.get("NewProcessId"))
    if pid:
        extra["process.pid"] = pid


def windows_path(path: str | None) -> str | None:
    r"""`\??\C:\Share\a.xlsx` -> `C:/Share/a.xlsx`."""
    if not path:
        return None
    return _NT_PREFIX.sub("", path).replace("\\", "/") or None


def _name(value: Any) -> str | None:
    """A field's text; Windows writes `-` for "none"."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return None if text in ("", "-") else text


def _ip(value: Any) -> str | None:
    text = _name(value)
    if not text:
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return str(addr.ipv4_mapped)  # 4768/4769 write ::ffff:10.0.0.5
    return str(addr)


def _port(value: Any) -> int | None:
    text = _name(value)
    if text is None or not (text.isascii() and text.isdigit()):
        return None
    port = int(text)
    return port if 0 < port < 65536 else None


def _check(options: Mapping[str, Any]) -> str | None:
    channels = options.get("channels", ["Security"])
    if channels != "*" and (not isinstance(channels, list) or not channels
                            or not all(isinstance(c, str) and c for c in channels)):
        return "channels must be a list of channel names (e.g. [Security]) or \"*\""
    if not isinstance(options.get("keep_message", False), bool):
        return "keep_message must be true or false"
    return None


def _make(ctx: ParserContext) -> LineParser:
    return WinlogParser(ctx)


SOURCE = SourceType(name="winlog", options=frozenset({"channels", "keep_message"}),
                    make_parser=_make, check_options=_check)
