"""Metrics: a real Prometheus scrapes the daemon; promtool accepts the exposition;
/healthz says whether every stage is alive."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import ClassVar

from tests.daemon_process import Daemon, caught_up, write_config
from tests.daemon_process import wait_for as wait_until
from tests.fixtures.prometheus import PrometheusServer, free_port
from tests.samba_lines import generate


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def setup(tmp_path: Path, port: int) -> tuple[Path, Path, Path]:
    log, db = tmp_path / "audit.log", tmp_path / "w.db"
    log.write_text("".join(generate(300, seed=4)))
    config = write_config(tmp_path / "w.yaml", db,
                          [{"type": "samba", "name": "smb", "path": str(log),
                            "prefix": "%u|%I|%m|%S"}],
                          extra=f'metrics: {{listen: "127.0.0.1:{port}"}}')
    return log, db, config


def test_prometheus_scrapes_events_total_after_real_events(tmp_path: Path) -> None:
    port = free_port()
    log, db, config = setup(tmp_path, port)
    with Daemon(config, tmp_path / "d.log") as d:
        wait_until(lambda: caught_up(db, "smb", log), 60, "ingest", d)
        with PrometheusServer(tmp_path / "prom", f"127.0.0.1:{port}") as prom:
            deadline = time.monotonic() + 60
            result: list[dict[str, object]] = []
            while time.monotonic() < deadline and not result:
                result = prom.query('sum(wallwatch_events_total{source="smb"})')
                time.sleep(0.5)
            assert result, "Prometheus never saw wallwatch_events_total"
            value = float(result[0]["value"][1])  # type: ignore[index]
            _, text = get(f"http://127.0.0.1:{port}/metrics")
            stored = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                         if line.startswith("wallwatch_events_total{"))
            assert value == stored > 0
            [up] = prom.query('up{job="wallwatch"}')
            assert up["value"][1] == "1"
        assert d.stop() == 0


def test_exposition_passes_promtool_and_healthz_is_ok(tmp_path: Path) -> None:
    port = free_port()
    log, db, config = setup(tmp_path, port)
    with Daemon(config, tmp_path / "d.log") as d:
        wait_until(lambda: caught_up(db, "smb", log), 60, "ingest", d)
        status, text = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        for name in ("wallwatch_events_total", "wallwatch_lines_read_total",
                     "wallwatch_tail_lag_bytes", "wallwatch_consumer_lag_events",
                     "wallwatch_rule_state_keys", "wallwatch_source_up"):
            assert f"\n{name}" in text or text.startswith(name), name
        check = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
        assert get(f"http://127.0.0.1:{port}/nope")[0] == 404
        assert d.stop() == 0


def last_event_seconds(port: int) -> float | None:
    try:
        _, text = get(f"http://127.0.0.1:{port}/metrics")
    except urllib.error.URLError:  # not listening yet
        return None
    found = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
             if line.startswith('wallwatch_source_last_event_timestamp_seconds{source="smb"}')]
    return found[0] if found else None


def test_a_source_silent_since_before_a_restart_still_has_its_last_event_time(
        tmp_path: Path) -> None:
    # WallwatchSourceSilent needs the series: without it a log that stopped before a
    # restart would never be reported
    port = free_port()
    log, db, config = setup(tmp_path, port)
    with Daemon(config, tmp_path / "d.log") as d:
        wait_until(lambda: caught_up(db, "smb", log), 60, "ingest", d)
        wait_until(lambda: last_event_seconds(port) is not None, 30, "the metric", d)
        before = last_event_seconds(port)
        assert d.stop() == 0
    with Daemon(config, tmp_path / "d2.log") as d:  # the log has nothing new
        wait_until(lambda: last_event_seconds(port) is not None, 30, "the metric again", d)
        assert last_event_seconds(port) == before
        assert d.stop() == 0


def test_metrics_listen_on_loopback_by_default() -> None:
    from monitor.config import MetricsConfig
    assert MetricsConfig().host == "127.0.0.1" and MetricsConfig().port == 9108


def test_notification_deliveries_are_counted_by_route_and_outcome(tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from monitor.metrics import make_registry
    from monitor.sinks.notify_outbox import ensure_schema
    from monitor.store import Store

    store = Store(tmp_path / "w.db")
    ensure_schema(store.db)
    for i, (route, state) in enumerate([("mail", "sent"), ("mail", "sent"), ("mail", "failed"),
                                        ("wecom", "pending")]):
        store.db.execute("INSERT INTO notify_outbox (id, route, kind, subject, created, state,"
                         " next_attempt, title, body) VALUES (?, ?, 'alert', ?, 0, ?, 0, 't',"
                         " 'b')",
                         (f"a{i}@{route}", route, f"a{i}", state))
    store.close()

    class NoDaemon:
        runners: ClassVar[list[object]] = []
        consumer = None

        def health(self) -> tuple[bool, list[str]]:
            return True, []

    text = generate_latest(make_registry(NoDaemon(), str(tmp_path / "w.db"))).decode()
    assert 'wallwatch_notifications_total{outcome="sent",route="mail"} 2.0' in text
    assert 'wallwatch_notifications_total{outcome="failed",route="mail"} 1.0' in text
    assert 'wallwatch_notifications_pending{route="wecom"} 1.0' in text


def test_elasticsearch_shipping_is_exported_by_outcome(tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from monitor.metrics import make_registry
    from monitor.sinks.es_ship import ShipperStats
    from monitor.store import Store

    Store(tmp_path / "w.db").close()
    stats = ShipperStats(shipped={"events": 90, "alerts": 3}, dead=2, retries=7,
                         backlog={"events": 10, "alerts": 0}, connected=True)
    for seconds in (0.004, 0.03, 0.03, 0.7, 45.0):
        stats.bulk_seconds.observe("events", seconds)
    stats.bulk_seconds.observe("alerts", 0.02)

    class Sink:
        def __init__(self) -> None:
            self.stats = stats

    class WithShipper:
        runners: ClassVar[list[object]] = []
        consumer = None
        sinks: ClassVar[list[object]] = [Sink()]

        def health(self) -> tuple[bool, list[str]]:
            return True, []

    text = generate_latest(make_registry(WithShipper(), str(tmp_path / "w.db"))).decode()
    assert 'wallwatch_es_items_total{outcome="created"} 93.0' in text
    assert 'wallwatch_es_items_total{outcome="rejected"} 2.0' in text
    assert 'wallwatch_es_items_total{outcome="retried"} 7.0' in text
    assert 'wallwatch_es_backlog{stream="events"} 10.0' in text
    # bulk latency: cumulative buckets, the 45 s request only in +Inf
    assert 'wallwatch_es_bulk_duration_seconds_bucket{le="0.005",stream="events"} 1.0' in text
    assert 'wallwatch_es_bulk_duration_seconds_bucket{le="0.05",stream="events"} 3.0' in text
    assert 'wallwatch_es_bulk_duration_seconds_bucket{le="30.0",stream="events"} 4.0' in text
    assert 'wallwatch_es_bulk_duration_seconds_bucket{le="+Inf",stream="events"} 5.0' in text
    assert 'wallwatch_es_bulk_duration_seconds_count{stream="alerts"} 1.0' in text
    assert 'wallwatch_es_bulk_duration_seconds_sum{stream="events"} 45.764' in text
    assert "wallwatch_es_connected 1.0" in text
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
