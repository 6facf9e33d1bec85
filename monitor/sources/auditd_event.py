"""The records of one audit event -> one ECS Event (tables in auditd_map.py).

Which record speaks for the event: a record that is not a SYSCALL nor one of the
auxiliary kinds (CWD, PATH, PROCTITLE…) — a user-space message, LOGIN,
CONFIG_CHANGE, AVC — is mapped by its type; otherwise the SYSCALL is mapped by
its syscall. Records that arrived without their SYSCALL (late, or the SYSCALL was
lost) still become an event, marked `auditd.incomplete`, so nothing is dropped.
"""

from __future__ import annotations

import ipaddress
import posixpath
from typing import Any

from monitor.event import Event, event_id
from monitor.sources.auditd_map import (
    ACL_TOOLS,
    AUXILIARY,
    ERRNO,
    FLAGS_ARG,
    MODE_ARG,
    O_ACCMODE,
    O_FLAGS,
    O_RDWR,
    O_WRONLY,
    OWNER_ARGS,
    RECORDS,
    SYSCALLS,
    UNCHANGED_ID,
    Ecs,
    outcome_of,
    syscall_name,
)
from monitor.sources.auditd_paths import InodePaths, resolve, uses_dirfd
from monitor.sources.auditd_records import (
    Record,
    execve_args,
    group_of,
    known,
    name_of,
    proctitle,
    split_key,
)

DATASET = "auditd.log"
_FILE_TYPES = {0o040000: "dir", 0o100000: "file", 0o120000: "symlink"}


def build_event(source: str, file_id: str, offset: int, records: list[Record],
                cache: InodePaths, host: str | None = None) -> Event:
    first = records[0]
    by_type: dict[str, Record] = {}
    for rec in records:
        by_type.setdefault(rec.type, rec)
    syscall = by_type.get("SYSCALL")
    primary = next((r for r in records if r.type != "SYSCALL" and r.type not in AUXILIARY),
                   None)
    extra: dict[str, Any] = {"auditd.record_types": [r.type for r in records],
                             "auditd.sequence": first.serial}
    ev: dict[str, Any] = {}
    if primary is not None:
        ecs = _record_ecs(primary)
        outcome = outcome_of(primary.fields.get("res") or primary.fields.get("success"))
        _user_message(primary, ev, extra)
        _data(primary, extra)
        if syscall is not None:
            _process(syscall, ev, extra)
    elif syscall is not None:
        name = syscall_name(syscall.fields, syscall.interp)
        ecs = SYSCALLS.get(name or "", (name or "unknown-syscall", "process", "info"))
        outcome = outcome_of(syscall.fields.get("success"))
        _process(syscall, ev, extra)
        _data(syscall, extra, name)
        ecs = _file(name or "", syscall, records, by_type, cache, ecs, ev, extra)
        code = syscall.fields.get("exit", "")
        if outcome == "failure" and code.startswith("-") and code[1:].isdigit():
            extra["error.code"] = ERRNO.get(int(code[1:]), code)
    else:  # only auxiliary records: their SYSCALL never came
        ecs = (first.type.lower(), "process", "info")
        outcome = "unknown"
        extra["auditd.incomplete"] = True
        _data(first, extra)
    _aux(by_type, records, ev, extra)
    session = known(first.fields.get("ses") or (syscall.fields.get("ses") if syscall else None))
    if session:
        extra["auditd.session"] = session
    keys = split_key((syscall or primary or first).fields.get("key"))
    if keys:
        extra["tags"] = keys
    action, category, etype = ecs
    return Event(
        id=event_id(source, file_id, offset), timestamp=first.timestamp, dataset=DATASET,
        category=category, type=etype, action=action, outcome=outcome,
        user_name=ev.get("user"), source_ip=ev.get("ip"), host_name=first.node or host,
        file_path=ev.get("path"), file_target_path=ev.get("target"), file_mode=ev.get("mode"),
        file_owner=ev.get("owner"), file_group=ev.get("group"), file_type=ev.get("ftype"),
        log_offset=offset, extra=extra)


def _record_ecs(rec: Record) -> Ecs:
    ecs = RECORDS.get(rec.type)
    if ecs is not None:
        if rec.type == "AVC" and "apparmor" in rec.fields:
            return ("violated-apparmor-policy", ecs[1], ecs[2])
        return ecs
    return (rec.type.lower(), "process", "info")


def _user_message(rec: Record, ev: dict[str, Any], extra: dict[str, Any]) -> None:
    """Who a user-space message (or LOGIN) is about, and from where."""
    f, i = rec.fields, rec.interp
    if rec.type == "LOGIN":  # the new login uid is the user who logged in
        user = name_of(f.get("auid"), i.get("AUID"))
    elif "acct" in f:  # the account the message is about ("?" = unknown: no guessing)
        user = known(f["acct"])
    elif "id" in f:
        user = name_of(f["id"], i.get("ID"))
    else:  # the sender's login user, else the sender
        user = name_of(f.get("auid"), i.get("AUID")) or name_of(f.get("uid"), i.get("UID"))
    if user:
        ev["user"] = user
    _ids(f, i, extra)
    addr = known(f.get("addr"))
    if addr:
        try:
            ev["ip"] = str(ipaddress.ip_address(addr.strip("[]")))
        except ValueError:
            extra["source.address"] = addr
    hostname = known(f.get("hostname"))
    if hostname and hostname != addr:
        extra["source.domain"] = hostname
    for name, key in (("process.executable", "exe"), ("process.name", "comm")):
        if known(f.get(key)):
            extra[name] = f[key]
    if f.get("pid", "").isdigit():
        extra["process.pid"] = int(f["pid"])


def _ids(f: dict[str, str], i: dict[str, str], extra: dict[str, Any]) -> None:
    if known(f.get("uid")):
        extra["user.id"] = f["uid"]
    if known(f.get("auid")):
        extra["user.audit.id"] = f["auid"]
        audit_name = name_of(f["auid"], i.get("AUID"))
        if audit_name:
            extra["user.audit.name"] = audit_name
    euid = known(f.get("euid"))
    if euid and euid != f.get("uid"):
        extra["user.effective.id"] = euid
        effective = name_of(euid, i.get("EUID"))
        if effective:
            extra["user.effective.name"] = effective


def _process(rec: Record, ev: dict[str, Any], extra: dict[str, Any]) -> None:
    f, i = rec.fields, rec.interp
    user = name_of(f.get("uid"), i.get("UID"))
    if user and "user" not in ev:
        ev["user"] = user
    _ids(f, i, extra)
    for name, key in (("process.executable", "exe"), ("process.name", "comm")):
        if known(f.get(key)):
            extra[name] = f[key]
    for name, key in (("process.pid", "pid"), ("process.parent.pid", "ppid")):
        if f.get(key, "").isdigit():
            extra[name] = int(f[key])


def _data(rec: Record, extra: dict[str, Any], syscall: str | None = None) -> None:
    for key, value in rec.fields.items():
        extra[f"auditd.data.{key}"] = value
    if syscall:
        extra["auditd.data.syscall"] = syscall
    if rec.interp.get("ARCH"):
        extra["auditd.data.arch"] = rec.interp["ARCH"]


def _aux(by_type: dict[str, Record], records: list[Record], ev: dict[str, Any],
         extra: dict[str, Any]) -> None:
    cwd = by_type.get("CWD")
    if cwd is not None and known(cwd.fields.get("cwd")):
        extra["process.working_directory"] = cwd.fields["cwd"]
    title = by_type.get("PROCTITLE")
    if title is not None and title.fields.get("proctitle"):
        extra["process.title"] = proctitle(title.fields["proctitle"])
    execve = by_type.get("EXECVE")
    if execve is not None:
        extra["process.args"] = execve_args(execve.fields)
    sockaddr = by_type.get("SOCKADDR")
    if sockaddr is not None:
        socket = _sockaddr(sockaddr.fields.get("saddr", ""))
        if socket:
            extra["auditd.socket"] = socket


def _file(name: str, syscall: Record, records: list[Record], by_type: dict[str, Record],
          cache: InodePaths, ecs: Ecs, ev: dict[str, Any], extra: dict[str, Any]) -> Ecs:
    """File fields of a syscall event; returns the ECS mapping, refined by what the
    records show (an open that wrote or created, an ACL tool's setxattr)."""
    items = sorted((r for r in records if r.type == "PATH"),
                   key=lambda r: int(r.fields["item"]) if r.fields.get("item", "").isdigit()
                   else 0)
    kinds = [(r.fields.get("nametype") or r.fields.get("objtype") or "").upper() for r in items]
    action, category, etype = ecs
    if items:
        _paths(items, kinds, name, syscall, by_type, cache, ecs, ev, extra)
    f = syscall.fields
    if action == "opened-file":
        etype = _open_type(name, syscall, by_type, kinds, extra) or etype
    elif name in MODE_ARG:
        new_mode = _hex(f.get(MODE_ARG[name]))
        if new_mode is not None:
            if "mode" in ev:
                extra["auditd.previous_mode"] = ev["mode"]
            ev["mode"] = f"{new_mode & 0o7777:04o}"
    elif name in OWNER_ARGS:
        _chown(f, OWNER_ARGS[name], ev, extra)
    elif action == "changed-file-attributes-of" and _is_acl_tool(f):
        action = "changed-file-acl-of"
    return action, category, etype


def _paths(items: list[Record], kinds: list[str], name: str, syscall: Record,
           by_type: dict[str, Record], cache: InodePaths, ecs: Ecs, ev: dict[str, Any],
           extra: dict[str, Any]) -> None:
    """The PATH records: every one kept (with its absolute path), and the one the
    syscall acted on gives file.*."""
    paths = [dict(r.fields) for r in items]
    cwd = known(by_type["CWD"].fields.get("cwd")) if "CWD" in by_type else None
    success = syscall.fields.get("success") == "yes"
    resolved = resolve(paths, cwd, uses_dirfd(name, syscall.fields), cache, success)
    for p, path in zip(paths, resolved, strict=True):
        if path is not None:
            p["path"] = path
    extra["auditd.paths"] = paths

    def pick(*wanted: str) -> int:
        for kind in wanted:
            if kind in kinds:
                return kinds.index(kind)
        return next((n for n, k in enumerate(kinds) if k != "PARENT"), 0)

    action, category, etype = ecs
    obj = pick("DELETE") if category == "file" and etype == "deletion" else pick(
        "CREATE") if etype == "creation" else pick("NORMAL", "CREATE")
    if action == "renamed":
        obj = pick("DELETE")
        if "CREATE" in kinds:
            target = kinds.index("CREATE")
            ev["target"] = resolved[target] or known(paths[target].get("name"))
    rec, i = paths[obj], items[obj].interp
    ev["path"] = resolved[obj] or known(rec.get("name"))
    if ev["path"] is not None and resolved[obj] is None:
        extra["auditd.path_resolved"] = False
    mode = rec.get("mode", "")
    if mode.isdigit():
        bits = int(mode, 8)
        ev["mode"] = f"{bits & 0o7777:04o}"
        ev["ftype"] = _FILE_TYPES.get(bits & 0o170000)
    ev["owner"], ev["group"] = name_of(rec.get("ouid"), i.get("OUID")), group_of(
        rec.get("ogid"), i.get("OGID"))
    for key, field_name in (("inode", "file.inode"), ("ouid", "file.uid"),
                            ("ogid", "file.gid"), ("dev", "file.device")):
        if known(rec.get(key)):
            extra[field_name] = rec[key]


def _open_type(name: str, syscall: Record, by_type: dict[str, Record], kinds: list[str],
               extra: dict[str, Any]) -> str | None:
    """An open that created the file is a creation; one that may write is a change;
    a read-only open is an access (None: flags unknown, Elastic's type stays)."""
    if name == "creat":
        flags: int | None = 0o1 | 0o100 | 0o1000
    elif name == "openat2" and "OPENAT2" in by_type:
        flags = _hex(by_type["OPENAT2"].fields.get("oflag"))
    else:
        flags = _hex(syscall.fields.get(FLAGS_ARG.get(name, ""))) if name in FLAGS_ARG else None
    if flags is None:
        return None
    access = flags & O_ACCMODE
    names = ["O_WRONLY" if access == O_WRONLY else "O_RDWR" if access == O_RDWR else "O_RDONLY"]
    names += [n for bit, n in O_FLAGS.items() if flags & bit]
    extra["auditd.open_flags"] = names
    if "CREATE" in kinds and syscall.fields.get("success") == "yes":
        return "creation"
    if access in (O_WRONLY, O_RDWR) or flags & 0o1000:
        return "change"
    return "access"


def _chown(f: dict[str, str], args: tuple[str, str], ev: dict[str, Any],
           extra: dict[str, Any]) -> None:
    """The new owner and group (an id of -1 leaves that one as it was)."""
    uid, gid = f.get(args[0], "").lower(), f.get(args[1], "").lower()
    for key, value, attr in (("file.uid", uid, "owner"), ("file.gid", gid, "group")):
        number = _hex(value) if value not in UNCHANGED_ID else None
        if number is None:
            continue
        if extra.get(key) is not None and extra[key] != str(number):
            extra[f"auditd.previous_{'uid' if attr == 'owner' else 'gid'}"] = extra[key]
        extra[key] = str(number)
        ev[attr] = (name_of if attr == "owner" else group_of)(str(number))


def _is_acl_tool(f: dict[str, str]) -> bool:
    exe = posixpath.basename(f.get("exe", ""))
    return exe in ACL_TOOLS or f.get("comm", "") in ACL_TOOLS


def _hex(value: str | None) -> int | None:
    try:
        return int(value, 16) if value else None
    except ValueError:
        return None


def _sockaddr(saddr: str) -> dict[str, Any] | None:
    """family, address and port of a SOCKADDR record (IPv4, IPv6, unix)."""
    try:
        raw = bytes.fromhex(saddr)
    except ValueError:
        return None
    if len(raw) < 2:
        return None
    family = int.from_bytes(raw[:2], "little")
    if family == 2 and len(raw) >= 8:
        return {"family": "ipv4", "address": str(ipaddress.IPv4Address(raw[4:8])),
                "port": int.from_bytes(raw[2:4], "big")}
    if family == 10 and len(raw) >= 24:
        return {"family": "ipv6", "address": str(ipaddress.IPv6Address(raw[8:24])),
                "port": int.from_bytes(raw[2:4], "big")}
    if family == 1:
        path = raw[2:].split(b"\x00", 1)[0].decode("utf-8", "replace")
        return {"family": "unix", "path": path} if path else {"family": "unix"}
    if family == 16:
        return {"family": "netlink"}
    return {"family": str(family)}
