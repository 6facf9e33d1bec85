"""One Linux audit record: `type=NAME msg=audit(SECONDS.MS:SERIAL): key=value …`.

The forms seen in real logs, all accepted here:
- auditd's own file, `log_format = RAW`: the line above, optionally `node=HOST ` first;
- `log_format = ENRICHED`: the same, then byte 0x1D and the interpreted fields in
  capitals (`AUID="alice" UID="alice" SYSCALL=openat …`), which carry the names the
  machine that wrote the log resolved (better than resolving them here, later);
- through syslog (audisp-syslog, older audispd, or the kernel's own `audit:` lines
  when no auditd runs): a syslog header first (see `audit_body`); the kernel writes
  the type as a number and no `msg=` (`type=1400 audit(…): …`);
- user-space messages keep their own fields in `msg='op=… acct="…" res=success'`,
  merged here into the record's fields; very old ones write `msg='PAM: accounting
  acct=root : exe=… (hostname=?, addr=?, terminal=cron res=success)'`.
Values auditd could not log safely are hex (`exe=2F7573…`, `acct=28696E…`); the
fields that may be so are decoded. A record is kept as its text (`Record.text`) so
the joiner can snapshot held-back records and parse them again after a restart.
"""

from __future__ import annotations

import grp
import pwd
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

GS = "\x1d"  # ENRICHED: raw fields | interpreted fields
UNSET = ("4294967295", "-1", "unset")

_HEAD = re.compile(
    r"^(?:node=(?P<node>\S+)\s+)?type=(?P<type>[A-Za-z0-9_]+(?:\[\d+\])?)\s+"
    r"(?:msg=)?audit\((?P<sec>\d+)\.(?P<frac>\d+):(?P<serial>\d+)\):?\s?(?P<rest>.*)$", re.S)
_NO_STAMP = re.compile(r"^(?:node=\S+\s+)?type=[A-Za-z0-9_]+(?:\[\d+\])?\s+msg=\?\s*$")
# key=value where the key starts a token; values are "…", '…', (null)/(none) or bare
_FIELD = re.compile(
    r"""(?<![^\s(,{])([A-Za-z_][\w-]*)=("[^"]*"|'[^']*'|\([a-z]+\)|[^\s,)]*)""")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
_ARG = re.compile(r"^a\d+$")
# fields auditd writes hex-encoded when they hold spaces, quotes or control bytes
ENCODED = frozenset({
    "exe", "comm", "cwd", "name", "path", "proctitle", "acct", "cmd", "data", "key",
    "ocomm", "watch", "dir", "file", "root_dir", "grp", "new_group", "vm"})

# numeric types the kernel writes in its own `audit:` lines (and auditd for unknown ones)
TYPE_NAMES: dict[int, str] = {
    1006: "LOGIN", 1100: "USER_AUTH", 1101: "USER_ACCT", 1102: "USER_MGMT", 1103: "CRED_ACQ",
    1104: "CRED_DISP", 1105: "USER_START", 1106: "USER_END", 1107: "USER_AVC",
    1108: "USER_CHAUTHTOK", 1109: "USER_ERR", 1110: "CRED_REFR", 1111: "USYS_CONFIG",
    1112: "USER_LOGIN", 1113: "USER_LOGOUT", 1114: "ADD_USER", 1115: "DEL_USER",
    1116: "ADD_GROUP", 1117: "DEL_GROUP", 1118: "DAC_CHECK", 1119: "CHGRP_ID", 1120: "TEST",
    1121: "TRUSTED_APP", 1122: "USER_SELINUX_ERR", 1123: "USER_CMD", 1124: "USER_TTY",
    1125: "CHUSER_ID", 1126: "GRP_AUTH", 1127: "SYSTEM_BOOT", 1128: "SYSTEM_SHUTDOWN",
    1129: "SYSTEM_RUNLEVEL", 1130: "SERVICE_START", 1131: "SERVICE_STOP", 1132: "GRP_MGMT",
    1133: "GRP_CHAUTHTOK", 1134: "MAC_CHECK", 1135: "ACCT_LOCK", 1136: "ACCT_UNLOCK",
    1137: "USER_DEVICE", 1138: "SOFTWARE_UPDATE", 1200: "DAEMON_START", 1201: "DAEMON_END",
    1202: "DAEMON_ABORT", 1203: "DAEMON_CONFIG", 1204: "DAEMON_RECONFIG",
    1205: "DAEMON_ROTATE", 1206: "DAEMON_RESUME", 1207: "DAEMON_ACCEPT",
    1208: "DAEMON_CLOSE", 1209: "DAEMON_ERR", 1300: "SYSCALL", 1302: "PATH", 1303: "IPC",
    1304: "SOCKETCALL", 1305: "CONFIG_CHANGE", 1306: "SOCKADDR", 1307: "CWD", 1309: "EXECVE",
    1311: "IPC_SET_PERM", 1317: "FD_PAIR", 1318: "OBJ_PID", 1319: "TTY", 1320: "EOE",
    1321: "BPRM_FCAPS", 1322: "CAPSET", 1323: "MMAP", 1324: "NETFILTER_PKT",
    1325: "NETFILTER_CFG", 1326: "SECCOMP", 1327: "PROCTITLE", 1328: "FEATURE_CHANGE",
    1329: "REPLACE", 1330: "KERN_MODULE", 1331: "FANOTIFY", 1332: "TIME_INJOFFSET",
    1333: "TIME_ADJNTPVAL", 1334: "BPF", 1335: "EVENT_LISTENER", 1336: "URINGOP",
    1337: "OPENAT2", 1400: "AVC", 1401: "SELINUX_ERR", 1402: "AVC_PATH",
    1403: "MAC_POLICY_LOAD", 1404: "MAC_STATUS", 1405: "MAC_CONFIG_CHANGE",
    1500: "AA", 1501: "APPARMOR_AUDIT", 1502: "APPARMOR_ALLOWED", 1503: "APPARMOR_DENIED",
    1504: "APPARMOR_HINT", 1505: "APPARMOR_STATUS", 1506: "APPARMOR_ERROR",
    1700: "ANOM_PROMISCUOUS", 1701: "ANOM_ABEND", 1702: "ANOM_LINK", 1703: "ANOM_CREAT",
    2100: "ANOM_LOGIN_FAILURES", 2101: "ANOM_LOGIN_TIME", 2102: "ANOM_LOGIN_SESSIONS",
    2103: "ANOM_LOGIN_ACCT", 2104: "ANOM_LOGIN_LOCATION", 2112: "ANOM_EXEC",
    2300: "USER_ROLE_CHANGE", 2301: "ROLE_ASSIGN", 2302: "ROLE_REMOVE",
    2311: "ROLE_MODIFY", 2312: "USER_MAC_CONFIG_CHANGE", 2310: "USER_MAC_POLICY_LOAD",
    2402: "CRYPTO_LOGIN", 2403: "CRYPTO_LOGOUT", 2404: "CRYPTO_KEY_USER",
    2407: "CRYPTO_SESSION",
}
_NUMBERS = {name: num for num, name in TYPE_NAMES.items()}
# prefixes of the user-space message types (1100-1299, 2100-2999) not in the table above
_USER_PREFIXES = ("USER_", "CRED_", "DAEMON_", "ANOM_LOGIN", "CRYPTO_", "VIRT_", "SERVICE_",
                  "SYSTEM_", "ACCT_", "GRP_", "ROLE_", "RESP_", "LABEL_")


class RecordError(ValueError):
    """The line is not an audit record."""


class NoTimestamp(RecordError):
    """`type=… msg=?`: auditd logged a record it could not stamp."""


@dataclass(frozen=True, slots=True)
class Record:
    type: str
    sec: int
    micro: int
    serial: int
    node: str | None
    fields: dict[str, str] = field(default_factory=dict)
    interp: dict[str, str] = field(default_factory=dict)  # ENRICHED names, keys in capitals
    text: str = ""

    @property
    def key(self) -> tuple[str, int, int, int]:
        """What the records of one event share."""
        return (self.node or "", self.sec, self.micro, self.serial)

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.sec, UTC).replace(microsecond=self.micro)

    @property
    def single(self) -> bool:
        """A user-space message: the kernel gives each its own serial, so nothing joins it."""
        num = _NUMBERS.get(self.type)
        if num is not None:
            return 1100 <= num < 1300 or 2100 <= num < 3000
        return self.type.startswith(_USER_PREFIXES)


def parse_record(text: str) -> Record:
    """Parse one record (without any syslog header); raises RecordError."""
    raw, _, interp_text = text.partition(GS)
    m = _HEAD.match(raw.strip())
    if m is None:
        if _NO_STAMP.match(raw.strip()):
            raise NoTimestamp("record without a timestamp (msg=?)")
        raise RecordError("expected 'type=NAME msg=audit(SECONDS.MS:SERIAL): …'")
    rtype = m.group("type")
    if rtype.isdigit():
        rtype = TYPE_NAMES.get(int(rtype), f"UNKNOWN[{rtype}]")
    frac = m.group("frac")
    sec = int(m.group("sec"))
    if sec > 253_402_300_799:  # after 9999-12-31: no datetime can hold it
        raise RecordError("timestamp out of range")
    fields = parse_fields(m.group("rest"), hex_args=rtype == "EXECVE")
    interp = parse_fields(interp_text, decode=False) if interp_text else {}
    return Record(rtype, sec, int(frac[:6].ljust(6, "0")), int(m.group("serial")),
                  m.group("node"), fields, interp, text)


def parse_fields(text: str, decode: bool = True, hex_args: bool = False) -> dict[str, str]:
    """key=value pairs; the nested `msg='…'` of user-space messages is merged in
    (the outer fields win: they are the kernel's, the inner ones the sender's).
    `hex_args`: EXECVE's a0, a1… are hex when unquoted (SYSCALL's a0-a3 are numbers)."""
    out: dict[str, str] = {}
    for m in _FIELD.finditer(text):
        key, value = m.group(1), m.group(2)
        if key == "msg" and value.startswith("'"):
            for k, v in parse_fields(value[1:-1], decode).items():
                out.setdefault(k, v)
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            out[key] = value[1:-1]
        elif decode and (key in ENCODED or (hex_args and _ARG.match(key))) and _HEX.match(
                value) and len(value) > 2:
            out[key] = bytes.fromhex(value).decode("utf-8", "replace")
        else:
            out[key] = value
    return out


def execve_args(fields: dict[str, str]) -> list[str]:
    """EXECVE's arguments in order (a0, a1, …)."""
    args = [(int(k[1:]), v) for k, v in fields.items() if _ARG.match(k)]
    return [v for _, v in sorted(args)]


def split_key(value: str | None) -> list[str]:
    """A rule key; several keys are joined by byte 0x01. `(null)` means none."""
    if not value or value in ("(null)", "(none)", "?"):
        return []
    return [k for k in value.split("\x01") if k]


def proctitle(value: str) -> str:
    """The command line: arguments are NUL-separated in the hex form."""
    return value.replace("\x00", " ").strip()


def known(value: str | None) -> str | None:
    """None for the placeholders audit writes when a value is not there."""
    if value is None or value in ("?", "(null)", "(none)", "") or value in UNSET:
        return None
    return value


def name_of(uid: str | None, interpreted: str | None = None) -> str | None:
    """The user name for a uid: the name the writing machine resolved (ENRICHED) first,
    else this machine's passwd database; None when unset or unknown."""
    if interpreted and interpreted not in UNSET and not interpreted.startswith("unknown("):
        return interpreted
    if uid is None or uid in UNSET or not uid.isdigit():
        return None
    return _pw_name(int(uid))


def group_of(gid: str | None, interpreted: str | None = None) -> str | None:
    if interpreted and interpreted not in UNSET and not interpreted.startswith("unknown("):
        return interpreted
    if gid is None or gid in UNSET or not gid.isdigit():
        return None
    return _gr_name(int(gid))


class _NameCache:
    """uid/gid -> name, hits and misses alike, each for `ttl` seconds. The passwd and
    group look-ups go through NSS (files, winbind, sssd…) and cost tens of
    microseconds each, more for an id nobody can name (a winbind range on a machine
    that is not in the domain): uncached they were a fifth of the auditd source's
    time. The TTL bounds how long a renamed, created or deleted account shows its
    old name; the size bound keeps a flood of odd ids from growing it without end."""

    def __init__(self, lookup: Callable[[int], str], ttl: float = 60.0, size: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lookup, self.ttl, self.size, self.clock = lookup, ttl, size, clock
        self.entries: dict[int, tuple[float, str | None]] = {}  # oldest answer first

    def __call__(self, number: int) -> str | None:
        now = self.clock()
        hit = self.entries.get(number)
        if hit is not None:
            if hit[0] > now:
                return hit[1]
            del self.entries[number]  # expired: asked again below, then it is the newest
        try:
            name: str | None = self.lookup(number)
        except (KeyError, OverflowError):
            name = None
        if len(self.entries) >= self.size:
            del self.entries[next(iter(self.entries))]
        self.entries[number] = (now + self.ttl, name)
        return name


_pw_name = _NameCache(lambda uid: pwd.getpwuid(uid).pw_name)
_gr_name = _NameCache(lambda gid: grp.getgrgid(gid).gr_name)
