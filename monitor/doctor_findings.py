"""What a `wallwatch doctor` check reports, and helpers the checks share."""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but not as well as it should: exit code stays 0
    FAIL = "fail"  # something is not audited, or will not run: exit code 1
    SKIP = "skip"  # not configured, or cannot be checked from here


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str  # what was checked: "config", "smb.conf [clients]", "log smb"
    detail: str
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.status.value.upper():<4}  {self.check}: {self.detail}"
        if self.fix and self.status in (Status.WARN, Status.FAIL):
            text += f"  → fix: {self.fix}"
        return " ".join(text.split("\n"))


def ok(check: str, detail: str) -> Finding:
    return Finding(Status.OK, check, detail)


def warn(check: str, detail: str, fix: str) -> Finding:
    return Finding(Status.WARN, check, detail, fix)


def fail(check: str, detail: str, fix: str) -> Finding:
    return Finding(Status.FAIL, check, detail, fix)


def skip(check: str, detail: str) -> Finding:
    return Finding(Status.SKIP, check, detail)


_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://[^\s'\"<>()\[\],]+")


def mask_urls(text: str) -> str:
    """Keep only the scheme of every URL: tokens live in apprise URLs' hosts and paths and
    passwords in userinfo, and a doctor line may be pasted into a ticket."""
    return _URL.sub(lambda m: f"{m.group('scheme')}://…", text)


def human_age(seconds: float) -> str:
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(".0", "")
    return f"{seconds:.0f}s"


@dataclass(frozen=True)
class Account:
    """A service account as the kernel sees it: uid and every gid it holds."""

    name: str
    uid: int
    gids: frozenset[int]

    @classmethod
    def lookup(cls, name: str) -> Account | None:
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            return None
        gids = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
        return cls(name, user.pw_uid, frozenset(gids))


def has_acl(path: str) -> bool:
    try:
        return "system.posix_acl_access" in os.listxattr(path)
    except OSError:
        return False


def denied_for(account: Account, path: str, want: int) -> str | None:
    """The first component of `path` that `account` cannot use by its mode bits (search
    on every directory, `want` (os.R_OK, os.W_OK | os.X_OK …) on the last), or None.
    POSIX ACLs are not evaluated: a path that has one is reported as "?path"."""
    if account.uid == 0:
        return None
    parts = os.path.abspath(path).split("/")[1:]
    current = ""
    for i, part in enumerate(parts):
        current += "/" + part
        try:
            st = os.stat(current)
        except OSError:
            return current
        last = i == len(parts) - 1
        needed = want if last else os.X_OK
        if needed == os.X_OK and not stat.S_ISDIR(st.st_mode):
            return current
        if st.st_uid == account.uid:
            bits = (st.st_mode >> 6) & 7
        elif st.st_gid in account.gids:
            bits = (st.st_mode >> 3) & 7
        else:
            bits = st.st_mode & 7
        if bits & needed != needed:
            return "?" + current if has_acl(current) else current
    return None
