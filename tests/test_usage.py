"""Every `wallwatch search` is itself recorded: who ran which query."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from monitor.store import Store
from tests.daemon_process import REPO, write_config
from tests.helpers import make_event


def test_each_search_is_stored_as_a_usage_event_with_the_query(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = Store(db)
    store.commit_source_batch("s", [make_event(1)], [], {})
    store.close()
    config = write_config(tmp_path / "w.yaml", db, [])
    for query in ("user.name:alice", "user.name:(broken"):
        subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), "search", query],
                       cwd=REPO, capture_output=True, env={"PATH": "/usr/bin",
                                                           "SUDO_USER": "auditor"})
    out = subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), "search",
                          "event.dataset:wallwatch.usage", "--json"], cwd=REPO,
                         capture_output=True, text=True, env={"PATH": "/usr/bin",
                                                              "SUDO_USER": "auditor"})
    docs = [orjson.loads(line) for line in out.stdout.splitlines()]
    got = sorted((d["wallwatch"]["usage"]["query"], d["wallwatch"]["usage"]["outcome"])
                 for d in docs)
    assert got == [("user.name:(broken", "failure"), ("user.name:alice", "success")]
    assert {d["user"]["name"] for d in docs} == {"auditor"}
    assert all(d["event"]["action"] == "search" for d in docs)
