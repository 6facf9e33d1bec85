"""A seeded stream of realistic events for rule-engine tests: staff working in
their clients' folders, a few breaches, night-time bursts, deletes and renames,
SSH and SMB password guessing."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from monitor.event import Event, event_id

CLIENTS = [f"c{i:03d}" for i in range(200)]
STAFF = [f"staff{i:02d}" for i in range(50)]


def assigned_clients(user: str) -> list[str]:
    n = int(user[5:])
    return [CLIENTS[(n * 4 + k) % len(CLIENTS)] for k in range(4)]


def stream(count: int, seed: int = 1, start: datetime | None = None) -> Iterator[Event]:
    rng = random.Random(seed)
    ts = start or datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    n = 0
    while n < count:
        ts += timedelta(milliseconds=rng.randint(5, 120))
        r = rng.random()
        user = rng.choice(STAFF)
        own = assigned_clients(user)
        if r < 0.85:  # ordinary work
            client = rng.choice(own) if rng.random() > 0.002 else rng.choice(CLIENTS)
            action = rng.choice(["read", "read", "read", "write", "open", "rename", "delete"])
            burst = 1
        elif r < 0.87:  # a burst: bulk read, mass delete or mass rename
            client, burst = rng.choice(own), rng.randint(20, 80)
            action = rng.choice(["read", "delete", "rename"])
        else:  # logins
            ip = f"203.0.113.{rng.randint(1, 60)}"
            failures = rng.choice([1, 1, 1, 3, 12])
            for k in range(failures + 1):
                if n >= count:
                    return
                outcome = "failure" if k < failures else rng.choice(["success", "failure"])
                yield Event(id=event_id("wl", seed, n), timestamp=ts + timedelta(seconds=k),
                            dataset=rng.choice(["system.auth", "samba.auth"]),
                            category="authentication", type="start", action="login",
                            outcome=outcome, user_name=user, source_ip=ip,
                            off_hours=ts.hour < 1 or ts.hour > 10)
                n += 1
            continue
        for k in range(burst):
            if n >= count:
                return
            yield Event(id=event_id("wl", seed, n), timestamp=ts + timedelta(seconds=k),
                        dataset="samba.audit", category="file", type="access", action=action,
                        user_name=user, source_ip=f"10.0.0.{1 + int(user[5:])}",
                        file_path=f"/srv/share/clients/{client}/f{rng.randint(0, 300)}.xlsx",
                        client=client, assigned=client in own,
                        off_hours=ts.hour < 1 or ts.hour > 10)
            n += 1
