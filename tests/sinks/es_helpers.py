"""Shared by the Elasticsearch sink tests: events from several sources, a store
holding them, a shipper run against the stand-in, and the checks on what arrived."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.event import Event, event_id
from monitor.sinks.es_client import make_client
from monitor.sinks.es_config import EsConfig
from monitor.sinks.es_docs import DocContext
from monitor.sinks.es_setup import setup
from monitor.sinks.es_ship import CURSORS, Shipper
from monitor.store import Store
from tests.fixtures.es_standin import EsStandin

EVENTS_STREAM = "logs-wallwatch.events-default"
ALERTS_STREAM = "logs-wallwatch.alerts-default"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
CTX = DocContext("default", "fs-test", UTC)


def standin_server(tmp_path: Path) -> Iterator[EsStandin]:
    """Use as `standin = pytest.fixture(name="standin")(standin_server)` in a test module."""
    with EsStandin(tmp_path / "standin") as server:
        yield server


def source_events(count: int, sources: int = 4, seed: int = 1) -> list[Event]:
    """Events of several log files interleaved, each file's offsets increasing."""
    rng = random.Random(seed)
    offsets = [0] * sources
    out = []
    for n in range(count):
        k = rng.randrange(sources)
        offsets[k] += rng.randint(80, 300)
        user = f"staff{rng.randrange(30):02d}"
        client = f"c{rng.randrange(50):03d}"
        out.append(Event(
            id=event_id("es-test", seed, k, offsets[k]), timestamp=T0 + timedelta(
                milliseconds=37 * n), dataset="samba.audit", category="file", type="access",
            action=rng.choice(["read", "read", "write", "open", "delete"]), user_name=user,
            source_ip=f"10.0.{k}.{rng.randrange(1, 250)}",
            file_path=f"/srv/share/clients/{client}/报表-{rng.randrange(400)}.xlsx",
            client=client, assigned=rng.random() > 0.05, off_hours=rng.random() < 0.1,
            log_file=f"/var/log/samba/src{k}.log", log_offset=offsets[k],
            extra={"samba.operation": "pread_recv", "samba.operations": {"pread_recv": 2}}))
    return out


def fill(db: Path, events: list[Event], batch: int = 5000) -> Store:
    store = Store(db)
    for i in range(0, len(events), batch):
        store.commit_source_batch("test", events[i:i + batch], [], {})
    return store


def es_config(url: str, **kw: Any) -> EsConfig:
    values: dict[str, Any] = {"urls": (url,), "backoff_initial": 0.005, "backoff_max": 0.05,
                              "max_events": 2000, "timeout": 5.0}
    values.update(kw)
    return EsConfig(**values)


def install_templates(cfg: EsConfig) -> None:
    client = make_client(cfg)
    try:
        assert not [r for r in setup(client, cfg) if r.failed]
    finally:
        client.close()


def caught_up(store: Store) -> bool:
    return (store.cursor(CURSORS["events"])[0] >= store.head()
            and store.cursor(CURSORS["alerts"])[0] >= store.alerts_head())


class Running:
    """A shipper thread for the duration of a `with` block."""

    def __init__(self, cfg: EsConfig, db: Path, ctx: DocContext = CTX) -> None:
        self.stop = threading.Event()
        self.shipper = Shipper(cfg, str(db), ctx, self.stop)

    def __enter__(self) -> Shipper:
        self.shipper.start()
        return self.shipper

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.shipper.join(30)
        assert not self.shipper.is_alive()


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def ship_all(cfg: EsConfig, db: Path, store: Store, timeout: float = 180) -> Shipper:
    with Running(cfg, db) as shipper:
        wait_until(lambda: caught_up(store), timeout, "the shipper to catch up")
    return shipper


def seqs_by_id(store: Store) -> dict[str, int]:
    return {bytes(i).hex(): int(s) for s, i in store.query("SELECT seq, id FROM events", ())}


def late_arrivals(arrivals: list[str], seq_of: dict[str, int], window: int) -> list[str]:
    """Ids that arrived while an event more than `window` rows older had not: the
    shipper only sends a batch once every earlier one is done, so there must be none."""
    arrived_before: set[int] = set()
    expected = sorted(seq_of[i] for i in arrivals)
    pending = iter(expected)
    oldest_missing = next(pending, None)
    bad = []
    for doc_id in arrivals:
        seq = seq_of[doc_id]
        arrived_before.add(seq)
        while oldest_missing is not None and oldest_missing in arrived_before:
            oldest_missing = next(pending, None)
        if oldest_missing is not None and oldest_missing <= seq - window:
            bad.append(doc_id)
    return bad


def by_source(arrivals: list[str], events: dict[str, Event]) -> dict[str, list[str]]:
    """Each log file's event ids in the order they arrived."""
    out: dict[str, list[str]] = {}
    for doc_id in arrivals:
        out.setdefault(str(events[doc_id].log_file), []).append(doc_id)
    return out
