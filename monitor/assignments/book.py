"""Who is assigned to which client, when: an immutable AssignmentBook and its holder.

Each provider (the config's `staff:` table, a directory, local groups, a CSV
export) yields a Snapshot: the users it knows and their grants. The book is the
union of every provider's last good snapshot. A user no provider knows is
*unknown* (assigned is None, not False), so a stranger's access is not called a
breach of the wall, and a directory that forgets everyone is caught upstream
(see refresher.py) instead of turning every access into one.

The book never changes; the refresher builds a new one and swaps it into the
BookHolder, which every source thread reads through the Enricher.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

ALL_CLIENTS = "*"  # a grant for every client (the staff table's `*` role)


def normalise_user(name: str) -> str:
    """`FIRM\\alice`, `alice@firm.local` and `Alice` are all alice."""
    name = name.rsplit("\\", 1)[-1]
    if "@" in name:
        name = name.split("@", 1)[0]
    return name.lower()


@dataclass(frozen=True)
class Grant:
    """One assignment to a client, on the days start..end (both inclusive, firm's time;
    None is open-ended). Client codes are kept lower-case: folder names and directory
    group names do not agree on case."""

    client: str
    start: date | None = None
    end: date | None = None

    def key(self) -> tuple[str, date, date]:
        """For sorting: open ends sort as the earliest start and the latest end."""
        return (self.client, self.start or date.min, self.end or date.max)

    def covers(self, client: str, day: date) -> bool:
        if self.client != ALL_CLIENTS and self.client != client:
            return False
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def to_json(self) -> list[str | None]:
        return [self.client,
                self.start.isoformat() if self.start else None,
                self.end.isoformat() if self.end else None]

    @staticmethod
    def from_json(data: list[Any]) -> Grant:
        client, start, end = data
        return Grant(str(client), date.fromisoformat(start) if start else None,
                     date.fromisoformat(end) if end else None)


def sorted_pairs(pairs: Iterable[tuple[str, Grant]]) -> list[tuple[str, Grant]]:
    return sorted(pairs, key=lambda pair: (pair[0], pair[1].key()))


@dataclass(frozen=True)
class Snapshot:
    """What one provider said at one time: the users it knows and their grants."""

    grants: Mapping[str, frozenset[Grant]] = field(default_factory=dict)
    known: frozenset[str] = frozenset()  # includes every user with a grant

    @staticmethod
    def build(pairs: Iterable[tuple[str, Grant]], known: Iterable[str] = ()) -> Snapshot:
        grants: dict[str, set[Grant]] = {}
        for user, grant in pairs:
            grants.setdefault(normalise_user(user), set()).add(
                Grant(grant.client.lower(), grant.start, grant.end))
        users = {normalise_user(u) for u in known} | set(grants)
        return Snapshot({u: frozenset(g) for u, g in grants.items()}, frozenset(users))

    def pairs(self) -> set[tuple[str, Grant]]:
        return {(user, grant) for user, grants in self.grants.items() for grant in grants}

    def __len__(self) -> int:
        return sum(len(g) for g in self.grants.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "known": sorted(self.known),
            "grants": [[user, *grant.to_json()] for user, grant in sorted_pairs(self.pairs())],
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Snapshot:
        pairs = [(str(row[0]), Grant.from_json(row[1:])) for row in data.get("grants", [])]
        return Snapshot.build(pairs, data.get("known", []))


@dataclass(frozen=True)
class AssignmentBook:
    """The union of the providers' snapshots, plus the staff table's exclusions and
    departure dates and the config's archived clients."""

    grants: Mapping[str, tuple[Grant, ...]]
    known: frozenset[str]
    excluded: Mapping[str, frozenset[str]]  # `except:` wins over any grant
    departed: Mapping[str, date]  # `left:`: the last working day
    archived: frozenset[str]
    timezone: tzinfo

    @staticmethod
    def build(snapshots: Iterable[Snapshot], timezone: tzinfo,
              excluded: Mapping[str, Iterable[str]] | None = None,
              departed: Mapping[str, date] | None = None,
              archived: Iterable[str] = ()) -> AssignmentBook:
        grants: dict[str, set[Grant]] = {}
        known: set[str] = set()
        for snap in snapshots:
            known |= snap.known
            for user, user_grants in snap.grants.items():
                grants.setdefault(user, set()).update(user_grants)
        return AssignmentBook(
            grants={u: tuple(sorted(g, key=Grant.key)) for u, g in grants.items()},
            known=frozenset(known),
            excluded={normalise_user(u): frozenset(c.lower() for c in cs)
                      for u, cs in (excluded or {}).items()},
            departed={normalise_user(u): d for u, d in (departed or {}).items()},
            archived=frozenset(c.lower() for c in archived),
            timezone=timezone,
        )

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.timezone).date()

    def assigned(self, user: str, client: str, at: datetime) -> bool | None:
        """Was `user` assigned to `client` at `at`? None when no provider knows the user."""
        name = normalise_user(user)
        if name not in self.known:
            return None
        code = client.lower()
        if code in self.excluded.get(name, ()):
            return False
        day = self.local_day(at)
        return any(g.covers(code, day) for g in self.grants.get(name, ()))

    def is_departed(self, user: str, at: datetime) -> bool | None:
        """True after the user's last working day; None when no departure is recorded."""
        left = self.departed.get(normalise_user(user))
        return None if left is None else self.local_day(at) > left

    def is_archived(self, client: str) -> bool:
        return client.lower() in self.archived

    def users(self) -> Iterator[str]:
        return iter(sorted(self.known))


class BookHolder:
    """The current book, swapped whole under a lock: a reader gets the old book or
    the new one, never a mix, and keeps the one it got for the event at hand."""

    def __init__(self, book: AssignmentBook) -> None:
        self._lock = threading.Lock()
        self._book = book
        self.swaps = 0

    @property
    def current(self) -> AssignmentBook:
        with self._lock:
            return self._book

    def swap(self, book: AssignmentBook) -> AssignmentBook:
        """Install `book`; returns the one it replaced."""
        with self._lock:
            old, self._book = self._book, book
            self.swaps += 1
        return old
