"""The permission audit: who can reach each client folder, against the staff table.

- excess access: a member of staff (a local account of that name) can read or
  write the folder of a client they are not assigned to, or of any client
  after the day they left;
- stale assignment: assigned to a client (by name, not `*`) with no file
  event of theirs in that client's folders for 90 days (archived clients are
  left out: nobody is expected there);
- world access: the folder lets everyone in (mode bits for other, or an
  Everyone-like principal in the logged Windows ACL).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.config import ALL_CLIENTS, Config
from monitor.event import ts_to_us, us_to_ts
from monitor.reports.access_scan import (
    EVERYONE,
    Folder,
    client_folders,
    latest_sddl,
    scan,
    user_groups,
)
from monitor.reports.page import document, esc, table, visible
from monitor.store import Store

STALE_AFTER = timedelta(days=90)


@dataclass(frozen=True)
class Reach:
    user: str
    read: bool
    write: bool
    status: str  # assigned | not assigned | left YYYY-MM-DD
    via: tuple[str, ...]


@dataclass(frozen=True)
class Excess:
    client: str
    path: str
    user: str
    read: bool
    write: bool
    reason: str
    via: tuple[str, ...]


@dataclass(frozen=True)
class Stale:
    user: str
    client: str
    last_access: str | None


@dataclass
class Audit:
    generated: str
    folders: list[Folder]
    reach: dict[str, list[Reach]]  # folder path → staff who can reach it
    excess: list[Excess] = field(default_factory=list)
    world: list[Folder] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)
    stale_checked: bool = True
    no_account: list[str] = field(default_factory=list)  # staff with no local account

    def to_json(self) -> dict[str, Any]:
        def folder(f: Folder) -> dict[str, Any]:
            return {**asdict(f), "world": [asdict(g) for g in f.world],
                    "staff": [asdict(r) for r in self.reach.get(f.path, [])]}
        return {"generated": self.generated, "folders": [folder(f) for f in self.folders],
                "excess": [asdict(e) for e in self.excess],
                "world": [{"client": f.client, "path": f.path,
                           "via": [g.via for g in f.world]} for f in self.world],
                "stale": [asdict(s) for s in self.stale], "stale_checked": self.stale_checked,
                "staff_without_account": self.no_account}


def _rw(read: bool, write: bool) -> str:
    return "read+write" if write and read else "write" if write else "read" if read else "-"


def audit(config: Config, store: Store | None, root: str | None = None,
          only: str | None = None, now: datetime | None = None) -> Audit:
    now = (now or datetime.now(config.timezone)).astimezone(config.timezone)
    found = client_folders(config.client_paths, root, only)
    sddl = latest_sddl(store, [p for _, p in found], config.timezone)
    result = Audit(now.isoformat(timespec="seconds"), [], {})
    accounts = {}
    for key, member in sorted(config.staff.items()):
        account = user_groups(member.name) or user_groups(key)
        if account is None:
            result.no_account.append(member.name)
        else:
            accounts[key] = account
    for client, path in found:
        folder, posix, windows = scan(client, path, sddl.get(path))
        result.folders.append(folder)
        if folder.world:
            result.world.append(folder)
        reach: list[Reach] = []
        for key, (uid, gids) in accounts.items():
            member = config.staff[key]
            read = write = False
            via: list[str] = []
            if posix is not None:
                perm = posix.effective(uid, gids)
                read, write = bool(perm & 0o5), perm & 0o3 == 0o3
                if read or write:
                    via += [g.via for g in folder.grants if not g.via.startswith("sddl")
                            and _matches(g.kind, g.name, g.members, member.name)]
            if windows is not None:
                r, w, v = windows.reaches(uid, gids)
                read, write, via = read or r, write or w, via + v
            if not (read or write):
                continue
            if member.left is not None and now.date() > member.left:
                status = f"left {member.left.isoformat()}"
            else:
                status = "assigned" if member.is_assigned(client) else "not assigned"
            reach.append(Reach(member.name, read, write, status, tuple(via or ["posix"])))
            if status != "assigned":
                result.excess.append(Excess(client, path, member.name, read, write, status,
                                            tuple(via or ["posix"])))
        result.reach[path] = reach
    if store is None:
        result.stale_checked = False
    else:
        result.stale = _stale(config, store, only, now)
    return result


def _matches(kind: str, name: str, members: tuple[str, ...], user: str) -> bool:
    return kind == "everyone" or (kind == "user" and name == user) or (
        kind == "group" and user in members)


def _stale(config: Config, store: Store, only: str | None, now: datetime) -> list[Stale]:
    archived = {c.lower() for c in config.archived_clients}
    out: list[Stale] = []
    cutoff = ts_to_us(now - STALE_AFTER)
    for _key, member in sorted(config.staff.items()):
        if member.left is not None and now.date() > member.left:
            continue  # a leaver's assignments are the excess check's business
        for client in sorted(member.clients - {ALL_CLIENTS} - member.excluded):
            if client.lower() in archived or (only and client.lower() != only.lower()):
                continue
            row = next(store.query("SELECT max(ts) FROM events WHERE user_name = ? AND"
                                   " client = ? AND category = 'file'", (member.name, client)))
            last = row[0]
            if last is None or last < cutoff:
                when = None if last is None else us_to_ts(last).astimezone(
                    config.timezone).isoformat(timespec="seconds")
                out.append(Stale(member.name, client, when))
    return out


# -- output ----------------------------------------------------------------------

def _who(kind: str, name: str, members: tuple[str, ...]) -> str:
    if kind == "everyone":
        return "everyone"
    if kind == "group":
        return f"group {name} ({', '.join(members) or 'no members'})"
    return f"{kind} {name}"


def format_text(a: Audit) -> str:
    lines: list[str] = []
    for f in a.folders:
        lines.append(f"{f.client}  {f.path}  {f.mode}  {f.owner}:{f.group}"
                     + (f"  acl {f.acl}" if f.acl else ""))
        if f.sddl:
            lines.append(f"    sddl (logged {f.sddl_time}): {f.sddl}")
        if f.error:
            lines.append(f"    ! {f.error}")
        for g in f.grants:
            lines.append(f"    {_rw(g.read, g.write):<10}  {_who(g.kind, g.name, g.members)}"
                         f"  [{g.via}]")
        for r in a.reach.get(f.path, []):
            mark = "" if r.status == "assigned" else "  <-- EXCESS"
            lines.append(f"    staff {r.user}: {_rw(r.read, r.write)}, {r.status}{mark}")
    lines.append("")
    lines.append(f"EXCESS ACCESS ({len(a.excess)})")
    lines += [f"  {e.user}  {e.client}  {_rw(e.read, e.write)}  {e.reason}  via "
              f"{'; '.join(e.via)}" for e in a.excess] or ["  none"]
    lines.append(f"WORLD / EVERYONE ACCESS ({len(a.world)})")
    lines += [f"  {f.client}  {f.path}  via {'; '.join(g.via for g in f.world)}"
              for f in a.world] or ["  none"]
    if a.stale_checked:
        lines.append(f"STALE ASSIGNMENTS, no access in {STALE_AFTER.days} days ({len(a.stale)})")
        lines += [f"  {s.user}  {s.client}  last access: {s.last_access or 'never'}"
                  for s in a.stale] or ["  none"]
    else:
        lines.append("STALE ASSIGNMENTS: not checked (no store yet)")
    if a.no_account:
        lines.append(f"staff without a local account (POSIX access not evaluated): "
                     f"{', '.join(a.no_account)}")
    # names and paths could carry terminal escapes: the same treatment as the HTML
    return "\n".join(visible(line) for line in lines) + "\n"


def format_html(a: Audit) -> str:
    body = [f'<header data-wallwatch-report="access"><h1>Permission audit</h1>'
            f'<div class="sub">generated {esc(a.generated)}</div></header>']
    cls = "bad" if a.excess else "ok"
    body.append(f'<div class="summary"><p class="{cls}">{len(a.excess)} excess access(es), '
                f"{len(a.world)} folder(s) open to everyone, "
                f"{len(a.stale)} stale assignment(s).</p></div>")
    body.append("<h2>Excess access</h2>" + table(
        [("", "User"), ("", "Client"), ("", "Access"), ("", "Reason"), ("path", "Via")],
        [[("", esc(e.user)), ("", esc(e.client)), ("bad", _rw(e.read, e.write)),
          ("", esc(e.reason)), ("path", esc("; ".join(e.via)))] for e in a.excess], "None."))
    body.append("<h2>Open to everyone</h2>" + table(
        [("", "Client"), ("path", "Folder"), ("path", "Via")],
        [[("", esc(f.client)), ("path", esc(f.path)),
          ("bad", esc("; ".join(g.via for g in f.world)))] for f in a.world], "None."))
    body.append("<h2>Stale assignments</h2>" + (table(
        [("", "User"), ("", "Client"), ("", "Last access")],
        [[("", esc(s.user)), ("", esc(s.client)), ("", esc(s.last_access or "never"))]
         for s in a.stale], "None.") if a.stale_checked else "<p>Not checked: no store.</p>"))
    body.append("<h2>Folders</h2>")
    for f in a.folders:
        body.append(f'<h3>{esc(f.client)} <span class="muted">{esc(f.path)}</span></h3>'
                    f"<p>{esc(f.mode)} {esc(f.owner)}:{esc(f.group)}"
                    + (f" · acl {esc(f.acl)}" if f.acl else "")
                    + (f"<br>sddl ({esc(f.sddl_time)}): {esc(f.sddl)}" if f.sddl else "")
                    + (f'<br><span class="bad">{esc(f.error)}</span>' if f.error else "")
                    + "</p>")
        rows = [[("", esc(_who(g.kind, g.name, g.members))),
                 ("bad" if g.name == EVERYONE else "", _rw(g.read, g.write)),
                 ("path", esc(g.via))] for g in f.grants]
        rows += [[("", esc(f"staff {r.user}")),
                  ("ok" if r.status == "assigned" else "bad", _rw(r.read, r.write)),
                  ("path", esc(f"{r.status}; {'; '.join(r.via)}"))]
                 for r in a.reach.get(f.path, [])]
        body.append(table([("", "Who"), ("", "Access"), ("path", "Via")], rows, "Nobody."))
    return document("en", "Wallwatch permission audit", body)
