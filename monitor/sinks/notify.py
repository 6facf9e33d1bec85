"""The notifier: a consumer of the store's alerts that tells people (shared/DESIGN.md).

One consumer thread decides, one sender thread per route delivers:

- The consumer reads alerts after its cursor (Store.alerts_after), puts each in
  an incident (notify_incidents), picks its routes (notify_model), applies
  silences and mute windows, and writes outbox rows (notify_outbox), incident
  and digest state and its cursor in ONE transaction. A crash before the
  commit replays the batch from the old cursor with the old state; after it,
  nothing is decided again.
- Due incident updates and periodic digests are decided against a watermark:
  the newest event time in the store (not beyond the clock + rules.max_future),
  or the wall clock while the logs are quiet, less `settle` (the rules' lateness
  + 5 s) for events still on their way.
- Senders (notify_sender) deliver pending rows with backoff and never resend a
  row that is sent.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config import Config
from monitor.event import ts_to_us
from monitor.rules.model import Rule
from monitor.sinks.base import SinkContext
from monitor.sinks.notify_config import NotifyConfig, Route, parse_notify
from monitor.sinks.notify_digests import DigestBook
from monitor.sinks.notify_incidents import Incident, IncidentBook
from monitor.sinks.notify_mask import install_log_masking
from monitor.sinks.notify_messages import alert_message, digest_message, update_message
from monitor.sinks.notify_model import NotifyAlert, muted_by, routes_for
from monitor.sinks.notify_outbox import OutboxRow, enqueue, ensure_schema, prune
from monitor.sinks.notify_sender import Deliver, RouteSender, apprise_deliver
from monitor.sinks.notify_silences import Silence, relevant_silences, silenced_by
from monitor.sinks.notify_templates import Templates
from monitor.sources.base import Runner
from monitor.store import Store

log = logging.getLogger(__name__)

CURSOR = "notify"
BATCH = 500
POLL_SECONDS = 0.1  # an empty poll is two index look-ups; alerts should not wait
RETRY_SECONDS = 5.0
PRUNE_EVERY_US = 3600 * 1_000_000


def make_consumer(ctx: SinkContext) -> Runner | None:
    cfg = parse_notify(ctx.config)
    if cfg is None:
        return None
    return NotifyRunner(ctx.store_path, ctx.config, cfg, ctx.stop)


def load_rules(config: Config) -> dict[str, Rule]:
    """The rules the daemon runs, to recognise the events that continue an incident."""
    from monitor.cli import rule_paths  # here: monitor.cli imports the sinks' modules lazily
    from monitor.rules.loader import load_rule_files

    rules, _errors = load_rule_files(rule_paths(config))
    return {r.id: r for r in rules}


class NotifyConsumer(threading.Thread):
    def __init__(self, store_path: str, cfg: NotifyConfig, rules: dict[str, Rule],
                 stop: threading.Event) -> None:
        super().__init__(name="notify", daemon=True)
        self.store_path, self.cfg, self.rules, self.stop_flag = store_path, cfg, rules, stop
        self.templates = Templates(cfg.templates)
        self.wake = threading.Event()
        self.incidents = IncidentBook(_us(cfg.gap), _us(cfg.update_every))
        self.digests = DigestBook(cfg.timezone)
        self.position = 0
        self.error: str | None = None
        self.senders: dict[str, RouteSender] = {}
        self.pruned = 0  # wall clock of the last pruning

    def run(self) -> None:
        store = Store(self.store_path)
        try:
            ensure_schema(store.db)
            self._load(store)
            while not self.stop_flag.is_set():
                try:
                    full = self.step(store)
                except Exception as exc:  # locked or full disk: redo from the saved state
                    self.error = f"{type(exc).__name__}: {exc}"
                    log.exception("notify: cannot store decisions; replaying from the cursor")
                    self.stop_flag.wait(RETRY_SECONDS)
                    self._load(store)
                    continue
                self.error = None
                if not full:
                    self.wake.wait(POLL_SECONDS)
                    self.wake.clear()
        finally:
            store.close()

    def _load(self, store: Store) -> None:
        self.position = store.cursor(CURSOR)[0]
        self.incidents.load(store.db)
        self.digests.load(store.db)

    def watermark(self, store: Store, now: int) -> int:
        # a line from a clock years ahead must not make every incident due at once
        row = store.db.execute("SELECT max(ts) FROM events WHERE ts <= ?",
                               (now + _us(self.cfg.max_future),)).fetchone()
        newest = int(row[0]) if row and row[0] is not None else 0
        return max(newest, now) - _us(self.cfg.settle)

    def step(self, store: Store, now: int | None = None) -> bool:
        """One round: decide on new alerts and due incidents/digests, commit. True when a
        full batch was read (more is waiting)."""
        now = ts_to_us(datetime.now(UTC)) if now is None else now
        db = store.db
        batch = store.alerts_after(self.position, BATCH)
        watermark = self.watermark(store, now)
        oldest = min([_alert_ts(doc) for _, doc in batch] + [watermark])
        horizon = _us(self.cfg.gap) + _us(self.cfg.update_every)
        silences = relevant_silences(db, oldest - horizon)
        rows: list[OutboxRow] = []
        for seq, doc in batch:
            alert = NotifyAlert.from_doc(seq, doc, _share(db, doc))
            self._on_alert(db, alert, silences, rows, now)
        for inc in self.incidents.due(watermark):
            self._check(db, inc, silences, rows, watermark, now)
        for digest in self.digests.due(watermark):
            route = self.cfg.route(digest.route)
            if route is not None:
                msg = digest_message(self.cfg, self.templates, route, digest)
                rows.append(OutboxRow.new(route.name, "digest", digest.id, None,
                                          [i["alert_id"] for i in digest.items],
                                          digest.bucket_end, now, msg.title, msg.body))
            self.digests.emitted(digest)
        position = batch[-1][0] if batch else self.position
        if batch or rows or self.incidents.dirty or self.digests.dirty:
            with store.transaction():
                enqueue(db, rows)
                self.incidents.save(db)
                self.digests.save(db)
                db.execute("INSERT INTO cursors(name, position, state) VALUES (?, ?, NULL)"
                           " ON CONFLICT(name) DO UPDATE SET position=excluded.position",
                           (CURSOR, position))
            self.position = position
            for name in {r.route for r in rows if r.state == "pending"}:
                sender = self.senders.get(name)
                if sender is not None:
                    sender.wake.set()
        self.incidents.forget(watermark)
        if now - self.pruned >= PRUNE_EVERY_US:
            with store.transaction():
                prune(db, now - _us(self.cfg.retention))
            self.pruned = now
        return len(batch) == BATCH

    def _held(self, silences: list[Silence], rule_id: str, route: Route,
              ts: int) -> tuple[str, str] | None:
        """('silenced' | 'muted', why) when this route must stay quiet about it."""
        silence = silenced_by(silences, rule_id, route.name, ts)
        if silence is not None:
            return "silenced", silence.describe()
        window = muted_by(self.cfg, route, ts)
        return ("muted", f"mute window {window}") if window else None

    def _on_alert(self, db: sqlite3.Connection, alert: NotifyAlert, silences: list[Silence],
                  rows: list[OutboxRow], now: int) -> None:
        inc, opened = self.incidents.on_alert(alert, self.rules.get(alert.rule_id))
        for route in routes_for(self.cfg, alert):
            if route.immediate and route.name in inc.routes:
                continue  # a follow-up: it goes into the incident's next update
            held = self._held(silences, alert.rule_id, route, alert.ts)
            if not route.immediate and held is None:
                assert route.every is not None
                self.digests.add(db, route.name, route.every, alert, inc.id, opened)
                continue
            msg = alert_message(self.cfg, self.templates, route, alert, inc.id)
            state, reason = held if held else ("pending", None)
            rows.append(OutboxRow.new(route.name, "alert", alert.id, inc.id, [alert.id],
                                      alert.ts, now, msg.title, msg.body, state, reason))
            if held is None:
                inc.routes.append(route.name)
                self.incidents.touch(inc)

    def _check(self, db: sqlite3.Connection, inc: Incident, silences: list[Silence],
               rows: list[OutboxRow], watermark: int, now: int) -> None:
        verdict = self.incidents.check(db, inc, self.rules.get(inc.rule_id), watermark)
        if verdict is None:
            return
        closed = verdict == "closed"
        until = inc.last_ts if closed else watermark
        if not inc.pending.empty():
            subject = f"{inc.id}/u{inc.updates + 1}"
            for name in inc.routes:
                route = self.cfg.route(name)
                if route is None:
                    continue
                held = self._held(silences, inc.rule_id, route, until)
                msg = update_message(self.cfg, self.templates, route, inc, inc.last_update,
                                     until, closed)
                state, reason = held if held else ("pending", None)
                rows.append(OutboxRow.new(route.name, "update", subject, inc.id,
                                          inc.pending.alerts, until, now, msg.title, msg.body,
                                          state, reason))
        self.incidents.reported(inc, until)


class NotifyRunner:
    """What the daemon starts and watches: the consumer and one sender per route."""

    def __init__(self, store_path: str, config: Config, cfg: NotifyConfig,
                 stop: threading.Event, deliver: Deliver = apprise_deliver,
                 rules: dict[str, Rule] | None = None) -> None:
        masker = cfg.masker()
        install_log_masking(masker)
        Store(store_path).close()  # the store's schema, before two threads race for it
        self.consumer = NotifyConsumer(store_path, cfg,
                                       load_rules(config) if rules is None else rules, stop)
        self.senders = [RouteSender(store_path, cfg, r, stop, masker, deliver)
                        for r in cfg.routes]
        self.consumer.senders = {s.route.name: s for s in self.senders}

    def start(self) -> None:
        self.consumer.start()
        for sender in self.senders:
            sender.start()

    def join(self, timeout: float | None = None) -> None:
        for thread in [self.consumer, *self.senders]:
            thread.join(timeout)

    def is_alive(self) -> bool:
        return self.consumer.is_alive() and all(s.is_alive() for s in self.senders)


def _us(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1_000_000)


def _alert_ts(doc: dict[str, Any]) -> int:
    return ts_to_us(datetime.fromisoformat(str(doc["@timestamp"])))


def _share(db: sqlite3.Connection, doc: dict[str, Any]) -> str | None:
    """The share of the alert's first evidence event (alerts do not carry it)."""
    ids = ((doc.get("wallwatch") or {}).get("alert") or {}).get("event_ids")
    if not ids:
        return None
    try:
        row = db.execute("SELECT share FROM events WHERE id=?", (bytes.fromhex(ids[0]),)
                         ).fetchone()
    except ValueError:
        return None
    return None if row is None or row[0] is None else str(row[0])
