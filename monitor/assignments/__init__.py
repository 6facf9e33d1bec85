"""Staff–client assignments from where they already are: directory groups (LDAP,
Active Directory, Samba AD), local groups, a practice-management CSV export, and
the config's `staff:` table, merged into one AssignmentBook the Enricher asks.

    book.py       the immutable book, its snapshots and the holder that swaps it
    settings.py   the `assignments:` config section → provider configs
    ldap.py       directory groups, nested groups resolved
    groups.py     local groups, and group memberships → a snapshot
    csvfile.py    the CSV export
    staff.py      the staff table as a provider; the merged book
    events.py     changes between snapshots as events
    refresher.py  the thread that keeps the book current and the last good copies
"""

from monitor.assignments.book import AssignmentBook, BookHolder, Grant, Snapshot

__all__ = ["AssignmentBook", "BookHolder", "Grant", "Snapshot"]
