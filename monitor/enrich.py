"""Enrichment: which client a path belongs to, whether the user was assigned to it
at the event's time, which share it is on. Pure functions of the event, the config
and the current assignment book (monitor/assignments), so a replay with the same
book enriches an event exactly as the live run did.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from datetime import datetime

from monitor.assignments.book import BookHolder, normalise_user
from monitor.assignments.staff import make_book
from monitor.calendar import BusinessCalendar
from monitor.config import Config
from monitor.event import Event

__all__ = ["Enricher", "compile_client_pattern", "normalise_user"]


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


class Enricher:
    """Adds wallwatch.client, wallwatch.assigned, wallwatch.share and host.name."""

    def __init__(self, config: Config,
                 off_hours: Callable[[datetime], bool] | None = None,
                 assignments: BookHolder | None = None) -> None:
        if off_hours is None:
            off_hours = BusinessCalendar(config.calendar).off_hours
        self.patterns = [compile_client_pattern(p) for p in config.client_paths]
        # folders in a client place that are not clients (clients.ignore)
        self.ignored = (re.compile("|".join(fnmatch.translate(p.casefold())
                                            for p in config.ignored_clients))
                        if config.ignored_clients else None)
        self._clients: dict[str, str | None] = {}
        # the daemon passes the refresher's holder; alone, the staff table is the book
        self.assignments = assignments or BookHolder(make_book(config, {}))
        self.host_name = config.host_name
        # longest root first, so a nested share wins over its parent
        self.shares = sorted(((root.rstrip("/"), name) for name, root in config.shares.items()),
                             key=lambda item: -len(item[0]))
        self.off_hours = off_hours

    def client_of(self, path: str | None) -> str | None:
        if not path:
            return None
        if path in self._clients:
            return self._clients[path]
        client = None
        for pattern in self.patterns:
            match = pattern.match(path)
            if match:
                found = match.group("client")
                if self.ignored is not None and self.ignored.match(found.casefold()):
                    continue  # not a client; a later pattern may still place it
                client = found
                break
        if len(self._clients) > 100_000:  # paths repeat; the cache stays bounded
            self._clients.clear()
        self._clients[path] = client
        return client

    def share_of(self, path: str | None) -> str | None:
        if not path:
            return None
        for root, name in self.shares:
            if path == root or path.startswith(root + "/"):
                return name
        return None

    def assigned(self, user: str | None, client: str | None, at: datetime) -> bool | None:
        """Was the user assigned to the client at `at`? None when either is unknown."""
        if not user or not client:
            return None
        return self.assignments.current.assigned(user, client, at)

    def __call__(self, ev: Event) -> Event:
        book = self.assignments.current  # one book for the whole event, even mid-swap
        client = ev.client or self.client_of(ev.file_path) or self.client_of(ev.file_target_path)
        changes: dict[str, object] = {}
        if client != ev.client:
            changes["client"] = client
        assigned = (book.assigned(ev.user_name, client, ev.timestamp)
                    if ev.user_name and client else None)
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
            changes["archived"] = book.is_archived(client)
        if ev.user_name and ev.departed is None:
            # `left` is the last working day, in the firm's timezone
            departed = book.is_departed(ev.user_name, ev.timestamp)
            if departed is not None:
                changes["departed"] = departed
        return ev.with_(**changes) if changes else ev
