"""Changes between two snapshots of a provider, as events: the wall's own history.

Who gained or lost access to which client, and when we learnt it. Each change
is an ECS `iam` / `change` event in dataset `wallwatch.assignments`; its id is
made of the provider, the change and the time it was seen, so storing the same
change twice (a retried transaction) keeps one row.
"""

from __future__ import annotations

from datetime import datetime

from monitor.assignments.book import Grant, Snapshot, sorted_pairs
from monitor.event import Event, event_id, ts_to_us

DATASET = "wallwatch.assignments"
ADDED = "assignment-added"
REMOVED = "assignment-removed"


def change_events(provider: str, old: Snapshot | None, new: Snapshot, at: datetime,
                  host_name: str | None = None) -> list[Event]:
    """assignment-added / -removed events for every grant that differs; a first
    snapshot (old is None) records every grant as added."""
    before = old.pairs() if old is not None else set()
    after = new.pairs()
    out = [_event(provider, REMOVED, user, grant, at, host_name)
           for user, grant in sorted_pairs(before - after)]
    out += [_event(provider, ADDED, user, grant, at, host_name)
            for user, grant in sorted_pairs(after - before)]
    return out


def _event(provider: str, action: str, user: str, grant: Grant, at: datetime,
           host_name: str | None) -> Event:
    extra: dict[str, str] = {"wallwatch.assignment.provider": provider}
    if grant.start is not None:
        extra["wallwatch.assignment.from"] = grant.start.isoformat()
    if grant.end is not None:
        extra["wallwatch.assignment.until"] = grant.end.isoformat()
    return Event(
        id=event_id("assignment", provider, action, user, *grant.to_json(), ts_to_us(at)),
        timestamp=at,
        dataset=DATASET,
        category="iam",
        type="change",
        action=action,
        user_name=user,
        client=grant.client,
        host_name=host_name,
        extra=extra,
    )
