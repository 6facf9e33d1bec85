"""One Samba logon record, from either of the two lines Samba writes for it.

The human-readable line (debug class `auth_audit`; note the trailing space):
    Auth: [SMB2,(null)] user []\\[bob] at [Fri, 27 Nov 2026 14:06:20.483916 UTC] with [NTLMv2]
    status [NT_STATUS_WRONG_PASSWORD] workstation [BOB-PC] remote host [ipv4:127.0.0.1:33850]
    mapped to []\\[bob]. local host [ipv4:127.0.0.1:44917]
(a success says `became [DOMAIN]\\[user] [SID].` instead of `mapped to …`), and
the JSON line (class `auth_json_audit`, Windows-style event ids 4624/4625):
    {"timestamp": "2026-11-27T14:06:20.484106+0000", "type": "Authentication",
     "Authentication": {"eventId": 4625, "status": "NT_STATUS_WRONG_PASSWORD",
     "remoteAddress": "ipv4:127.0.0.1:33850", "clientAccount": "bob", …}}
Both become a `Logon`: the same fields under Samba's JSON names, so that one
event builder serves both and the pairing in samba_auth.py can compare them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from monitor.event import Event, event_id

STATUS_OK = "NT_STATUS_OK"

_HUMAN = re.compile(
    r"Auth: \[(?P<service>[^,\]]*),(?P<desc>[^\]]*)\] user \[(?P<domain>[^\]]*)\]\\"
    r"\[(?P<user>[^\]]*)\] at \[(?P<at>[^\]]*)\] with \[(?P<method>[^\]]*)\] "
    r"status \[(?P<status>[^\]]*)\] workstation \[(?P<ws>[^\]]*)\] "
    r"remote host \[(?P<remote>[^\]]*)\] "
    r"(?:became \[(?P<bdomain>[^\]]*)\]\\\[(?P<baccount>[^\]]*)\] \[(?P<bsid>[^\]]*)\]"
    r"|mapped to \[(?P<mdomain>[^\]]*)\]\\\[(?P<maccount>[^\]]*)\])\."
    r"\s*local host \[(?P<local>[^\]]*)\]\s*"
    # only when the logon came through NETLOGON (a member server or DC)
    r"(?:NETLOGON computer \[(?P<ncomputer>[^\]]*)\] trust account \[(?P<naccount>[^\]]*)\]\s*)?")
_AT = re.compile(
    r"\w{3}, (\d{1,2}) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?: (\S+))?")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_NULLS = ("", "(null)")


class RecordError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Logon:
    timestamp: datetime
    fields: dict[str, Any]  # Samba's JSON names: status, clientAccount, remoteAddress, …
    kind: str  # "json" or "text": which line it came from

    @property
    def key(self) -> tuple[Any, ...]:
        """What both lines of one logon agree on."""
        f = self.fields
        return (f.get("status"), f.get("clientAccount") or None, f.get("remoteAddress"))


def parse_human(text: str, tz: tzinfo) -> Logon:
    m = _HUMAN.fullmatch(text.strip() + " ")
    if m is None:
        raise RecordError("'Auth:' line does not have Samba's layout")
    g = m.groupdict()
    fields: dict[str, Any] = {
        "status": g["status"], "clientAccount": g["user"], "clientDomain": g["domain"],
        "remoteAddress": g["remote"], "localAddress": g["local"], "workstation": g["ws"],
        "serviceDescription": g["service"], "authDescription": _null(g["desc"]),
        "passwordType": _null(g["method"]),
        "eventId": 4624 if g["status"] == STATUS_OK else 4625,
    }
    for name, group in (("becameAccount", "baccount"), ("becameDomain", "bdomain"),
                        ("becameSid", "bsid"), ("mappedAccount", "maccount"),
                        ("mappedDomain", "mdomain"), ("netlogonComputer", "ncomputer"),
                        ("netlogonTrustAccount", "naccount")):
        if g[group] is not None:
            fields[name] = g[group]
    return Logon(_at(g["at"], tz), fields, "text")


def parse_json(record: Any) -> Logon | None:
    """The logon in a JSON audit record; None for the other record types Samba
    writes to the same classes (Authorization, password changes, …)."""
    if not isinstance(record, dict) or record.get("type") != "Authentication":
        return None
    body = record.get("Authentication")
    if not isinstance(body, dict):
        raise RecordError("'Authentication' is not an object")
    if not isinstance(body.get("status"), str) or not body["status"]:
        raise RecordError("no status")
    stamp = record.get("timestamp")
    try:
        ts = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        ts = None
    if ts is None or ts.tzinfo is None:
        raise RecordError("no timestamp with a UTC offset")
    return Logon(ts, dict(body), "json")


def _at(text: str, tz: tzinfo) -> datetime:
    """`Fri, 27 Nov 2026 14:06:20.483916 UTC`: local time and its zone's abbreviation,
    which is ambiguous (CST) unless UTC/GMT; otherwise the configured zone."""
    m = _AT.fullmatch(text.strip())
    month = _MONTHS.get(m.group(2)) if m else None
    if m is None or month is None:
        raise RecordError(f"bad time {text!r}")
    zone = UTC if m.group(8) in ("UTC", "GMT") else tz
    try:
        return datetime(int(m.group(3)), month, int(m.group(1)), int(m.group(4)),
                        int(m.group(5)), int(m.group(6)),
                        int((m.group(7) or "0").ljust(6, "0")), tzinfo=zone)
    except ValueError as exc:
        raise RecordError(f"impossible time {text!r}") from exc


def _null(value: str) -> str | None:
    return None if value in _NULLS else value


def split_address(text: Any) -> tuple[str | None, int | None]:
    """`ipv4:127.0.0.1:55784` / `ipv6:::1:445` / `ipv6:[::1]:445` → (ip, port)."""
    if not isinstance(text, str) or ":" not in text:
        return None, None
    family, _, rest = text.partition(":")
    if family not in ("ipv4", "ipv6"):
        return None, None
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    try:
        ip = str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None, None
    return ip, int(port) if port.isdigit() and int(port) <= 65535 else None


# Samba JSON name -> our extra field
_EXTRA = {
    "status": "samba.auth.status", "eventId": "samba.auth.event_id",
    "logonType": "samba.auth.logon_type", "logonId": "samba.auth.logon_id",
    "workstation": "samba.auth.workstation", "clientDomain": "samba.auth.domain",
    "passwordType": "samba.auth.method", "serviceDescription": "samba.auth.service",
    "authDescription": "samba.auth.description", "localAddress": "samba.auth.local_address",
    "becameAccount": "samba.auth.became_account", "becameDomain": "samba.auth.became_domain",
    "becameSid": "samba.auth.became_sid", "mappedAccount": "samba.auth.mapped_account",
    "mappedDomain": "samba.auth.mapped_domain", "duration": "samba.auth.duration_us",
    "netlogonComputer": "samba.auth.netlogon_computer",
    "netlogonTrustAccount": "samba.auth.netlogon_trust_account",
}


def logon_event(source: str, file_id: str, offset: int, logon: Logon, lines: int) -> Event:
    f = logon.fields
    ip, port = split_address(f.get("remoteAddress"))
    extra: dict[str, Any] = {}
    for name, key in _EXTRA.items():
        value = f.get(name)
        if value not in (None, ""):
            extra[key] = value if isinstance(value, str | int | float | bool) else str(value)
    if "samba.auth.event_id" in extra:
        extra["event.code"] = str(extra["samba.auth.event_id"])
    if f.get("clientDomain"):
        extra["user.domain"] = f["clientDomain"]
    extra["samba.auth.record"] = "json+text" if lines > 1 else logon.kind
    user = f.get("clientAccount") or f.get("mappedAccount") or f.get("becameAccount")
    status = f.get("status")
    return Event(id=event_id(source, file_id, offset), timestamp=logon.timestamp,
                 dataset="samba.auth", category="authentication", type="start",
                 action="smb_login", outcome="success" if status == STATUS_OK else "failure",
                 user_name=str(user) if user else None, source_ip=ip, source_port=port,
                 log_offset=offset, extra=extra)
