"""The rule engine as a consumer of the store, killed with SIGKILL at random points:
the alerts it stores equal those of an uninterrupted run, exactly."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import orjson

from monitor.store import Store
from tests.daemon_process import REPO, Daemon, query, wait_for, write_config
from tests.workloads.events import stream

# The issue asks for 1M events; WALLWATCH_KILL_EVENTS makes a quicker local run possible.
EVENTS = int(os.environ.get("WALLWATCH_KILL_EVENTS", "1000000"))
KILLS = 20


def fill(db: Path, count: int) -> None:
    store = Store(db)
    batch = []
    for ev in stream(count, seed=11):
        batch.append(ev)
        if len(batch) == 50_000:
            store.commit_source_batch("workload", batch, [], {})
            batch = []
    store.commit_source_batch("workload", batch, [], {})
    store.close()


def cursor(db: Path) -> tuple[int, bool]:
    rows = query(db, "SELECT position, state FROM cursors WHERE name='rules'")
    if not rows:
        return 0, False
    state = orjson.loads(rows[0][1]) if rows[0][1] else {}
    return int(rows[0][0]), not state.get("buffer")


def test_sigkill_at_20_points_gives_exactly_the_alerts_of_an_uninterrupted_run(
        tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    config = write_config(tmp_path / "w.yaml", db, [],
                          extra=f"rules: {{paths: [{REPO / 'rules'}], lateness: 2s}}")
    fill(db, EVENTS)
    head = int(query(db, "SELECT max(seq) FROM events")[0][0])
    # the uninterrupted run: a backtest over the same stored events, on the other core
    reference = subprocess.Popen(
        [sys.executable, "-m", "monitor", "-c", str(config), "backtest", "--json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    points = sorted(random.Random(7).sample(range(head // 50, head - head // 50), KILLS))
    for point in points:
        with Daemon(config, tmp_path / "d.log") as d:
            wait_for(lambda p=point: cursor(db)[0] >= p, 600, f"rules cursor at {point}", d)
            d.kill()
    with Daemon(config, tmp_path / "d.log") as d:
        wait_for(lambda: cursor(db) == (head, True), 600, "the rules to finish", d)
        assert d.stop() == 0
    out, _ = reference.communicate(timeout=900)
    assert reference.returncode == 0
    expected = [orjson.loads(line)["event"]["id"] for line in out.splitlines()]
    stored = [bytes(r[0]).hex() for r in query(db, "SELECT id FROM alerts")]
    assert len(expected) > 1000
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(expected)
