"""Every Prometheus metric in one place, read from the stages at scrape time.

Stages keep plain counters (SourceStats, EngineStats, cursors in the store);
this collector turns them into metrics when Prometheus asks, so no stage
imports prometheus_client and tests can give the collector their own registry.
Served with /healthz on 127.0.0.1:9108 unless configured otherwise.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.store_writes import free_bytes, is_full_text

log = logging.getLogger(__name__)

CONSUMERS = ("rules", "es.events", "es.alerts", "notify")


class DaemonView(Protocol):
    """What the collector reads off the running daemon (monitor.pipeline.Daemon)."""

    runners: list[Any]
    consumer: Any

    def health(self) -> tuple[bool, list[str]]: ...


class WallwatchCollector(Collector):
    def __init__(self, daemon: DaemonView, store_path: str) -> None:
        self.daemon = daemon
        self.store_path = store_path

    def _store_facts(self) -> tuple[int, int, dict[str, int], dict[str, int],
                                    list[tuple[str, str, int]]]:
        """Heads of events and alerts, consumer cursors, dead letters by source, and
        notification deliveries by route and state (the notifier's outbox)."""
        try:
            db = sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error:
            return 0, 0, {}, {}, []
        try:
            head = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
            alerts = db.execute("SELECT max(seq) FROM alerts").fetchone()[0] or 0
            cursors = dict(db.execute("SELECT name, position FROM cursors").fetchall())
            dead = dict(db.execute("SELECT source, count(*) FROM dead_letters GROUP BY source"))
            try:
                outbox = [(str(r), str(s), int(n)) for r, s, n in db.execute(
                    "SELECT route, state, count(*) FROM notify_outbox GROUP BY route, state")]
            except sqlite3.Error:  # no notifier configured: no outbox table
                outbox = []
            return int(head), int(alerts), cursors, dead, outbox
        except sqlite3.Error:
            return 0, 0, {}, {}, []
        finally:
            db.close()

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("wallwatch_build_info", "Version of the running daemon",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield from self._sources()
        yield from self._rules()
        yield from self._shipper()
        head, alerts_head, cursors, dead, outbox = self._store_facts()
        sent = CounterMetricFamily("wallwatch_notifications",
                                   "Notification deliveries by route and outcome",
                                   labels=["route", "outcome"])
        pending = GaugeMetricFamily("wallwatch_notifications_pending",
                                    "Deliveries waiting in the outbox", labels=["route"])
        for route, state, n in outbox:
            if state in ("sent", "failed"):
                sent.add_metric([route, state], n)
            elif state == "pending":
                pending.add_metric([route], n)
        yield sent
        yield pending
        lag = GaugeMetricFamily("wallwatch_consumer_lag_events",
                                "Events (or alerts) stored but not yet handled by a consumer",
                                labels=["consumer"])
        for name in CONSUMERS:
            if name in cursors or name == "rules":
                top = alerts_head if name in ("es.alerts", "notify") else head
                lag.add_metric([name], max(0, top - cursors.get(name, 0)))
        yield lag
        stored = GaugeMetricFamily("wallwatch_store_events", "Newest event sequence number")
        stored.add_metric([], head)
        yield stored
        dl = GaugeMetricFamily("wallwatch_dead_letters", "Bad inputs kept aside, by source",
                               labels=["source"])
        for source, n in dead.items():
            dl.add_metric([source], n)
        yield dl
        ok, _ = self.daemon.health()
        up = GaugeMetricFamily("wallwatch_healthy", "1 when every source and consumer is alive")
        up.add_metric([], 1 if ok else 0)
        yield up
        yield from self._store_space()

    def _stage_errors(self) -> Iterator[tuple[str, str | None]]:
        """(stage, its last error) for every stage that writes to the store."""
        for runner in self.daemon.runners:
            yield f"source:{runner.cfg.name}", runner.stats.error
        for other in getattr(self.daemon, "others", []):
            yield f"source:{getattr(other, 'name', type(other).__name__)}", getattr(
                getattr(other, "stats", None), "error", None)
        yield "rules", getattr(self.daemon.consumer, "error", None)
        for sink in getattr(self.daemon, "sinks", []):
            consumer = getattr(sink, "consumer", None)  # the notifier: consumer + senders
            if consumer is not None:
                yield "notify", consumer.error
                for sender in getattr(sink, "senders", []):
                    yield f"notify:{sender.route.name}", sender.error
            else:
                yield getattr(sink, "name", type(sink).__name__), getattr(
                    getattr(sink, "stats", None), "error", None)

    def _store_space(self) -> Iterator[Metric]:
        blocked = GaugeMetricFamily(
            "wallwatch_store_write_blocked",
            "1 while a stage cannot write to the store because its disk is full (it keeps its"
            " position and retries by itself)", labels=["stage"])
        for stage, error in self._stage_errors():
            blocked.add_metric([stage], 1 if is_full_text(error) else 0)
        yield blocked
        free = GaugeMetricFamily("wallwatch_store_free_bytes",
                                 "Free space on the filesystem that holds the store")
        space = free_bytes(self.store_path)
        if space is not None:
            free.add_metric([], space)
        yield free

    def _sources(self) -> Iterator[Metric]:
        events = CounterMetricFamily("wallwatch_events", "Events stored, by source and action",
                                     labels=["source", "action"])
        lines = CounterMetricFamily("wallwatch_lines_read", "Log lines read", labels=["source"])
        size = CounterMetricFamily("wallwatch_bytes_read", "Bytes of log read", labels=["source"])
        bad = CounterMetricFamily("wallwatch_dead_letter_lines",
                                  "Lines that could not be parsed", labels=["source"])
        lag = GaugeMetricFamily("wallwatch_tail_lag_bytes", "Bytes behind the end of the file",
                                labels=["source"])
        last = GaugeMetricFamily("wallwatch_source_last_event_timestamp_seconds",
                                 "Event time of the newest stored event", labels=["source"])
        alive = GaugeMetricFamily("wallwatch_source_up", "1 while the source runs and stores",
                                  labels=["source"])
        for runner in self.daemon.runners:
            name, st = runner.cfg.name, runner.stats
            for action, n in sorted(st.actions.items()):
                events.add_metric([name, action], n)
            lines.add_metric([name], st.lines)
            size.add_metric([name], st.bytes)
            bad.add_metric([name], st.dead)
            tailer = runner.tailer
            lag.add_metric([name], tailer.lag() if tailer is not None else 0)
            if st.last_event is not None:
                last.add_metric([name], st.last_event.timestamp())
            alive.add_metric([name], 1 if runner.is_alive() and st.error is None else 0)
        yield from (events, lines, size, bad, lag, last, alive)

    def _shipper(self) -> Iterator[Metric]:
        items = CounterMetricFamily("wallwatch_es_items",
                                    "Documents sent to Elasticsearch, by outcome",
                                    labels=["outcome"])
        backlog = GaugeMetricFamily("wallwatch_es_backlog",
                                    "Stored but not yet shipped, by stream", labels=["stream"])
        connected = GaugeMetricFamily("wallwatch_es_connected",
                                      "1 when the last request reached the cluster")
        high = GaugeMetricFamily("wallwatch_store_disk_high_water",
                                 "1 while the store's disk is past the high-water mark with "
                                 "documents waiting")
        latency = HistogramMetricFamily("wallwatch_es_bulk_duration_seconds",
                                        "Duration of bulk requests to Elasticsearch, failed"
                                        " ones included, by stream", labels=["stream"])
        for sink in getattr(self.daemon, "sinks", []):
            st = getattr(sink, "stats", None)
            if st is None or not hasattr(st, "shipped"):
                continue
            hist = st.bulk_seconds
            for stream in sorted(hist.counts):
                latency.add_metric([stream], hist.cumulative(stream), hist.sums[stream])
            items.add_metric(["created"], sum(st.shipped.values()))
            items.add_metric(["rejected"], st.dead)
            items.add_metric(["retried"], st.retries)
            for stream, n in sorted(st.backlog.items()):
                backlog.add_metric([stream], n)
            connected.add_metric([], 1 if st.connected else 0)
            high.add_metric([], 1 if st.high_water else 0)
        yield from (items, backlog, connected, high, latency)

    def _rules(self) -> Iterator[Metric]:
        engine = getattr(self.daemon.consumer, "engine", None)
        matches = CounterMetricFamily("wallwatch_rule_matches", "Events a rule's condition matched",
                                      labels=["rule"])
        alerts = CounterMetricFamily("wallwatch_alerts", "Alerts raised", labels=["rule",
                                                                                   "severity"])
        late = CounterMetricFamily("wallwatch_late_events",
                                   "Events later than the allowed lateness (still evaluated)")
        future = CounterMetricFamily(
            "wallwatch_future_events",
            "Events dated beyond the host's clock + rules.max_future (evaluated as of the"
            " newest event time)")
        state = GaugeMetricFamily("wallwatch_rule_state_keys",
                                  "Live keys in rule state (windows, seen values, throttles)")
        if engine is not None:
            severity = {r.id: r.severity for r in engine.rules}
            for rule_id, n in sorted(engine.stats.matches.items()):
                matches.add_metric([rule_id], n)
            for rule_id, n in sorted(engine.stats.alerts.items()):
                alerts.add_metric([rule_id, severity.get(rule_id, "unknown")], n)
            late.add_metric([], engine.stats.late)
            future.add_metric([], engine.stats.future)
            state.add_metric([], engine.state_size())
        yield from (matches, alerts, late, future, state)


def make_registry(daemon: DaemonView, store_path: str) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WallwatchCollector(daemon, store_path))
    return registry


class MetricsServer:
    """/metrics and /healthz over HTTP on one address (loopback by default)."""

    def __init__(self, daemon: DaemonView, registry: CollectorRegistry, host: str,
                 port: int) -> None:
        view, reg = daemon, registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    body, status = generate_latest(reg), 200
                    kind = "text/plain; version=0.0.4; charset=utf-8"
                elif self.path.split("?")[0] == "/healthz":
                    ok, problems = view.health()
                    body = ("ok\n" if ok else "\n".join(problems) + "\n").encode()
                    status, kind = (200 if ok else 503), "text/plain; charset=utf-8"
                else:
                    body, status, kind = b"not found\n", 404, "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # scrapes every few seconds would flood the daemon's log

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="metrics",
                                       daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self.thread.start()
        log.info("metrics on http://%s:%d/metrics (health: /healthz)", *self.address)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
