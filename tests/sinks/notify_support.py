"""Building blocks for the notifier's tests: a config with a notify section, events
and the alerts the real rule engine makes of them, put into a real store, and a
consumer driven step by step with an explicit wall clock."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import Config, load_config
from monitor.event import Alert, Event, event_id, ts_to_us
from monitor.rules.engine import RuleEngine
from monitor.rules.loader import load_rules
from monitor.rules.model import Rule
from monitor.sinks.notify import NotifyConsumer
from monitor.sinks.notify_config import NotifyConfig, parse_notify
from monitor.sinks.notify_outbox import OutboxRow, ensure_schema, rows
from monitor.store import Store

REPO = Path(__file__).resolve().parent.parent.parent
SHIPPED_RULES = REPO / "rules"
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
ACME = "/srv/share/clients/acme"


def write_config(tmp_path: Path, notify: str, timezone: str = "Asia/Shanghai",
                 extra: str = "") -> Config:
    path = tmp_path / "wallwatch.yaml"
    path.write_text(
        f"timezone: {timezone}\n"
        f"store: {{path: {tmp_path / 'w.db'}}}\n"
        "clients: {paths: [\"/srv/share/clients/{client}/**\"]}\n"
        "staff: {alice: [acme], bob: [globex]}\n"
        f"{extra}\nnotify:\n{notify}\n")
    return load_config(path)


def notify_config(tmp_path: Path, notify: str, **kwargs: str) -> NotifyConfig:
    cfg = parse_notify(write_config(tmp_path, notify, **kwargs),
                       validate_url=lambda url: "://" in url)
    assert cfg is not None
    return cfg


def read(seconds: float, user: str = "bob", client: str = "acme",
         name: str = "2024年发票汇总.xlsx", action: str = "read", n: int = 0) -> Event:
    """An enriched SMB file event `seconds` after T0."""
    path = f"/srv/share/clients/{client}/{name}"
    return Event(
        id=event_id("test", seconds, user, client, name, action, n),
        timestamp=T0 + timedelta(seconds=seconds), dataset="samba.access", category="file",
        type="access", action=action, user_name=user, source_ip="192.0.2.10",
        host_name="nas01", file_path=path, client=client, assigned=(user, client) in (
            ("alice", "acme"), ("bob", "globex")), share="clients", off_hours=False)


def shipped_rules() -> list[Rule]:
    return load_rules([SHIPPED_RULES])


def rules_by_id(rules: Iterable[Rule]) -> dict[str, Rule]:
    return {r.id: r for r in rules}


def alerts_of(rules: list[Rule], events: list[Event]) -> list[Alert]:
    engine = RuleEngine(rules, timedelta(0))
    out: list[Alert] = []
    for ev in events:
        out.extend(engine.process(ev))
    out.extend(engine.flush())
    return out


class Bench:
    """A store, a notify config, and a consumer stepped by hand."""

    def __init__(self, tmp_path: Path, cfg: NotifyConfig, rules: list[Rule]) -> None:
        self.path = str(tmp_path / "w.db")
        self.store = Store(self.path)
        ensure_schema(self.store.db)
        self.cfg = cfg
        self.rules = rules
        self.consumer = self.new_consumer()
        self.seq = 0

    def new_consumer(self) -> NotifyConsumer:
        """A consumer as a restarted daemon makes it: from what the store holds."""
        consumer = NotifyConsumer(self.path, self.cfg, rules_by_id(self.rules),
                                  threading.Event())
        consumer._load(self.store)
        return consumer

    def ingest(self, events: list[Event], alerts: list[Alert] | None = None) -> list[Alert]:
        """Store events and (by default) the alerts the rules make of them."""
        if alerts is None:
            alerts = alerts_of(self.rules, events)
        with self.store.transaction():
            self.store.insert_events(events)
        self.seq += 1
        self.store.commit_consumer("test-rules", self.seq, None, alerts)
        return alerts

    def step(self, wall: float) -> None:
        """One consumer round with the wall clock at T0 + `wall` seconds."""
        self.consumer.step(self.store, ts_to_us(T0 + timedelta(seconds=wall)))

    def outbox(self, kind: str | None = None, state: str | None = None) -> list[OutboxRow]:
        found = rows(self.store.db, state, limit=10_000)
        return sorted((r for r in found if kind is None or r.kind == kind),
                      key=lambda r: (r.created, r.id))

    def close(self) -> None:
        self.store.close()
