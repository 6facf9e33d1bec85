"""A source catching up on a backlog while another is live: the buffer waits for
the one behind, so its events are not late and the alerts equal a run over the
same events in time order (what a backtest gives)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.event import Alert, Event
from monitor.rules.engine import RuleEngine
from monitor.rules.model import Rule
from monitor.rules.samples import event_from_fields
from tests.rules.helpers import at, rules_from

GUESSING = ("id: t.guess\ntitle: guessing\nkind: threshold\n"
            "when: {event.category: authentication, event.outcome: failure}\n"
            "group_by: source.ip\nwindow: 5m\ncount: 10\n")


def failure(seconds: float, dataset: str, ip: str, n: int) -> Event:
    return event_from_fields(at(seconds, event__dataset=dataset, source__ip=ip,
                                event__category="authentication", event__outcome="failure"), n)


def backlog_and_live() -> tuple[list[Event], list[Event]]:
    """An hour of password guessing from 3 addresses against sshd and Samba at once:
    each service sees one failure a minute per address (5 per 5 min: not enough alone),
    together 10 per 5 min. sshd's log is the backlog, Samba's is live."""
    ssh = [failure(60 * n + k, "system.auth", f"192.0.2.{k}", 10_000 + 3 * n + k)
           for n in range(60) for k in range(3)]
    smb = [failure(60 * n + 30 + k, "samba.auth", f"192.0.2.{k}", 3 * n + k)
           for n in range(60) for k in range(3)]
    return ssh, smb


def evaluate(engine: RuleEngine, events: list[Event]) -> list[Alert]:
    alerts = []
    for seq, ev in enumerate(events):
        alerts.extend(engine.process(ev, seq))
    return alerts + engine.flush()


def arrival(ssh: list[Event], smb: list[Event]) -> list[Event]:
    """How a restart commits them: the small live file at once, the backlog in batches."""
    return smb + ssh


def rules(tmp_path: Path) -> list[Rule]:
    return rules_from(tmp_path, GUESSING)


def test_without_holding_the_backlog_is_late_and_alerts_differ_from_time_order(
        tmp_path: Path) -> None:
    ssh, smb = backlog_and_live()
    in_order = evaluate(RuleEngine(rules(tmp_path), timedelta(seconds=10)),
                        sorted(ssh + smb, key=lambda e: e.timestamp))
    engine = RuleEngine(rules(tmp_path), timedelta(seconds=10))
    late = evaluate(engine, arrival(ssh, smb))
    assert engine.stats.late > 0
    assert sorted(a.id for a in late) != sorted(a.id for a in in_order)


def test_holding_for_the_source_behind_gives_the_time_order_alerts(tmp_path: Path) -> None:
    ssh, smb = backlog_and_live()
    in_order = evaluate(RuleEngine(rules(tmp_path), timedelta(seconds=10)),
                        sorted(ssh + smb, key=lambda e: e.timestamp))
    assert len(in_order) > 10
    engine = RuleEngine(rules(tmp_path), timedelta(seconds=10))
    alerts: list[Alert] = []
    events = arrival(ssh, smb)
    for seq, ev in enumerate(events):
        # sshd's file has unread lines until its last event is stored; while Samba's
        # events come in, it has stored none (its datasets are unknown)
        engine.holding_unknown = seq < len(smb)
        engine.holding = frozenset({"system.auth"}) if seq < len(events) - 1 else frozenset()
        alerts.extend(engine.process(ev, seq))
    engine.holding, engine.holding_unknown = frozenset(), False
    alerts += engine.flush()
    assert engine.stats.late == 0
    assert sorted(a.id for a in alerts) == sorted(a.id for a in in_order)


def test_a_snapshot_of_a_large_buffer_keeps_store_seqs_not_events(tmp_path: Path) -> None:
    ssh, smb = backlog_and_live()
    engine = RuleEngine(rules(tmp_path), timedelta(seconds=10))
    engine.holding_unknown = True
    events = arrival(ssh, smb)
    for seq, ev in enumerate(events):
        engine.process(ev, seq)
    assert len(engine.buffer) == len(events)  # all held: sshd has not spoken
    blob = engine.snapshot()
    assert len(blob) < 20 * len(engine.buffer) + 2_000
    again = RuleEngine(rules(tmp_path), timedelta(seconds=10))
    again.restore(blob, lambda seqs: {s: events[s] for s in seqs})
    assert sorted(e[3].id for e in again.buffer) == sorted(e.id for e in events)


ARCHIVED = ("id: t.archived\ntitle: archived\n"
            "when: {event.category: file, wallwatch.archived: true}\n"
            "throttle: {by: [user.name], for: 1h}\n")


def archived_reads() -> tuple[list[Event], list[Event]]:
    """bob works in an archived client's folder for 3 hours; auditd (the backlog) and
    Samba (live) both see it, 20 minutes apart."""
    def read(minute: int, dataset: str, n: int) -> Event:
        return event_from_fields(at(60 * minute, event__dataset=dataset,
                                    event__category="file", event__action="read",
                                    user__name="bob", wallwatch__archived=True), n)
    audit = [read(m, "auditd.log", 1_000 + m) for m in range(0, 180, 20)]
    smb = [read(m + 10, "samba.audit", m) for m in range(0, 180, 20)]
    return audit, smb


def test_while_a_source_catches_up_match_throttles_see_time_order(tmp_path: Path) -> None:
    audit, smb = archived_reads()
    rule = rules_from(tmp_path, ARCHIVED)
    in_order = evaluate(RuleEngine(rule, timedelta(seconds=10)),
                        sorted(audit + smb, key=lambda e: e.timestamp))
    assert [a.timestamp.minute for a in in_order] == [0, 0, 0]  # 0:00, 1:00, 2:00
    engine = RuleEngine(rule, timedelta(seconds=10))
    alerts: list[Alert] = []
    events = smb + audit  # Samba's live events are stored first
    for seq, ev in enumerate(events):
        engine.holding_unknown = seq < len(smb)
        engine.holding = frozenset({"auditd.log"}) if seq < len(events) - 1 else frozenset()
        alerts.extend(engine.process(ev, seq))
        if seq == 3:  # a restart in the middle: the deferred events come back deferred
            again = RuleEngine(rule, timedelta(seconds=10))
            again.restore(engine.snapshot(), lambda seqs: {s: events[s] for s in seqs})
            again.holding, again.holding_unknown = engine.holding, engine.holding_unknown
            engine = again
    engine.holding, engine.holding_unknown = frozenset(), False
    alerts += engine.flush()
    assert sorted(a.id for a in alerts) == sorted(a.id for a in in_order)
    # caught up, a match rule alerts on arrival again
    late_read = event_from_fields(at(4 * 3600, event__dataset="samba.audit",
                                     event__category="file", user__name="bob",
                                     wallwatch__archived=True), 9_999)
    assert len(engine.process(late_read, 9_999)) == 1
