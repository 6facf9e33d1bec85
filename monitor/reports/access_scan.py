"""Who can reach each client folder, read from the disk and from Samba's log.

POSIX: the folder's mode bits, owner and group, and its access ACL
(`system.posix_acl_access`, decoded by sources.fswatch_acl), evaluated the way
the kernel does (owner entry, else a named-user entry, else the union of the
matching group entries, else other; the mask limits all but owner and other).
Groups are expanded to their members (grp members plus the accounts whose
primary group it is).

Samba: the newest `samba.sddl` logged for the folder (full_audit with
log_secdesc) is the Windows ACL an admin last set; its allow entries are read
with sources.winlog_sddl (deny entries are not subtracted, as there). Unix
SIDs map back to accounts: S-1-22-1-UID a user, S-1-22-2-GID a group.

"Read" means the folder can be listed (r) or entered (x): either reaches
client data. "Write" means w with x.
"""

from __future__ import annotations

import contextlib
import glob
import grp
import os
import pwd
import re
import stat
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import orjson

from monitor.enrich import compile_client_pattern
from monitor.event import us_to_ts
from monitor.sources.fswatch_acl import ACCESS_XATTR, decode_acl
from monitor.sources.winlog_sddl import SddlError, is_broad, parse_dacl
from monitor.store import Store

EVERYONE = "*everyone*"
_READ_RIGHTS = 0x1 | 0x20  # FILE_LIST_DIRECTORY, FILE_TRAVERSE
_WRITE_RIGHTS = 0x2 | 0x4 | 0x40  # FILE_ADD_FILE, FILE_ADD_SUBDIRECTORY, FILE_DELETE_CHILD
_UNIX_USER_SID = re.compile(r"^S-1-22-1-(\d+)$")
_UNIX_GROUP_SID = re.compile(r"^S-1-22-2-(\d+)$")


@dataclass(frozen=True)
class Grant:
    """One entry that lets a principal in: `kind` user, group or everyone."""

    kind: str
    name: str
    read: bool
    write: bool
    via: str  # where it comes from: "mode owner", "acl user:bob", "sddl WD" …
    members: tuple[str, ...] = ()  # of a group


@dataclass
class Folder:
    client: str
    path: str
    mode: str = ""
    owner: str = ""
    group: str = ""
    acl: str = ""  # named entries and mask, with names
    sddl: str | None = None
    sddl_time: str | None = None
    grants: list[Grant] = field(default_factory=list)
    error: str | None = None

    @property
    def world(self) -> list[Grant]:
        return [g for g in self.grants if g.kind == "everyone" and (g.read or g.write)]


def _name(kind: str, ident: int) -> str:
    try:
        return pwd.getpwuid(ident).pw_name if kind == "user" else grp.getgrgid(ident).gr_name
    except (KeyError, OverflowError):
        return str(ident)


def group_members(gid: int) -> tuple[str, ...]:
    names: set[str] = set()
    with contextlib.suppress(KeyError):  # a gid without a group entry has no listed members
        names.update(grp.getgrgid(gid).gr_mem)
    names.update(p.pw_name for p in pwd.getpwall() if p.pw_gid == gid)
    return tuple(sorted(names))


def user_groups(name: str) -> tuple[int, set[int]] | None:
    """(uid, every gid) of a local account, or None when there is no such account."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return None
    return pw.pw_uid, set(os.getgrouplist(pw.pw_name, pw.pw_gid))


@dataclass(frozen=True)
class PosixAcl:
    """Mode and access ACL of one inode, as the kernel evaluates them."""

    uid: int
    gid: int
    user_obj: int
    group_obj: int
    other: int
    mask: int  # 7 when there is no ACL
    users: dict[int, int]
    groups: dict[int, int]

    @staticmethod
    def read(path: str, st: os.stat_result) -> PosixAcl:
        mode = st.st_mode
        user_obj, group_obj, other, mask = (mode >> 6) & 7, (mode >> 3) & 7, mode & 7, 7
        users: dict[int, int] = {}
        groups: dict[int, int] = {}
        try:
            raw = os.getxattr(path, ACCESS_XATTR)
        except OSError:
            raw = b""
        text = decode_acl(raw, named_only=False) if raw else ""
        for entry in text.split(",") if text and not text.startswith("invalid:") else ():
            kind, ident, perm_text = entry.split(":", 2)
            perm = sum(bit for ch, bit in (("r", 4), ("w", 2), ("x", 1)) if ch in perm_text)
            if kind == "user":
                if ident:
                    users[int(ident)] = perm
                else:
                    user_obj = perm
            elif kind == "group":
                if ident:
                    groups[int(ident)] = perm
                else:
                    group_obj = perm
            elif kind == "mask":
                mask = perm
            elif kind == "other":
                other = perm
        return PosixAcl(st.st_uid, st.st_gid, user_obj, group_obj, other, mask, users, groups)

    def effective(self, uid: int, gids: set[int]) -> int:
        if uid == 0:
            return 7
        if uid == self.uid:
            return self.user_obj
        if uid in self.users:
            return self.users[uid] & self.mask
        matched = ([self.group_obj] if self.gid in gids else []) + [
            p for g, p in self.groups.items() if g in gids]
        if matched:
            perm = 0
            for p in matched:
                perm |= p
            return perm & self.mask
        return self.other

    def grants(self) -> list[Grant]:
        out = [_grant("user", _name("user", self.uid), self.user_obj, "mode owner")]
        out.append(_grant("group", _name("group", self.gid), self.group_obj & self.mask,
                          "mode group", group_members(self.gid)))
        for uid, perm in sorted(self.users.items()):
            name = _name("user", uid)
            out.append(_grant("user", name, perm & self.mask, f"acl user:{name}"))
        for gid, perm in sorted(self.groups.items()):
            name = _name("group", gid)
            out.append(_grant("group", name, perm & self.mask, f"acl group:{name}",
                              group_members(gid)))
        out.append(_grant("everyone", EVERYONE, self.other, "mode other"))
        return [g for g in out if g.read or g.write]

    def acl_text(self) -> str:
        parts = [f"user:{_name('user', u)}:{_rwx(p)}" for u, p in sorted(self.users.items())]
        parts += [f"group:{_name('group', g)}:{_rwx(p)}" for g, p in sorted(self.groups.items())]
        if self.users or self.groups:
            parts.append(f"mask::{_rwx(self.mask)}")
        return ",".join(parts)


def _rwx(perm: int) -> str:
    return "".join(c if perm & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))


def can_read(perm: int) -> bool:
    return bool(perm & 0o5)


def can_write(perm: int) -> bool:
    return perm & 0o3 == 0o3


def _grant(kind: str, name: str, perm: int, via: str, members: tuple[str, ...] = ()) -> Grant:
    return Grant(kind, name, can_read(perm), can_write(perm), f"{via} {_rwx(perm)}", members)


@dataclass(frozen=True)
class SddlAcl:
    """The allow entries of a logged Windows ACL."""

    allows: dict[str, int]
    null: bool

    def grants(self) -> list[Grant]:
        if self.null:
            return [Grant("everyone", EVERYONE, True, True, "sddl NULL DACL")]
        out: list[Grant] = []
        for who, rights in sorted(self.allows.items()):
            read, write = bool(rights & _READ_RIGHTS), bool(rights & _WRITE_RIGHTS)
            if not (read or write):
                continue
            if is_broad(who):
                out.append(Grant("everyone", EVERYONE, read, write, f"sddl {who}"))
            elif m := _UNIX_USER_SID.match(who):
                out.append(Grant("user", _name("user", int(m[1])), read, write, f"sddl {who}"))
            elif m := _UNIX_GROUP_SID.match(who):
                gid = int(m[1])
                out.append(Grant("group", _name("group", gid), read, write, f"sddl {who}",
                                 group_members(gid)))
            else:  # a domain or builtin SID this host cannot resolve
                out.append(Grant("sid", who, read, write, f"sddl {who}"))
        return out

    def reaches(self, uid: int, gids: set[int]) -> tuple[bool, bool, list[str]]:
        read = write = False
        via: list[str] = []
        for g in self.grants():
            if g.kind == "everyone" or (g.kind == "user" and g.name == _name("user", uid)) or (
                    g.kind == "group" and any(_name("group", gid) == g.name for gid in gids)):
                read, write = read or g.read, write or g.write
                via.append(g.via)
        return read, write, via


def client_folders(patterns: tuple[str, ...], root: str | None = None,
                   only: str | None = None) -> list[tuple[str, str]]:
    """(client, folder) for every client folder on disk, sorted.

    With `root`, every directory directly under it is a client folder named
    after it; otherwise the config's `clients.paths` patterns are expanded: a
    folder is the pattern cut after the segment holding `{client}` (and the
    literal segments that follow it).
    """
    found: dict[tuple[str, str], None] = {}
    if root is not None:
        for entry in sorted(Path(root).iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                found[(entry.name, str(entry))] = None
    for pattern in patterns if root is None else ():
        folder_pattern = _folder_pattern(pattern)
        regex = compile_client_pattern(folder_pattern)
        for path in sorted(glob.glob(_glob_of(folder_pattern))):
            m = regex.match(path)
            if m and os.path.isdir(path) and not os.path.islink(path):
                found[(m.group("client"), path)] = None
    return sorted(k for k in found if only is None or k[0].lower() == only.lower())


def _folder_pattern(pattern: str) -> str:
    parts = pattern.split("/")
    at = next(i for i, p in enumerate(parts) if "{client}" in p)
    end = at + 1
    while end < len(parts) and parts[end] and not any(c in parts[end] for c in "*?"):
        end += 1
    return "/".join(parts[:end])


def _glob_of(folder_pattern: str) -> str:
    out: list[str] = []
    for part in folder_pattern.split("/"):
        if "{client}" in part:
            out.append("*".join(glob.escape(p) for p in part.split("{client}")))
        elif any(c in part for c in "*?"):
            out.append(part.replace("**", "*"))
        else:
            out.append(glob.escape(part))
    return "/".join(out)


def latest_sddl(store: Store | None, paths: list[str],
                tz: tzinfo) -> dict[str, tuple[str, str]]:
    """path → (SDDL, time) of the newest logged Windows ACL change of each path."""
    if store is None or not paths:
        return {}
    out: dict[str, tuple[str, str]] = {}
    marks = ",".join("?" * len(paths))
    rows = store.query(
        "SELECT s.text, e.ts, extra_json(e.extra) FROM events e JOIN strings s ON s.id = e.path_id"
        f" WHERE e.action = 'changed-file-acl-of' AND s.text IN ({marks})"
        " AND e.outcome = 'success' ORDER BY e.ts, e.seq", paths)
    for path, ts, extra in rows:
        sddl = orjson.loads(extra).get("samba.sddl") if extra else None
        if isinstance(sddl, str):
            out[path] = (sddl, us_to_ts(ts).astimezone(tz).isoformat(timespec="seconds"))
    return out


def scan(client: str, path: str, sddl: tuple[str, str] | None) -> tuple[Folder, PosixAcl | None,
                                                                       SddlAcl | None]:
    folder = Folder(client, path)
    posix: PosixAcl | None = None
    try:
        st = os.stat(path)
        posix = PosixAcl.read(path, st)
        folder.mode = stat.filemode(st.st_mode)
        folder.owner, folder.group = _name("user", st.st_uid), _name("group", st.st_gid)
        folder.acl = posix.acl_text()
        folder.grants.extend(posix.grants())
    except OSError as exc:
        folder.error = f"cannot read: {exc.strerror}"
    windows: SddlAcl | None = None
    if sddl is not None:
        folder.sddl, folder.sddl_time = sddl
        try:
            dacl = parse_dacl(sddl[0])
        except SddlError as exc:
            folder.error = f"logged SDDL does not parse: {exc}"
            dacl = None
        if dacl is not None:
            windows = SddlAcl(dict(dacl.allows), dacl.null)
            folder.grants.extend(windows.grants())
    return folder, posix, windows
