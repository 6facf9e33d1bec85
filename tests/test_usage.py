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


def test_each_report_is_stored_as_a_usage_event_with_what_it_covered(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = Store(db)
    store.commit_source_batch("s", [make_event(1)], [], {})
    store.close()
    config = write_config(tmp_path / "w.yaml", db, [])
    env = {"PATH": "/usr/bin", "SUDO_USER": "partner"}
    runs = [["report", "client", "acme", "--month", "2026-11", "--out", str(tmp_path / "r.html")],
            ["report", "activity", "--since", "7d", "--json"],
            ["report", "activity", "--since", "not-a-duration"]]
    codes = [subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *argv],
                            cwd=REPO, capture_output=True, env=env).returncode for argv in runs]
    assert codes[0] == 0 and codes[1] == 0 and codes[2] != 0
    out = subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), "search",
                          "event.dataset:wallwatch.usage AND event.action:report", "--json"],
                         cwd=REPO, capture_output=True, text=True, env=env)
    docs = [orjson.loads(line) for line in out.stdout.splitlines()]
    got = sorted((d["wallwatch"]["usage"]["report"], d["wallwatch"]["usage"]["outcome"],
                  d["wallwatch"]["usage"].get("client", ""), d["wallwatch"]["usage"].get(
                      "since", "")) for d in docs)
    # each run is recorded before it starts; the one that failed says so afterwards
    assert got == [("activity", "failure", "", "not-a-duration"),
                   ("activity", "started", "", "7d"),
                   ("activity", "started", "", "not-a-duration"),
                   ("client", "started", "acme", "")]
    [client] = [d for d in docs if d["wallwatch"]["usage"]["report"] == "client"]
    assert client["wallwatch"]["usage"]["month"] == "2026-11"
    assert client["wallwatch"]["usage"]["out"] == str(tmp_path / "r.html")
    assert {d["user"]["name"] for d in docs} == {"partner"}


def test_the_activity_report_counts_its_own_record(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = Store(db)
    store.commit_source_batch("s", [make_event(1)], [], {})
    store.close()
    config = write_config(tmp_path / "w.yaml", db, [])
    out = subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), "report",
                          "activity", "--since", "3650d", "--json"], cwd=REPO,
                         capture_output=True, text=True, env={"PATH": "/usr/bin"})
    assert out.returncode == 0, out.stderr
    store = Store(db)
    assert orjson.loads(out.stdout)["events"] == store.count() == 2
    store.close()


def test_a_report_without_a_store_does_not_create_one(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    config = write_config(tmp_path / "w.yaml", db, [])
    subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), "report", "access",
                    "--root", str(tmp_path)], cwd=REPO, capture_output=True,
                   env={"PATH": "/usr/bin"})
    assert not db.exists()
