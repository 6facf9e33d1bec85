"""The shipper inside the real daemon (a child process): killed with SIGKILL while
shipping and started again, every event and alert is in the cluster exactly once;
and no credential ever shows in its log, its command line or what it prints."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.sinks.es_templates import stream_name
from tests.daemon_process import REPO, Daemon, query, wait_for, write_config
from tests.fixtures.es_standin import EsStandin
from tests.sinks.es_helpers import es_config, fill, install_templates, standin_server
from tests.workloads.events import stream

standin = pytest.fixture(name="standin")(standin_server)
EVENTS = stream_name("events", "default")
ALERTS = stream_name("alerts", "default")
CHAIN = stream_name("chain", "default")


def es_section(url: str, auth: str, batch: int = 1000) -> str:
    return (f"elasticsearch:\n  url: {url}\n  auth: {auth}\n"
            f"  batch: {{max_events: {batch}}}\n  backoff: {{initial: 0.01s, max: 0.2s}}\n"
            "  timeout: 5s\n")


def cursors(db: Path) -> dict[str, int]:
    return {str(n): int(p) for n, p in query(db, "SELECT name, position FROM cursors")}


def drained(db: Path) -> bool:
    heads = query(db, "SELECT (SELECT coalesce(max(seq), 0) FROM events),"
                      " (SELECT coalesce(max(seq), 0) FROM alerts)")
    if not heads:
        return False
    at = cursors(db)
    events, alerts = int(heads[0][0]), int(heads[0][1])
    batch = query(db, "SELECT coalesce(max(batch), 0) FROM chain")[0][0]
    return (at.get("rules", 0) >= events and at.get("es.events", -1) >= events
            and at.get("es.alerts", -1) >= alerts and at.get("es.chain", -1) >= int(batch))


def test_sigkill_while_shipping_then_restart_ships_everything_exactly_once(
        tmp_path: Path, standin: EsStandin) -> None:
    install_templates(es_config(standin.url))
    db = tmp_path / "w.db"
    events = list(stream(40_000, seed=21))
    fill(db, events).close()
    (tmp_path / "key").write_text("a2V5LWZvci10aGUtc3RhbmQtaW4=\n")
    (tmp_path / "key").chmod(0o600)
    standin.auth(api_key="a2V5LWZvci10aGUtc3RhbmQtaW4=")
    standin.faults(item={"429": 0.02}, slow=0.5, slow_seconds=[0.05, 0.2], seed=3)
    cfg = write_config(tmp_path / "w.yaml", db, [],
                       extra=es_section(standin.url, f"{{api_key_file: {tmp_path / 'key'}}}"))

    with Daemon(cfg, tmp_path / "daemon.log") as daemon:
        wait_for(lambda: standin.state()["streams"].get(EVENTS, 0) >= 8_000, 120,
                 "shipping to be under way", daemon)
        daemon.kill()
    shipped_before = standin.state()["streams"].get(EVENTS, 0)
    assert shipped_before < len(events), "the kill came too late to prove anything"

    with Daemon(cfg, tmp_path / "daemon.log") as daemon:
        wait_for(lambda: drained(db), 300, "the shipper to catch up after the restart", daemon)
        assert daemon.stop() == 0

    arrivals = standin.arrivals(EVENTS)
    assert len(arrivals) == len(set(arrivals)) == len(events)
    assert set(arrivals) == {e.id for e in events}
    stored_alerts = {bytes(r[0]).hex() for r in query(db, "SELECT id FROM alerts")}
    assert stored_alerts, "the rules should have raised alerts on this workload"
    alert_arrivals = standin.arrivals(ALERTS)
    assert sorted(alert_arrivals) == sorted(stored_alerts)
    assert query(db, "SELECT count(*) FROM dead_letters")[0][0] == 0
    # every link of the hash chain has a copy in the cluster, once, with the same hash
    links = {int(b): bytes(h).hex() for b, h in query(db, "SELECT batch, hash FROM chain")}
    chain_arrivals = standin.arrivals(CHAIN)
    assert len(chain_arrivals) == len(set(chain_arrivals)) == len(links)
    copies = {d["wallwatch"]["chain"]["batch"]: d["wallwatch"]["chain"]["hash"]
              for d in standin.docs(CHAIN)}
    assert copies == links


def test_no_secret_shows_in_the_log_the_command_line_or_the_output(
        tmp_path: Path, standin: EsStandin) -> None:
    password = "Zx9-very-secret-password"
    token = base64.b64encode(f"shipper:{password}".encode()).decode()
    install_templates(es_config(standin.url))
    standin.auth(basic=("shipper", "something-else"))  # refused at first: errors get logged
    db = tmp_path / "w.db"
    fill(db, list(stream(2_000, seed=5))).close()
    cfg = write_config(tmp_path / "w.yaml", db, [], extra=es_section(
        standin.url, "{username: shipper, password_env: WW_TEST_ES_PASSWORD}"))
    env = {**os.environ, "WW_TEST_ES_PASSWORD": password}
    log = tmp_path / "daemon.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "-v", "-c", str(cfg), "run"],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for(lambda: "HTTP 401" in log.read_text(), 60, "the refusal to be logged")
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
        standin.auth(basic=("shipper", password))
        wait_for(lambda: drained(db), 120, "shipping once the password is accepted")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    check = subprocess.run([sys.executable, "-m", "monitor", "-c", str(cfg), "config", "check"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    text = log.read_text()
    assert "HTTP 401" in text and "environment variable WW_TEST_ES_PASSWORD" in text
    for shown in (text, cmdline, check.stdout, check.stderr):
        assert password not in shown and token not in shown
