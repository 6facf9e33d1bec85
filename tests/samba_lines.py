"""A seeded generator of Samba full_audit debug-log lines (the real 4.17 shapes)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

HEADER = "[{ts},  1] ../../source3/modules/vfs_full_audit.c:643(do_log)\n"


def record(ts: datetime, body: str) -> str:
    return HEADER.format(ts=ts.strftime("%Y/%m/%d %H:%M:%S.%f")) + f"  {body}\n"


def generate(n_records: int, seed: int = 7, start: datetime | None = None,
             root: str = "/srv/share/clients") -> list[str]:
    """Records of reads, writes, renames, deletes and mkdirs by a few users."""
    rng = random.Random(seed)
    ts = start or datetime(2026, 11, 2, 9, 0, 0)
    users = [("alice", "10.0.0.11"), ("bob", "10.0.0.12"), ("carol", "10.0.0.13")]
    clients = ["acme", "globex", "initech"]
    out: list[str] = []
    i = 0
    while len(out) < n_records:
        i += 1
        ts += timedelta(milliseconds=rng.randint(1, 400))
        user, ip = rng.choice(users)
        path = f"{root}/{rng.choice(clients)}/文件{rng.randint(0, 500)}.xlsx"
        pre = f"{user}|{ip}|{user.upper()}-PC|clients"
        kind = rng.random()
        if kind < 0.5:
            out.append(record(ts, f"{pre}|create_file|ok|0x89|file|open|{path}"))
            out.append(record(ts, f"{pre}|pread_send|ok|{path}"))
            out.append(record(ts, f"{pre}|pread_recv|ok|{path}"))
            out.append(record(ts, f"{pre}|close|ok|{path}"))
        elif kind < 0.7:
            out.append(record(ts, f"{pre}|openat|ok|w|{path}"))
            out.append(record(ts, f"{pre}|pwrite_recv|ok|{path}"))
        elif kind < 0.8:
            out.append(record(ts, f"{pre}|renameat|ok|{path}|{path}.{i}.bak"))
        elif kind < 0.9:
            out.append(record(ts, f"{pre}|unlinkat|ok|{path}.{i}"))
        else:
            out.append(record(ts, f"{pre}|mkdirat|ok|{path}.d{i}"))
    return out[:n_records]
