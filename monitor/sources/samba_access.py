"""How Samba's many records for one file access become one event.

Reading a file through SMB produces, in Samba 4.17, something like:
`openat r P`, `close P` (metadata lookups while listing), `create_file …|file|open|P`
(the client's real open), `pread_send P`/`pread_recv P` once per SMB read, `close P`.
Storing each as an event would turn one read into a dozen.

So records of one *session* (user, address, machine, share) on one *path* that
are open/read/write/close/mkdir/set-DOS-attributes, and Samba's own failed
look-ups (`openat` ENOENT probes before a create, `create_file` E2BIG), are held
as a group and become one event:
- action `mkdir` for a new directory; `write` if anything was written (type
  `creation` when the open created the file: disposition `create`, or
  `overwrite_if`/`open_if` after a failed look-up of the same path); `create`
  for a new empty file; `read` if anything was read;
  `changed-file-attributes-of` for an open that only set DOS attributes;
  `open` for an open without I/O; `stat` when only Samba's own metadata
  look-ups happened (outcome failure if they all failed);
- `wallwatch.count` = number of SMB reads + writes; `samba.operations` keeps the
  count of every record kind, `event.end` the time of the last one, so nothing
  about the access is lost;
- metadata lookups of the entries of a directory the same session has open
  (a listing) are counted on the directory's event (`samba.entries`) instead
  of producing one `stat` per entry.
A group ends when the client closes the handle it opened (the first successful
close after its `create_file`: the access is complete, and alert latency should
not wait for anything else), when its session does something else to the path
(rename, delete, chmod…), disconnects, has been quiet for GAP of *event time*,
or has lasted MAX_SPAN (so a long copy still shows up every minute). The
`openat`/`close` pairs before the `create_file` are Samba's own look-ups and do
not end it. Because every rule is on
the records' own timestamps, re-reading the same lines forms the same groups,
and the event's id (from its first record's offset) is the same.
A failed open (`create_file` fail) is grouped too: alone it becomes an `open`
event with outcome failure and its error (the errno text Samba logs is not
reliable: denied opens often say "No such file or directory"), and it is folded
into a rename that follows it (the client checking the new name).
Other failed operations are not grouped: each is its own event with its error.
"""

from __future__ import annotations

import posixpath
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.event import Event, event_id, us_to_ts
from monitor.sources.samba_record import Record

GAP_US = 5_000_000
MAX_SPAN_US = 60_000_000
MAX_GROUPS = 20_000
MAX_ENTRY_NAMES = 20
GROUPED_OPS = frozenset({"openat", "create_file", "pread_send", "pread_recv", "pwrite_send",
                         "pwrite_recv", "close", "fset_dos_attributes", "mkdirat"})
# Failed records that are Samba looking before it leaps, not the client failing.
LOOKUP_FAILURES = frozenset({("openat", "No such file or directory"),
                             ("create_file", "Argument list too long"),
                             # no xattr to read back when `store dos attributes = no`
                             ("fset_dos_attributes", "No data available")})
CREATE_IF_MISSING = frozenset({"overwrite_if", "open_if", "supersede"})
ENOENT_KEY = "openat:fail"

Session = tuple[str, str, str, str]


@dataclass
class Group:
    source: str
    session: Session
    path: str
    file_id: str
    offset: int
    first: int  # µs
    last: int
    prefix: dict[str, str]
    ops: dict[str, int] = field(default_factory=dict)
    opened: bool = False
    file_type: str | None = None
    disposition: str | None = None
    access_mask: str | None = None
    entries: int = 0
    entry_names: list[str] = field(default_factory=list)
    error: str | None = None  # of the last failed open

    @property
    def reads(self) -> int:
        return self.ops.get("pread_recv", 0) or self.ops.get("pread_send", 0)

    @property
    def writes(self) -> int:
        return self.ops.get("pwrite_recv", 0) or self.ops.get("pwrite_send", 0)

    @property
    def created(self) -> bool:
        return self.disposition == "create" or (
            self.disposition in CREATE_IF_MISSING and ENOENT_KEY in self.ops)

    def did_something(self) -> bool:
        """Anything beyond opening: then it is an event of its own even when a
        rename or delete of the same path follows."""
        return bool(self.reads or self.writes or self.created or "mkdirat" in self.ops)

    def to_event(self) -> Event:
        ops = self.ops
        reads, writes, created = self.reads, self.writes, self.created
        outcome, file_type = "success", self.file_type
        if "mkdirat" in ops:
            action, etype, file_type = "mkdir", "creation", "dir"
        elif writes:
            action, etype = "write", "creation" if created else "change"
        elif created:
            action, etype = "create", "creation"
        elif reads:
            action, etype = "read", "access"
        elif "fset_dos_attributes" in ops:
            action, etype = "changed-file-attributes-of", "change"
        elif self.opened:
            action, etype = "open", "access"
        elif "create_file:fail" in ops:  # the client's open failed (and nothing else)
            action, etype, outcome = "open", "access", "failure"
        else:
            action, etype = "stat", "info"
            if all(k.endswith(":fail") for k in ops):
                outcome = "failure"
        extra: dict[str, Any] = {"samba.operations": dict(sorted(ops.items()))}
        if outcome == "failure" and self.error:
            extra["error.message"] = self.error
        if self.last != self.first:
            extra["event.end"] = us_to_ts(self.last).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for key, value in (("samba.disposition", self.disposition),
                           ("samba.access_mask", self.access_mask)):
            if value:
                extra[key] = value
        if self.entries:
            extra["samba.entries"] = self.entries
            extra["samba.entry_names"] = list(self.entry_names)
        return make_event(self.source, self.file_id, self.offset, us_to_ts(self.first),
                          self.prefix, category="file", etype=etype, action=action,
                          outcome=outcome, path=self.path, file_type=file_type,
                          count=max(1, reads + writes), extra=extra)


def make_event(source: str, file_id: str, offset: int, ts: Any, prefix: dict[str, str], *,
               category: str, etype: str, action: str, outcome: str = "success",
               path: str | None = None, target: str | None = None, mode: str | None = None,
               owner: str | None = None, file_type: str | None = None, count: int = 1,
               extra: dict[str, Any] | None = None) -> Event:
    extra = dict(extra or {})
    for name in ("machine", "domain", "client_name", "share_path"):
        if prefix.get(name):
            extra[f"samba.{name}"] = prefix[name]
    return Event(
        id=event_id(source, file_id, offset), timestamp=ts, dataset="samba.audit",
        category=category, type=etype, action=action, outcome=outcome,
        user_name=prefix.get("user") or None, source_ip=prefix.get("ip") or None,
        share=prefix.get("share") or None, file_path=path, file_target_path=target,
        file_mode=mode, file_owner=owner, file_type=file_type, count=count,
        log_offset=offset, extra=extra)


class AccessGrouper:
    """Holds open/read/write/close records until their access is complete."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.groups: OrderedDict[tuple[Session, str], Group] = OrderedDict()
        # new names of recent renames: Samba sets DOS attributes on them itself
        self.renamed: OrderedDict[tuple[Session, str], int] = OrderedDict()

    def note_rename(self, session: Session, new_path: str, ts_us: int) -> None:
        self.renamed[(session, new_path)] = ts_us
        while len(self.renamed) > 1000:
            self.renamed.popitem(last=False)

    def is_rename_housekeeping(self, rec: Record, path: str) -> bool:
        """fset_dos_attributes on a path just renamed to, with nothing open on it."""
        key = (rec.session, path)
        if rec.op != "fset_dos_attributes" or key in self.groups:
            return False
        when = self.renamed.pop(key, None)
        return when is not None and rec.ts_us - when <= GAP_US

    def expire(self, now_us: int, out: list[Event]) -> None:
        """Emit groups quiet for GAP before `now_us` (event time), oldest first."""
        while self.groups:
            key, group = next(iter(self.groups.items()))
            if group.last >= now_us - GAP_US and len(self.groups) <= MAX_GROUPS:
                break
            del self.groups[key]
            out.append(group.to_event())

    def take(self, session: Session, path: str, out: list[Event]) -> dict[str, int]:
        """End the group of a path that a standalone record (rename, delete, chown…)
        acts on. A group that only opened or looked up the path is part of that
        record: its operation counts are returned to be kept on its event.
        Otherwise the group is an event of its own, emitted first."""
        group = self.groups.pop((session, path), None)
        if group is None:
            return {}
        if group.did_something():
            out.append(group.to_event())
            return {}
        return group.ops

    def close_session(self, session: Session, out: list[Event]) -> None:
        for key in [k for k in self.groups if k[0] == session]:
            out.append(self.groups.pop(key).to_event())

    def flush(self, out: list[Event]) -> None:
        out.extend(g.to_event() for g in self.groups.values())
        self.groups.clear()

    def add(self, rec: Record, path: str, out: list[Event]) -> None:
        ts = rec.ts_us
        session = rec.session
        key = (session, path)
        group = self.groups.get(key)
        if group is not None and ts - group.first > MAX_SPAN_US:
            del self.groups[key]
            out.append(group.to_event())
            group = None
        if group is None and rec.ok and rec.op in ("openat", "close"):
            parent = self.groups.get((session, posixpath.dirname(path.rstrip("/")) or "/"))
            if parent is not None and parent.opened and parent.file_type == "dir":
                if rec.op == "openat":
                    parent.entries += 1
                    name = posixpath.basename(path)
                    if (len(parent.entry_names) < MAX_ENTRY_NAMES and name not in (".", "..")
                            and name not in parent.entry_names):
                        parent.entry_names.append(name)
                parent.last = max(parent.last, ts)
                self.groups.move_to_end((session, parent.path))
                return
        if group is None:
            group = Group(self.source, session, path, rec.file_id, rec.offset, ts, ts,
                          dict(rec.prefix))
            self.groups[key] = group
        op = rec.op if rec.ok else f"{rec.op}:fail"
        group.ops[op] = group.ops.get(op, 0) + 1
        group.last = max(group.last, ts)
        if rec.op == "create_file" and len(rec.args) >= 4 and not group.opened:
            # the first successful open says what the access was (later ones may be
            # Samba's own); a failed one is kept until one succeeds
            group.opened = rec.ok
            group.access_mask, kind, group.disposition = rec.args[0], rec.args[1], rec.args[2]
            group.file_type = "dir" if kind == "dir" else "file"
            if not rec.ok:
                group.error = rec.error
        elif rec.op == "close" and rec.ok and group.opened:
            del self.groups[key]  # the client's handle is closed: the access is complete
            out.append(group.to_event())
            return
        self.groups.move_to_end(key)

    def snapshot(self) -> dict[str, Any]:
        return {"groups": [asdict(g) for g in self.groups.values()],
                "renamed": [[list(k[0]), k[1], v] for k, v in self.renamed.items()]}

    def restore(self, state: dict[str, Any] | None) -> None:
        self.groups.clear()
        self.renamed.clear()
        state = state or {}
        for s, path, when in state.get("renamed", []):
            self.renamed[((str(s[0]), str(s[1]), str(s[2]), str(s[3])), str(path))] = int(when)
        for item in state.get("groups", []):
            item = dict(item)
            s = item.pop("session")
            session: Session = (str(s[0]), str(s[1]), str(s[2]), str(s[3]))
            group = Group(session=session, **item)
            self.groups[(session, group.path)] = group
