"""Small builders shared by tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.event import Event, event_id


def make_event(n: int = 0, **kw: Any) -> Event:
    base: dict[str, Any] = {
        "id": event_id("test", n),
        "timestamp": datetime(2026, 11, 2, 9, 0, n % 60, tzinfo=UTC),
        "dataset": "samba.audit",
        "category": "file",
        "type": "access",
        "action": "read",
        "user_name": "alice",
        "source_ip": "192.0.2.1",
        "file_path": f"/srv/share/clients/acme/file{n}.xlsx",
        "client": "acme",
        "assigned": True,
    }
    base.update(kw)
    return Event(**base)
