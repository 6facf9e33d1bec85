"""The access log of the access log: who searched what, who produced which report.

Each use is an event in the store (dataset `wallwatch.usage`), hash-chained like
every other, so a responder can see that someone looked — and what for.
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime

from monitor.config import Config
from monitor.event import Event, event_id
from monitor.store import Store


def who() -> str:
    """The person behind the command: sudo's caller when run through sudo."""
    user = os.environ.get("SUDO_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def record_usage(store: Store, config: Config, action: str, details: dict[str, object]) -> None:
    now = datetime.now(UTC)
    user = who()
    extra = {f"wallwatch.usage.{k}": v for k, v in details.items()}
    extra["process.pid"] = os.getpid()
    ev = Event(id=event_id("usage", user, action, now.isoformat(), os.getpid()), timestamp=now,
               dataset="wallwatch.usage", category="database", type="access", action=action,
               user_name=user, host_name=config.host_name, extra=extra)
    with store.transaction():
        store.insert_events([ev])
