"""What one sshd (or sshd's PAM) message says, without its syslog/journal envelope.

`classify(text)` returns a `SshMessage` for the messages that matter for
authentication, None for everything else sshd says ("Server listening", kex
errors, PAM's session noise), and raises `Garbled` for a message that starts
like one of ours but does not parse (a cut or corrupted line): that is a dead
letter, not something to skip silently.

The forms, as OpenSSH 9.2 with Linux-PAM writes them at LogLevel INFO (the
tests hold real lines):
    Accepted METHOD for USER from IP port N ssh2[: KEYTYPE SHA256:FP]
    Failed METHOD for [invalid user ]USER from IP port N ssh2
    Invalid user USER from IP port N
    pam_unix(sshd:auth): authentication failure; logname= … rhost=IP  user=USER
    error: PAM: Authentication failure for [illegal user ]USER from HOST
    error: maximum authentication attempts exceeded for [invalid user ]USER from IP port N ssh2
        [preauth]
    Connection closed|reset by [authenticating |invalid ]user USER IP port N [preauth]
    Disconnected from [authenticating |invalid ]user USER IP port N [preauth]
    Received disconnect from IP port N:CODE: REASON [preauth]
    pam_unix(sshd:session): session opened for user USER(uid=N) by (uid=0)
    pam_unix(sshd:session): session closed for user USER
User names may contain spaces (an attacker chooses them), so the user is
matched lazily up to the ` from IP port N` / ` IP port N` tail.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["accepted", "failed", "invalid", "pam_failure", "pam_error", "max_tries",
               "disconnect", "session_open", "session_close"]


class Garbled(ValueError):
    """A message that looks like an authentication record but does not parse."""


@dataclass(frozen=True, slots=True)
class SshMessage:
    kind: Kind
    user: str | None = None
    ip: str | None = None
    port: int | None = None
    method: str | None = None
    invalid_user: bool = False
    preauth: bool = False
    fields: dict[str, Any] = field(default_factory=dict)  # extra ECS / native fields


_LOGIN = re.compile(
    r"(Accepted|Failed) (\S+) for (invalid user )?(.*?) from (\S+) port (\d+)(?: (ssh\d?))?"
    r"(?:: (.*))?")
_INVALID = re.compile(r"Invalid user (.*?) from (\S+)(?: port (\d+))?")
_PAM_AUTH = re.compile(r"(pam_\w+)\(([^:()]+):auth\): authentication failure;(.*)")
_PAM_KV = re.compile(r"(\w+)=(\S*)")
_PAM_ERROR = re.compile(r"error: PAM: (.+?) for (illegal user )?(.*?) from (\S+)")
_MAX_TRIES = re.compile(
    r"error: maximum authentication attempts exceeded for (invalid user )?(.*?) from (\S+) "
    r"port (\d+)(?: ssh\d?)?( \[preauth\])?")
_CLOSED = re.compile(
    r"(Connection closed by|Connection reset by|Disconnected from) "
    r"(?:(authenticating |invalid )?user (.*?) )?(\S+) port (\d+)( \[preauth\])?")
_RECEIVED = re.compile(r"Received disconnect from (\S+) port (\d+):(\d+):\s*(.*?)( \[preauth\])?")
_SESSION = re.compile(
    r"(pam_\w+)\(([^:()]+):session\): session (opened|closed) for user (.+?)"
    r"(?:\(uid=(\d+)\))?(?: by (.*))?")

# message starts that promise one of the forms above: not parsing is then an error
_PROMISES = (
    (re.compile(r"(Accepted|Failed) \S+ for "), "an Accepted/Failed login"),
    (re.compile(r"Invalid user "), "an 'Invalid user'"),
    (re.compile(r"pam_\w+\([^:()]+:auth\): authentication failure"),
     "a PAM authentication failure"),
    (re.compile(r"error: maximum authentication attempts exceeded"), "a maximum-attempts"),
    (re.compile(r"Received disconnect from "), "a 'Received disconnect'"),
    (re.compile(r"(Connection closed by|Connection reset by|Disconnected from) "
                r"(authenticating |invalid )?user "), "a disconnect"),
    (re.compile(r"pam_\w+\([^:()]+:session\): session (opened|closed)"), "a PAM session"),
)


def _ip(text: str) -> str | None:
    """An address as sshd prints it; None for a host name (UseDNS) or garbage."""
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return None


def _port(text: str | None) -> int | None:
    if text is None:
        return None
    port = int(text) if len(text) <= 5 else 65536
    if port > 65535:
        raise Garbled(f"port {port} out of range")
    return port


def _code(text: str) -> int:
    """SSH disconnect reason codes are small (RFC 4253 §11.1 defines 1-15)."""
    if len(text) > 9:
        raise Garbled(f"disconnect code {text} out of range")
    return int(text)


def _addr(text: str, what: str) -> str:
    ip = _ip(text)
    if ip is None:
        raise Garbled(f"{what}: {text!r} is not an IP address")
    return ip


def classify(text: str) -> SshMessage | None:
    """The authentication record in one sshd message, None when it holds none."""
    text = text.strip()
    m = _LOGIN.fullmatch(text)
    if m:
        return _login(m)
    m = _INVALID.fullmatch(text)
    if m:
        return SshMessage("invalid", user=m.group(1), ip=_addr(m.group(2), "Invalid user"),
                          port=_port(m.group(3)), invalid_user=True)
    m = _PAM_AUTH.fullmatch(text)
    if m:
        return _pam_failure(m)
    m = _PAM_ERROR.fullmatch(text)
    if m:
        return SshMessage("pam_error", user=m.group(3), ip=_ip(m.group(4)),
                          invalid_user=bool(m.group(2)),
                          fields={"system.auth.pam.message": m.group(1),
                                  "system.auth.pam.rhost": m.group(4)})
    m = _MAX_TRIES.fullmatch(text)
    if m:
        return SshMessage("max_tries", user=m.group(2), ip=_addr(m.group(3), "maximum attempts"),
                          port=_port(m.group(4)), invalid_user=bool(m.group(1)),
                          preauth=bool(m.group(5)))
    m = _RECEIVED.fullmatch(text)
    if m:
        return SshMessage("disconnect", ip=_addr(m.group(1), "Received disconnect"),
                          port=_port(m.group(2)), preauth=bool(m.group(5)),
                          fields={"system.auth.ssh.disconnect.code": _code(m.group(3)),
                                  "system.auth.ssh.disconnect.reason": m.group(4)})
    m = _CLOSED.fullmatch(text)
    if m:
        if m.group(3) is None:  # no user: a port probe or kex failure, not authentication
            return None
        return SshMessage("disconnect", user=m.group(3), ip=_addr(m.group(4), m.group(1)),
                          port=_port(m.group(5)), invalid_user=m.group(2) == "invalid ",
                          preauth=bool(m.group(6)),
                          fields={"system.auth.ssh.disconnect.how": m.group(1)})
    m = _SESSION.fullmatch(text)
    if m:
        fields: dict[str, Any] = {"system.auth.pam.module": m.group(1),
                                  "system.auth.pam.service": m.group(2)}
        if m.group(5):
            fields["user.id"] = m.group(5)
        return SshMessage("session_open" if m.group(3) == "opened" else "session_close",
                          user=m.group(4), fields=fields)
    for promise, what in _PROMISES:
        if promise.match(text):
            raise Garbled(f"{what} message that does not parse")
    return None


def _login(m: re.Match[str]) -> SshMessage:
    outcome, method, invalid, user, host, port, proto, rest = m.groups()
    fields: dict[str, Any] = {}
    if proto:
        fields["system.auth.ssh.protocol"] = proto
    if rest:
        # `ED25519 SHA256:…`, or for a certificate `ED25519-CERT SHA256:… ID x (serial n) CA …`
        fields["system.auth.ssh.signature"] = rest
        parts = rest.split()
        if len(parts) >= 2 and ":" in parts[1]:
            fields["ssh.key_type"], fields["ssh.key_fingerprint"] = parts[0], parts[1]
    kind: Kind = "accepted" if outcome == "Accepted" else "failed"
    return SshMessage(kind, user=user, ip=_addr(host, outcome), port=_port(port), method=method,
                      invalid_user=bool(invalid), fields=fields)


def _pam_failure(m: re.Match[str]) -> SshMessage:
    kv = dict(_PAM_KV.findall(m.group(3)))
    fields: dict[str, Any] = {"system.auth.pam.module": m.group(1),
                              "system.auth.pam.service": m.group(2)}
    for key in ("tty", "ruser", "rhost", "logname"):
        if kv.get(key):
            fields[f"system.auth.pam.{key}"] = kv[key]
    rhost = kv.get("rhost") or ""
    # an unknown user has no `user=`: sshd's own lines name it
    return SshMessage("pam_failure", user=kv.get("user") or None, ip=_ip(rhost) if rhost else None,
                      fields=fields)
