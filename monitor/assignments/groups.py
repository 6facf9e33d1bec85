"""Group memberships → a Snapshot, and the local-groups provider (/etc/group).

Shared by the directory provider: once groups are resolved to the user names
they contain (nesting included), mapping them to clients is the same for both.
"""

from __future__ import annotations

import grp
import pwd
from collections.abc import Iterable, Mapping

from monitor.assignments.book import Grant, Snapshot
from monitor.assignments.settings import GroupMapping, GroupsConfig
from monitor.errors import WallwatchError


class ProviderError(WallwatchError):
    """A provider could not give a complete answer; the last good copy stays in use."""


def snapshot_from_groups(groups: Mapping[str, Iterable[str]], mapping: GroupMapping,
                         staff_groups: Iterable[str] = ()) -> Snapshot:
    """`groups`: group name → its users (nested members already resolved).

    Members of a client group are assigned to that client; members of a staff group
    are known staff with no client of their own (so their access is judged, not
    ignored as a stranger's)."""
    staff = {g.lower() for g in staff_groups}
    pairs: list[tuple[str, Grant]] = []
    known: set[str] = set()
    for name, users in groups.items():
        client = mapping.client_of(name)
        if client is not None:
            pairs.extend((user, Grant(client)) for user in users)
        elif name.lower() in staff:
            known.update(users)
    return Snapshot.build(pairs, known)


def read_group_file(path: str) -> dict[str, tuple[int, list[str]]]:
    """`name:x:gid:alice,bob` lines → name → (gid, members)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ProviderError(f"cannot read group file: {exc.strerror}", path) from None
    except UnicodeDecodeError:
        raise ProviderError("group file is not UTF-8 text", path) from None
    out: dict[str, tuple[int, list[str]]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 4 or not parts[2].isdigit():
            raise ProviderError("not a group line (name:password:gid:members)", path, number)
        out[parts[0]] = (int(parts[2]), [m.strip() for m in parts[3].split(",") if m.strip()])
    return out


def fetch_local_groups(cfg: GroupsConfig) -> Snapshot:
    """The host's groups: members listed in the group, plus users whose primary group
    it is (/etc/group does not list those)."""
    if cfg.group_file is not None:
        table = read_group_file(cfg.group_file)
        primary: dict[int, list[str]] = {}
    else:
        table = {g.gr_name: (g.gr_gid, list(g.gr_mem)) for g in grp.getgrall()}
        primary = {}
        for user in pwd.getpwall():
            primary.setdefault(user.pw_gid, []).append(user.pw_name)
    groups = {name: [*members, *primary.get(gid, [])] for name, (gid, members) in table.items()}
    return snapshot_from_groups(groups, cfg.mapping, cfg.staff_groups)
