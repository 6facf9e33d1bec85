"""The hash chain's links are copied to Elasticsearch, so `wallwatch verify
--elasticsearch` catches a store rewritten from scratch (every hash recomputed),
which the local walk alone cannot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor import chain
from monitor.sinks.es_ship import CURSORS
from monitor.store import Store
from tests.fixtures.es_standin import EsStandin
from tests.sinks.es_helpers import (
    Running,
    es_config,
    fill,
    install_templates,
    source_events,
    standin_server,
    wait_until,
)

standin = pytest.fixture(name="standin")(standin_server)
CHAIN = "logs-wallwatch.chain-default"


def config_file(tmp_path: Path, db: Path, url: str) -> Path:
    path = tmp_path / "w.yaml"
    path.write_text(f"host: {{name: fs-test}}\nstore: {{path: {db}}}\nsources: []\n"
                    f"elasticsearch:\n  url: {url}\n")
    return path


def verify(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), "verify",
                           *extra], capture_output=True, text=True, timeout=120)


def ship_chain(tmp_path: Path, standin: EsStandin, events: int) -> tuple[Path, Store]:
    cfg = es_config(standin.url)
    install_templates(cfg)
    db = tmp_path / "w.db"
    store = fill(db, source_events(events, seed=5), batch=500)
    with Running(cfg, db):
        wait_until(lambda: store.cursor(CURSORS["chain"])[0] >= chain.head(store.db)[0]
                   and store.cursor(CURSORS["events"])[0] >= store.head(), 120,
                   "the chain links to be shipped")
    return db, store


def rewrite_from_scratch(db: Path) -> None:
    """What a careful intruder does: edit a row, then recompute every batch's digest
    and link so the local chain is consistent again."""
    store = Store(db)
    try:
        with store.transaction():
            store.db.execute("UPDATE events SET user_name = 'nobody' WHERE seq = 700")
            prev = chain.GENESIS
            for batch, kind, first, last in store.db.execute(
                    "SELECT batch, kind, first_seq, last_seq FROM chain ORDER BY batch"
            ).fetchall():
                digest, rows, _ = chain.digest(store.rows_of(kind, first, last))
                prev = chain.link(prev, kind, first, last, rows, digest)
                store.db.execute("UPDATE chain SET digest = ?, hash = ? WHERE batch = ?",
                                 (digest, prev, batch))
    finally:
        store.close()


def test_every_link_is_copied_once_with_its_hash(tmp_path: Path, standin: EsStandin) -> None:
    _, store = ship_chain(tmp_path, standin, 3000)
    links = {int(b): bytes(h).hex() for b, h in store.db.execute("SELECT batch, hash FROM chain")}
    assert len(links) == 6
    arrivals = standin.arrivals(CHAIN)
    assert len(arrivals) == len(set(arrivals)) == 6
    docs = standin.docs(CHAIN)
    assert {d["wallwatch"]["chain"]["batch"]: d["wallwatch"]["chain"]["hash"]
            for d in docs} == links
    assert {d["host"]["name"] for d in docs} == {"fs-test"}
    assert {d["event"]["dataset"] for d in docs} == {"wallwatch.chain"}


def test_a_store_rewritten_from_scratch_verifies_locally_but_not_against_the_cluster(
        tmp_path: Path, standin: EsStandin) -> None:
    db, store = ship_chain(tmp_path, standin, 3000)
    store.close()
    config = config_file(tmp_path, db, standin.url)
    honest = verify(config, "--elasticsearch")
    assert honest.returncode == 0, honest.stdout + honest.stderr
    assert "6 links match" in honest.stdout

    rewrite_from_scratch(db)
    local = verify(config)
    assert local.returncode == 0, "the rewrite should fool the local walk"
    against = verify(config, "--elasticsearch")
    assert against.returncode == 1
    assert "TAMPERED: batch 2: local hash" in against.stdout  # seq 700 is in batch 2


def test_links_not_yet_shipped_are_reported_not_failed(tmp_path: Path,
                                                       standin: EsStandin) -> None:
    db, store = ship_chain(tmp_path, standin, 1000)
    store.commit_source_batch("more", source_events(500, seed=9), [], {})
    store.close()
    result = verify(config_file(tmp_path, db, standin.url), "--elasticsearch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 links match" in result.stdout and "(1 not shipped yet)" in result.stdout
