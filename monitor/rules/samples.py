"""Events written as dotted fields, for rule tests and examples:

    {"@timestamp": "2026-11-02T09:00:00Z", event.action: read, user.name: bob,
     wallwatch.client: acme, wallwatch.assigned: false}

Fields of the Event go to their attributes; anything else goes to `extra`
(a source's native fields). Missing required parts get defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.event import FIELDS, Event, event_id

BASE_TIME = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday, office hours in Shanghai


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def event_from_fields(fields: Mapping[str, Any], n: int = 0,
                      default_time: datetime = BASE_TIME) -> Event:
    """Build the n-th sample event; without @timestamp it is n seconds after default_time."""
    values: dict[str, Any] = {
        "timestamp": default_time + timedelta(seconds=n),
        "dataset": "sample", "category": "file", "type": "access", "action": "read",
    }
    extra: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "@timestamp":
            values["timestamp"] = parse_time(value)
        elif name in FIELDS:
            values[FIELDS[name]] = value
        else:
            extra[name] = value
    values.setdefault("id", event_id("sample", n, sorted((k, str(v)) for k, v in fields.items())))
    return Event(**values, extra=extra)
