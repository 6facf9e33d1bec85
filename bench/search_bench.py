"""Search timings on a store of N events (1M by default, 10M with --big).

The store is filled through Wallwatch's own Store (so with its search index) with
events shaped like the generated logs' (the firm's staff, clients and file names,
SSH failures, auditd opens), about a million a day ending now. It is kept between
runs while monitor/store.py and monitor/event.py are unchanged.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import firm
from bench.generate import DataSet
from bench.measure import run
from bench.wallwatch_runs import REPO, WALLWATCH

PER_DAY = 1_000_000
BATCH = 20_000


@dataclass
class Query:
    label: str
    text: str
    since: datetime | None = None
    until: datetime | None = None
    first_s: float = 0.0
    median_s: float = 0.0
    rows: int = 0
    all_s: float = 0.0  # every match, not just the first page
    all_rows: int = 0
    cli_s: float = 0.0  # `wallwatch search` as a user runs it (process start included)


@dataclass
class SearchResult:
    events: int
    build_s: float  # 0 when the store was reused
    bytes_per_event: float
    queries: list[Query] = field(default_factory=list)


def _code_hash() -> str:
    h = hashlib.sha256()
    for name in ("store.py", "event.py", "chain.py"):
        h.update((REPO / "monitor" / name).read_bytes())
    return h.hexdigest()[:12]


def build(db: Path, n: int, seed: int, end: datetime) -> float:
    """Fill a fresh store with n events; returns the seconds it took."""
    from monitor.event import Event, event_id
    from monitor.store import Store

    rng = random.Random(seed)
    staff = [m for m in firm.staff_table().values() if not m.all_clients]
    files = {c: firm.client_files(c) for c in firm.CLIENTS}
    ips = [".".join(str(rng.randint(1, 223)) for _ in range(4)) for _ in range(3000)]
    span_us = int(max(1.0, n / PER_DAY) * 86400 * 1e6)
    start = end - timedelta(microseconds=span_us)
    actions = (("read", "access"), ("read", "access"), ("read", "access"), ("write", "change"),
               ("open", "access"), ("stat", "info"), ("rename", "change"),
               ("delete", "deletion"))
    t0 = time.perf_counter()
    store = Store(db)
    try:
        for first in range(0, n, BATCH):
            batch = []
            for i in range(first, min(n, first + BATCH)):
                ts = start + timedelta(microseconds=span_us * i // n)
                r = rng.random()
                if r < 0.8:
                    m = rng.choice(staff)
                    client = rng.choice(m.workable())
                    action, etype = rng.choice(actions)
                    path = rng.choice(files[client])
                    batch.append(Event(
                        id=event_id("bench", i), timestamp=ts, dataset="samba.audit",
                        category="file", type=etype, action=action, user_name=m.name,
                        source_ip=m.ip, host_name=firm.HOST, file_path=path,
                        file_target_path=path + ".bak" if action == "rename" else None,
                        client=client, assigned=True, off_hours=False, share="clients",
                        archived=False, log_offset=i * 180,
                        extra={"samba.machine": m.machine,
                               "samba.operations": {"close": 2, "create_file": 1,
                                                    "openat": 2, "pread_recv": 1}}))
                elif r < 0.9:
                    batch.append(Event(
                        id=event_id("bench", i), timestamp=ts, dataset="system.auth",
                        category="authentication", type="start", action="ssh_login",
                        outcome="failure", user_name=rng.choice(("root", "admin", "test")),
                        source_ip=rng.choice(ips), source_port=rng.randint(1024, 65535),
                        host_name=firm.HOST, log_offset=i * 120,
                        extra={"process.name": "sshd", "process.pid": 20000 + i % 40000}))
                else:
                    client = rng.choice(firm.CLIENTS)
                    batch.append(Event(
                        id=event_id("bench", i), timestamp=ts, dataset="auditd",
                        category="file", type="access", action="opened-file",
                        user_name="root", host_name=firm.HOST,
                        file_path=rng.choice(files[client]), client=client, share="clients",
                        archived=client in firm.ARCHIVED, log_offset=i * 400,
                        extra={"process.executable": "/usr/bin/rsync", "user.id": "0"}))
            with store.transaction():
                store.insert_events(batch)
    finally:
        store.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - t0


def measure(data: DataSet, work: Path, n: int, seed: int, python: str,
            repeat: int = 5) -> SearchResult:
    from monitor.search import search
    from monitor.store import Store

    work.mkdir(parents=True, exist_ok=True)
    db = work / f"search-{n}-{seed}-{_code_hash()}.db"
    end = datetime(2026, 1, 1, tzinfo=UTC)  # fixed: a kept store stays valid
    build_s = 0.0
    if not db.exists():
        for old in work.glob(f"search-{n}-*.db*"):
            old.unlink()
        partial = db.with_suffix(".partial")
        for old in work.glob(partial.name + "*"):
            old.unlink()
        build_s = build(partial, n, seed, end)
        partial.rename(db)
    size = db.stat().st_size
    config = work / "search.yaml"
    config.write_text(firm.config_text(data.files, db, data.staff()), encoding="utf-8")
    member = firm.staff_table()[firm.ACCOUNTANTS[3]]
    client = member.workable()[0]
    day = (end - timedelta(days=1), end)
    queries = [
        Query("user + client + last 24 h",
              f"user.name:{member.name} AND wallwatch.client:{client}", *day),
        Query("path substring, common (3 chars)", "工资表"),
        Query("path substring, rare", f"合同-{client}-0"),
        Query("path substring, 2 chars (no trigram)", "凭证"),
    ]
    for q in queries:
        times = []
        for _ in range(repeat):
            store = Store(db)
            try:
                t0 = time.perf_counter()
                q.rows = len(search(store, q.text, since=q.since, until=q.until, limit=100))
                times.append(time.perf_counter() - t0)
            finally:
                store.close()
        q.first_s, q.median_s = times[0], statistics.median(times)
        store = Store(db)
        try:
            t0 = time.perf_counter()
            q.all_rows = len(search(store, q.text, since=q.since, until=q.until,
                                    limit=10 * n))
            q.all_s = time.perf_counter() - t0
        finally:
            store.close()
        argv = [python, *WALLWATCH, "-c", str(config), "search", "--limit", "100"]
        if q.since is not None and q.until is not None:
            argv += ["--since", q.since.isoformat(), "--until", q.until.isoformat()]
        cli = run([*argv, q.text], work / "search-stdout.txt", work / "search-stderr.txt",
                  cwd=REPO, timeout=600)
        q.cli_s = cli.wall if cli.status == 0 else float("nan")
    return SearchResult(n, build_s, size / n, queries)
