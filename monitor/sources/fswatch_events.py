"""Changes the filesystem watcher found, as ECS events.

Events carry no user: inotify does not say who changed a file (auditd does,
for the same change). Permission changes carry the state before and after:

- `changed-file-permissions-of`: `file.mode` (new, "0754") and `file.mode_before`
- `changed-file-ownership-of`: `file.uid`/`file.gid` (ECS keeps them as strings),
  `file.uid_before`/`file.gid_before`, `file.owner`/`file.group` and their `_before`
- `changed-file-acl-of`: `file.acl` and `file.acl_before` (named entries of the access
  ACL, `user:bob:r--,group:staff:r-x`, "" for none), and for directories the default
  ACL in `file.acl_default` / `file.acl_default_before`

and `wallwatch.widened` (true when the change grants someone more: new group or
other bits, set-id bits on a file, an ACL entry gaining a permission, or an
owner/group change that hands the owner's/group's bits to another account
than root). Other events: `create` (`mkdir` for a directory), `delete`
(`fswatch.entries_removed` counts what was below a deleted directory),
`rename` (`file.target_path`), `modify` (a file's size or mtime changed).

`fswatch.detected` says how the change was seen: `live` (inotify) or `rescan`
(diff of disk and snapshot, after a restart or a lost-events overflow; the time
is then the inode's ctime, or the time of the rescan for a deletion).
"""

from __future__ import annotations

import functools
import grp
import os
import pwd
from datetime import UTC, datetime
from typing import Any

from monitor.event import Event, event_id
from monitor.sources.fswatch_acl import acl_name, acl_widened, display_acl
from monitor.sources.fswatch_diff import Change
from monitor.sources.fswatch_snapshot import Entry

DATASET = "fswatch"
# change kind -> (event.type, event.action)
_ECS = {
    "create": ("creation", "create"),
    "delete": ("deletion", "delete"),
    "rename": ("change", "rename"),
    "modify": ("change", "modify"),
    "mode": ("change", "changed-file-permissions-of"),
    "owner": ("change", "changed-file-ownership-of"),
    "acl": ("change", "changed-file-acl-of"),
}
_GRANT_BITS = 0o077  # group and other
_SET_ID = 0o6000


def display(path: str) -> str:
    """A path as text; bytes that are not UTF-8 show as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def fmt_mode(mode: int) -> str:
    return f"{mode:04o}"


@functools.lru_cache(maxsize=4096)  # cleared at every full rescan (forget_names)
def _user(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return None


@functools.lru_cache(maxsize=4096)
def _group(gid: int) -> str | None:
    try:
        return grp.getgrgid(gid).gr_name
    except (KeyError, OverflowError):
        return None


def forget_names() -> None:
    """Accounts may have been renamed or removed: look names up afresh."""
    _user.cache_clear()
    _group.cache_clear()
    acl_name.cache_clear()


def change_id(source: str, change: Change, seq: int) -> str:
    """Deterministic: the same stored change always gets the same id (see fswatch.py)."""
    return event_id("fswatch", source, seq, change.kind, os.fsencode(change.path).hex(),
                    os.fsencode(change.target).hex() if change.target else "",
                    change.before.state() if change.before else "",
                    change.after.state() if change.after else "")


def widened(change: Change) -> bool:
    b, a = change.before, change.after
    if b is None or a is None:
        return False
    if change.kind == "mode":
        gained = a.mode & ~b.mode
        return bool(gained & _GRANT_BITS or (a.kind == "file" and gained & _SET_ID))
    if change.kind == "owner":
        return bool((a.uid != b.uid and a.uid != 0 and a.mode & 0o700)
                    or (a.gid != b.gid and a.gid != 0 and a.mode & 0o070))
    if change.kind == "acl":
        return acl_widened(b.acl, a.acl) or acl_widened(b.dacl, a.dacl)
    return False


def _timestamp(change: Change, now: datetime) -> datetime:
    after = change.after
    if change.kind == "delete" or after is None or not after.ctime_ns:
        return now
    ctime = datetime.fromtimestamp(after.ctime_ns // 1_000_000_000, UTC).replace(
        microsecond=after.ctime_ns % 1_000_000_000 // 1000)
    return min(ctime, now)  # a clock set back must not date a change in the future


def _details(change: Change, state: Entry) -> dict[str, Any]:
    b, a = change.before, change.after
    extra: dict[str, Any] = {}
    if change.kind == "mode" and b is not None:
        extra["file.mode_before"] = fmt_mode(b.mode)
    elif change.kind == "owner" and b is not None:
        extra.update({"file.uid_before": str(b.uid), "file.gid_before": str(b.gid)})
        for key, value in (("file.owner_before", _user(b.uid)),
                           ("file.group_before", _group(b.gid))):
            if value is not None:
                extra[key] = value
    elif change.kind == "acl" and b is not None and a is not None:
        extra.update({"file.acl": display_acl(a.acl), "file.acl_before": display_acl(b.acl)})
        if a.kind == "dir":
            extra.update({"file.acl_default": display_acl(a.dacl),
                          "file.acl_default_before": display_acl(b.dacl)})
    elif change.kind == "delete" and change.removed:
        extra["fswatch.entries_removed"] = change.removed
    if change.kind in ("mode", "owner", "acl"):
        extra["wallwatch.widened"] = widened(change)
    return extra


def make_event(source: str, change: Change, seq: int, detected: str, now: datetime) -> Event:
    state = change.after if change.after is not None else change.before
    assert state is not None, "a change has a state before or after it"
    etype, action = _ECS[change.kind]
    if change.kind == "create" and state.kind == "dir":
        action = "mkdir"
    extra: dict[str, Any] = {
        "fswatch.detected": detected,
        "file.inode": str(state.ino),
        "file.uid": str(state.uid),
        "file.gid": str(state.gid),
    }
    if state.kind == "file":
        extra["file.size"] = state.size
    if state.acl:
        extra["file.acl"] = display_acl(state.acl)
    if state.dacl:
        extra["file.acl_default"] = display_acl(state.dacl)
    extra.update(_details(change, state))
    return Event(
        id=change_id(source, change, seq),
        timestamp=_timestamp(change, now),
        dataset=DATASET,
        category="file",
        type=etype,
        action=action,
        file_path=display(change.path),
        file_target_path=display(change.target) if change.target else None,
        file_mode=fmt_mode(state.mode),
        file_owner=_user(state.uid),
        file_group=_group(state.gid),
        file_type=state.kind,
        extra=extra,
    )
