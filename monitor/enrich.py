"""Enrichment: which client a path belongs to, whether the user is assigned to it,
which share it is on. Pure functions of the event and the config, so a replay
enriches an event exactly as the live run did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from monitor.calendar import BusinessCalendar
from monitor.config import Config, StaffMember
from monitor.event import Event


def compile_client_pattern(pattern: str) -> re.Pattern[str]:
    """`/srv/share/clients/{client}/**` → a regex with a `client` group.

    `**` matches any number of path segments (including none), `*` one segment's
    worth of characters, `?` one character.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern.startswith("{client}", i):
            out.append("(?P<client>[^/]+)")
            i += len("{client}")
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def normalise_user(name: str) -> str:
    """`FIRM\\alice`, `alice@firm.local` and `Alice` are all alice."""
    name = name.rsplit("\\", 1)[-1]
    if "@" in name:
        name = name.split("@", 1)[0]
    return name.lower()


class Enricher:
    """Adds wallwatch.client, wallwatch.assigned, wallwatch.share and host.name."""

    def __init__(self, config: Config,
                 off_hours: Callable[[datetime], bool] | None = None) -> None:
        if off_hours is None:
            off_hours = BusinessCalendar(config.calendar).off_hours
        self.patterns = [compile_client_pattern(p) for p in config.client_paths]
        self.staff: Mapping[str, StaffMember] = config.staff
        self.archived = frozenset(c.lower() for c in config.archived_clients)
        self.timezone = config.timezone
        self.host_name = config.host_name
        # longest root first, so a nested share wins over its parent
        self.shares = sorted(((root.rstrip("/"), name) for name, root in config.shares.items()),
                             key=lambda item: -len(item[0]))
        self.off_hours = off_hours

    def client_of(self, path: str | None) -> str | None:
        if not path:
            return None
        for pattern in self.patterns:
            match = pattern.match(path)
            if match:
                return match.group("client")
        return None

    def share_of(self, path: str | None) -> str | None:
        if not path:
            return None
        for root, name in self.shares:
            if path == root or path.startswith(root + "/"):
                return name
        return None

    def assigned(self, user: str | None, client: str | None) -> bool | None:
        """True/False for known staff and a known client; None when either is unknown."""
        if not user or not client:
            return None
        member = self.staff.get(normalise_user(user))
        if member is None:
            return None
        return member.is_assigned(client)

    def __call__(self, ev: Event) -> Event:
        client = ev.client or self.client_of(ev.file_path) or self.client_of(ev.file_target_path)
        changes: dict[str, object] = {}
        if client != ev.client:
            changes["client"] = client
        assigned = self.assigned(ev.user_name, client)
        if assigned is not None and ev.assigned is None:
            changes["assigned"] = assigned
        if ev.share is None:
            share = self.share_of(ev.file_path)
            if share is not None:
                changes["share"] = share
        if ev.host_name is None:
            changes["host_name"] = self.host_name
        if self.off_hours is not None and ev.off_hours is None:
            changes["off_hours"] = self.off_hours(ev.timestamp)
        if client is not None and ev.archived is None:
            changes["archived"] = client.lower() in self.archived
        member = self.staff.get(normalise_user(ev.user_name)) if ev.user_name else None
        if member is not None and member.left is not None and ev.departed is None:
            # `left` is the last working day, in the firm's timezone
            changes["departed"] = ev.timestamp.astimezone(self.timezone).date() > member.left
        return replace(ev, **changes) if changes else ev  # type: ignore[arg-type]
