"""The fault suite's workload: Samba audit records (syslog form, one record a line)
of a small firm's day, with enough breaches for the shipped rules to raise alerts.

Twelve members of staff work in their own two clients' folders; now and then one
opens another client's folder (wall.cross-client-access), deletes or renames a
folder's worth of files (mass-delete / mass-rename), or touches many clients in
a few minutes (many-clients). Most records are single operations on paths seen
once, so nearly every record is one event and the size of a run is predictable;
a fifth are reads (an open and a read, grouped into one event).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

CLIENTS = [f"c{i:02d}" for i in range(24)]
STAFF = [f"staff{i:02d}" for i in range(12)]
ROOT = "/srv/share/clients"
START = datetime(2026, 11, 2, 7, 30, tzinfo=timezone(timedelta(hours=8)))
SOURCE_NAME = "smb"
SOURCE = {"type": "samba", "name": SOURCE_NAME, "format": "syslog",
          "prefix": "%u|%I|%m|%S"}


def own(user: str) -> list[str]:
    n = int(user[5:])
    return [CLIENTS[2 * n], CLIENTS[2 * n + 1]]


def staff_yaml() -> str:
    """The `staff:` value that makes own() the assignments."""
    return "{" + ", ".join(f"{u}: [{', '.join(own(u))}]" for u in STAFF) + "}"


def syslog_line(ts: datetime, body: str) -> str:
    return f"{ts.isoformat(timespec='microseconds')} fs1 smbd_audit: {body}\n"


def records(count: int, seed: int = 1, start: datetime = START,
            step_ms: tuple[int, int] = (20, 400)) -> Iterator[tuple[datetime, str]]:
    """`count` records (time, body) in time order."""
    rng = random.Random(seed)
    ts = start
    n = 0
    while n < count:
        ts += timedelta(milliseconds=rng.randint(*step_ms))
        user = rng.choice(STAFF)
        pre = f"{user}|10.0.1.{1 + int(user[5:])}|{user.upper()}-PC|clients"
        r = rng.random()
        if r < 0.0004:  # a burst: a folder's worth deleted or renamed, or many clients
            kind = rng.choice(["unlinkat", "renameat", "many"])
            client = rng.choice(own(user))
            for k in range(60):
                if n >= count:
                    return
                path = f"{ROOT}/{client}/批量/{n}-{k}.xlsx"
                if kind == "many":
                    path = f"{ROOT}/{CLIENTS[k % len(CLIENTS)]}/共享/{n}-{k}.pdf"
                    body = f"{pre}|mkdirat|ok|{path}"
                elif kind == "renameat":
                    body = f"{pre}|renameat|ok|{path}|{path}.locked"
                else:
                    body = f"{pre}|unlinkat|ok|{path}"
                yield ts + timedelta(milliseconds=20 * k), body
                n += 1
            ts += timedelta(seconds=2)
            continue
        client = rng.choice(own(user)) if rng.random() > 0.004 else rng.choice(CLIENTS)
        path = f"{ROOT}/{client}/{rng.choice(['账簿', '发票', 'tax'])}/{n}-{rng.randrange(99)}.xlsx"
        if r < 0.2:  # a read: the open and one read, one event
            yield ts, f"{pre}|create_file|ok|0x89|file|open|{path}"
            yield ts, f"{pre}|pread_recv|ok|{path}"
            n += 2
            continue
        op = rng.choice(["mkdirat", "mkdirat", "mkdirat", "unlinkat", "renameat"])
        body = f"{pre}|{op}|ok|{path}|{path}.v2" if op == "renameat" else f"{pre}|{op}|ok|{path}"
        yield ts, body
        n += 1


def lines(count: int, seed: int = 1, start: datetime = START) -> Iterator[str]:
    for ts, body in records(count, seed, start):
        yield syslog_line(ts, body)


def last_time(count: int, seed: int = 1, start: datetime = START) -> datetime:
    return max(ts for ts, _ in records(count, seed, start))


def write_log(path: str, count: int, seed: int = 1) -> int:
    """Write `count` records; the size of the file in bytes."""
    size = 0
    with open(path, "w", encoding="utf-8") as f:
        chunk: list[str] = []
        for line in lines(count, seed):
            chunk.append(line)
            if len(chunk) == 10_000:
                text = "".join(chunk)
                f.write(text)
                size += len(text.encode())
                chunk = []
        text = "".join(chunk)
        f.write(text)
        size += len(text.encode())
    return size
