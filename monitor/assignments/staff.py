"""The config's `staff:` table as one more provider, and the book built from all of them.

The staff table stays the place for what a directory does not know: `left:`
dates, `except:` exclusions (they win over any directory group: a conflict of
interest is written down on purpose) and the `*` role of partners who see every
client.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.assignments.book import AssignmentBook, Grant, Snapshot
from monitor.config import Config

STAFF = "staff"  # the provider name of the config's table


def staff_snapshot(config: Config) -> Snapshot:
    pairs = [(user, Grant(client)) for user, member in config.staff.items()
             for client in member.clients]
    return Snapshot.build(pairs, config.staff.keys())


def make_book(config: Config, snapshots: Mapping[str, Snapshot]) -> AssignmentBook:
    """The staff table merged with the providers' (last good) snapshots."""
    return AssignmentBook.build(
        [staff_snapshot(config), *(snap for name, snap in sorted(snapshots.items())
                                   if name != STAFF)],
        config.timezone,
        excluded={user: m.excluded for user, m in config.staff.items() if m.excluded},
        departed={user: m.left for user, m in config.staff.items() if m.left is not None},
        archived=config.archived_clients,
    )
