"""One daemon set up for a fault scenario: its log, store and config, the
Elasticsearch stand-in and notification receivers it talks to, the reference
(what an uninterrupted run gives) and the comparison at the end.

The reference is computed in this process with the daemon's own parser,
enricher and rule engine over the whole log (the same as `wallwatch backtest`),
so "alerts equal to an uninterrupted run" compares alert ids.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from monitor.config import load_config
from monitor.event import Alert, Event, ts_to_us
from monitor.rules.engine import RuleEngine
from monitor.rules.loader import load_rule_files
from monitor.sinks.es_templates import stream_name
from monitor.sinks.notify_sender import DELIVERY_HEADER
from monitor.sources.reading import parse_file
from tests.chaos import workload
from tests.chaos.outcome import Outcome, Tally, tally
from tests.daemon_process import REPO, Daemon, caught_up, query, wait_for, write_config
from tests.fixtures.es_standin import EsStandin
from tests.fixtures.smtp import JsonReceiver, SmtpServer
from tests.sinks.es_helpers import es_config, install_templates

EVENTS_STREAM = stream_name("events", "default")
ALERTS_STREAM = stream_name("alerts", "default")


@dataclass
class Reference:
    event_ids: list[str]
    alerts: list[Alert]
    event_times: list[tuple[str, int, int | None]]  # id, µs, off_hours as the store has it

    @property
    def alert_ids(self) -> list[str]:
        return [a.id for a in self.alerts]


class EnvDaemon(Daemon):
    """A daemon child with its own environment (a host time zone, say)."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None) -> None:
        super().__init__(config, log)
        self.env = env

    def start(self) -> EnvDaemon:
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "-c", str(self.config), "run"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=err,
                env={**os.environ, **(self.env or {})})
        return self


@dataclass
class Rig:
    root: Path
    es: EsStandin | None = None
    hook: JsonReceiver | None = None
    smtp: SmtpServer | None = None
    lateness: str = "2s"
    timezone: str = "UTC"
    es_batch: int = 2000
    store_dir: Path | None = None  # the state volume, when not `root`
    extra: str = ""
    log: Path = field(init=False)
    db: Path = field(init=False)
    config: Path = field(init=False)
    daemon_log: Path = field(init=False)
    runs: int = 0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = self.root / "audit.log"
        self.db = (self.store_dir or self.root) / "w.db"
        self.daemon_log = self.root / "daemon.log"
        self.config = write_config(
            self.root / "w.yaml", self.db, [{**workload.SOURCE, "path": str(self.log)}],
            staff=workload.staff_yaml(), extra=self._extra())
        text = self.config.read_text()
        self.config.write_text(text.replace("timezone: UTC\n", f"timezone: {self.timezone}\n", 1))
        if self.es is not None:
            install_templates(es_config(self.es.url))

    def _extra(self) -> str:
        parts = [f"rules: {{paths: [{REPO / 'rules'}], lateness: {self.lateness}}}"]
        if self.es is not None:
            parts.append(f"elasticsearch:\n  url: {self.es.url}\n"
                         f"  batch: {{max_events: {self.es_batch}}}\n"
                         "  backoff: {initial: 0.05s, max: 2s}\n  timeout: 5s")
        routes = []
        if self.hook is not None:
            routes.append(f'    - {{name: hook, urls: ["{self.hook.url()}"]}}')
        if self.smtp is not None:
            routes.append(f'    - {{name: mail, urls: ["{self.smtp.url()}"]}}')
        if routes:
            # alerts are days old by the wall clock: incidents close at once; retries come
            # often so a channel that is back is used within seconds
            parts.append("notify:\n  retry: {attempts: 100000, backoff: 0.2s, max_backoff: 2s}\n"
                         "  routes:\n" + "\n".join(routes))
        return "\n".join([*parts, self.extra])

    # -- the workload and what an uninterrupted run makes of it ----------------
    def write(self, records: int, seed: int = 1) -> None:
        workload.write_log(str(self.log), records, seed)

    def reference(self, quiet_after: Callable[[Event], bool] | None = None) -> Reference:
        """What one uninterrupted run makes of the whole log: the daemon's parser,
        enricher and rule engine (as `wallwatch backtest`). `quiet_after` marks the
        events after which the live log goes quiet (the engine then evaluates what
        it holds back, as the live consumer does)."""
        config = load_config(self.config)
        rules, errors = load_rule_files([str(REPO / "rules")])
        assert not errors, errors
        ids: list[str] = []
        times: list[tuple[str, int, int | None]] = []
        engine = RuleEngine(rules, config.lateness, config.max_future)
        alerts: list[Alert] = []
        for ev in parse_file(config.sources[0], config):
            ids.append(ev.id)
            times.append((ev.id, ts_to_us(ev.timestamp),
                          None if ev.off_hours is None else int(ev.off_hours)))
            alerts.extend(engine.process(ev))
            if quiet_after is not None and quiet_after(ev):
                alerts.extend(engine.flush())
        alerts.extend(engine.flush())
        return Reference(ids, alerts, times)

    # -- running -------------------------------------------------------------
    def daemon(self, env: dict[str, str] | None = None) -> Daemon:
        self.runs += 1
        return EnvDaemon(self.config, self.daemon_log, env)

    def drained(self) -> bool:
        """Every stage has done all there is: ingested to the end of the log, evaluated
        every event (nothing buffered), shipped and notified every alert."""
        if not self.log.exists() or not caught_up(self.db, workload.SOURCE_NAME, self.log):
            return False
        heads = query(self.db, "SELECT (SELECT coalesce(max(seq), 0) FROM events),"
                               " (SELECT coalesce(max(seq), 0) FROM alerts)")
        if not heads:
            return False
        events, alerts = int(heads[0][0]), int(heads[0][1])
        rows = query(self.db, "SELECT name, position, state FROM cursors")
        at = {str(n): int(p) for n, p, _ in rows}
        state = {str(n): s for n, _, s in rows}
        rules_state = orjson.loads(state["rules"]) if state.get("rules") else {}
        if at.get("rules", -1) < events or rules_state.get("buffer"):
            return False
        if self.es is not None and (at.get("es.events", -1) < events
                                    or at.get("es.alerts", -1) < alerts):
            return False
        if self.hook is not None or self.smtp is not None:
            if at.get("notify", -1) < alerts:
                return False
            waiting = query(self.db, "SELECT (SELECT count(*) FROM notify_outbox WHERE"
                                     " state='pending'), (SELECT count(*) FROM"
                                     " notify_incidents WHERE closed=0)")
            if not waiting or waiting[0] != (0, 0):
                return False
        return True

    # -- comparing -------------------------------------------------------------
    def stored_event_ids(self) -> list[str]:
        return [bytes(r[0]).hex() for r in query(
            self.db, "SELECT id FROM events WHERE dataset = 'samba.audit'")]

    def stored_alert_ids(self) -> list[str]:
        return [bytes(r[0]).hex() for r in query(self.db, "SELECT id FROM alerts")]

    def outcome(self, scenario: str, size: str, ref: Reference, faults: int,
                started: float) -> Outcome:
        out = Outcome(scenario, size, runs=self.runs, faults=faults,
                      events_in=len(set(ref.event_ids)), alerts_expected=len(set(ref.alert_ids)))
        out.events["store"] = tally(ref.event_ids, self.stored_event_ids())
        out.alerts["store"] = tally(ref.alert_ids, self.stored_alert_ids())
        if self.es is not None:
            out.events["es"] = tally(ref.event_ids, self.es.arrivals(EVENTS_STREAM))
            out.alerts["es"] = tally(ref.alert_ids, self.es.arrivals(ALERTS_STREAM))
        receivers: list[tuple[str, Callable[[], list[tuple[str, str]]]]] = []
        if self.hook is not None:
            hook = self.hook
            posts = hook.posts()
            # a kill in the middle of a request leaves the receiver an incomplete one (no
            # body): a real service rejects it; it is not a delivery
            cut = [p for p in posts if not isinstance(p["body"], dict)]
            if cut:
                out.notes.append(f"{len(cut)} request(s) cut off by a kill mid-send")
            receivers.append(("hook", lambda: [
                (p["headers"].get(DELIVERY_HEADER, ""), p["body"]["title"], p["body"]["message"])
                for p in posts if isinstance(p["body"], dict)]))
        if self.smtp is not None:
            smtp = self.smtp
            receivers.append(("mail", lambda: [
                (str(m[DELIVERY_HEADER] or ""), str(m["Subject"]), SmtpServer.text(m))
                for m in smtp.messages()]))
        messages = Tally()
        repeats = 0
        for route, received in receivers:
            alerts, delivered, again = self.notifications(route, received())
            out.alerts[f"notify:{route}"] = tally(ref.alert_ids, alerts)
            messages.arrived += delivered.arrived
            messages.lost += delivered.lost
            messages.duplicated += delivered.duplicated
            repeats += again
        if receivers:
            out.messages = messages
            out.repeats = repeats
            out.notes.append(f"{repeats} message(s) sent again after a kill, with the same "
                             "delivery id (the receiver keeps one)")
        out.seconds = time.monotonic() - started
        return out

    def notifications(self, route: str, received: list[tuple[str, str, str]]
                      ) -> tuple[list[str], Tally, int]:
        """As a receiver that keeps the delivery ids it has seen: the alerts told by the
        messages it kept (one entry per telling), those messages against the outbox
        rows decided for the route, and how many it dropped as repeats. A message whose
        id names no decided row, or another row's text, is a stranger."""
        rows = query(self.db, "SELECT id, alerts, title, body, state FROM notify_outbox"
                              " WHERE route=?", (route,))
        by_id: dict[str, tuple[tuple[str, str], list[str]]] = {}
        for rid, alerts, title, body, state in rows:
            if state in ("pending", "sent", "failed"):  # meant to be delivered
                by_id[str(rid)] = ((_norm(str(title)), _norm(str(body))),
                                   list(orjson.loads(alerts)) if alerts else [])
        told: list[str] = []
        arrived: list[str] = []
        kept: set[str] = set()
        repeats = 0
        for delivery, title, body in received:
            if delivery in kept:
                repeats += 1
                continue
            row = by_id.get(delivery)
            if row is None or row[0] != (_norm(title), _norm(body)):
                arrived.append(f"unknown message {delivery!r} {title!r}")
                continue
            kept.add(delivery)
            arrived.append(delivery)
            told.extend(row[1])
        return told, tally(by_id, arrived), repeats


def _norm(text: str) -> str:
    """Transports may change line ends and trailing space; nothing else."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def wait(predicate: Callable[[], bool], timeout: float, what: str,
         daemon: Daemon | None = None, every: float = 0.2) -> None:
    """tests.daemon_process.wait_for with a slower poll: big stores are costly to ask."""
    wait_for(predicate, timeout, what, daemon, every)


def metrics_url(daemon_log: Path) -> str:
    """Where the daemon that logged last serves its metrics (it listens on port 0)."""
    found = re.findall(r"metrics on (http://\S+)/metrics", daemon_log.read_text())
    assert found, "the daemon did not log its metrics address"
    return str(found[-1])


def metric(daemon_log: Path, name: str) -> float:
    """The sum of one metric's samples, scraped from the running daemon."""
    with urllib.request.urlopen(metrics_url(daemon_log) + "/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + " ", name + "{")))
