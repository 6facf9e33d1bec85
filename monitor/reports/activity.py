"""`wallwatch report activity`: the health of the monitoring itself, for IT.

What arrived (events by source and host), what the rules made of it (alerts by
rule and severity), who and what was busiest, what could not be read (dead
letters by source) and how far each consumer is behind the log it reads
(cursor against the head of events or alerts). Counts are over a window of
event time (`--since`), except dead letters (time received) and lags (now).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from monitor.event import format_ts, ts_to_us
from monitor.metrics import CONSUMERS
from monitor.reports.page import visible
from monitor.search.output import display_width
from monitor.store import Store

TOP = 10
ALERT_STREAMS = frozenset({"es.alerts", "notify"})  # consumers reading alerts, not events


@dataclass(frozen=True)
class Lag:
    consumer: str
    stream: str  # events | alerts
    position: int
    head: int
    behind: int


@dataclass
class Activity:
    since: str
    until: str
    events: int
    by_source: list[tuple[str, str, int]]  # dataset, host, events
    alerts: int
    by_rule: list[tuple[str, str, int]]  # rule id, severity, alerts
    top_users: list[tuple[str, int]]
    top_clients: list[tuple[str, int]]
    dead_letters: list[tuple[str, int, int]]  # source, received in the window, kept in all
    lags: list[Lag]

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since, "until": self.until, "events": self.events,
            "by_source": [{"dataset": d, "host": h, "events": n} for d, h, n in self.by_source],
            "alerts": self.alerts,
            "by_rule": [{"rule": r, "severity": s, "alerts": n} for r, s, n in self.by_rule],
            "top_users": [{"user": u, "events": n} for u, n in self.top_users],
            "top_clients": [{"client": c, "events": n} for c, n in self.top_clients],
            "dead_letters": [{"source": s, "in_window": n, "total": t}
                             for s, n, t in self.dead_letters],
            "lags": [asdict(lag) for lag in self.lags],
        }


def _rows(store: Store, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return list(store.query(sql, params))


def activity(store: Store, since: datetime, until: datetime) -> Activity:
    window = (ts_to_us(since), ts_to_us(until))
    ev_where = "FROM events WHERE ts >= ? AND ts < ?"
    by_source = [(str(d), str(h or "-"), int(n)) for d, h, n in _rows(
        store, f"SELECT dataset, host_name, count(*) {ev_where} GROUP BY dataset, host_name"
        " ORDER BY count(*) DESC, dataset, host_name", window)]
    by_rule = [(str(r), str(s), int(n)) for r, s, n in _rows(
        store, "SELECT rule_id, severity, count(*) FROM alerts WHERE ts >= ? AND ts < ?"
        " GROUP BY rule_id, severity ORDER BY count(*) DESC, rule_id", window)]
    users = [(str(u), int(n)) for u, n in _rows(
        store, f"SELECT user_name, count(*) {ev_where} AND user_name IS NOT NULL"
        f" GROUP BY user_name ORDER BY count(*) DESC, user_name LIMIT {TOP}", window)]
    clients = [(str(c), int(n)) for c, n in _rows(
        store, f"SELECT client, count(*) {ev_where} AND client IS NOT NULL"
        f" GROUP BY client ORDER BY count(*) DESC, client LIMIT {TOP}", window)]
    dead = [(str(s), int(n), int(t)) for s, n, t in _rows(
        store, "SELECT source, sum(received >= ? AND received < ?), count(*) FROM dead_letters"
        " GROUP BY source ORDER BY source", window)]
    heads = {"events": store.head(), "alerts": store.alerts_head()}
    cursors = {str(n): int(p) for n, p in _rows(store, "SELECT name, position FROM cursors", ())}
    lags: list[Lag] = []
    for name in sorted(set(cursors) | {"rules"}, key=lambda n: (n not in CONSUMERS, n)):
        stream = "alerts" if name in ALERT_STREAMS else "events"
        position = cursors.get(name, 0)
        lags.append(Lag(name, stream, position, heads[stream], max(0, heads[stream] - position)))
    return Activity(
        since=format_ts(since), until=format_ts(until),
        events=sum(n for _, _, n in by_source), by_source=by_source,
        alerts=sum(n for _, _, n in by_rule), by_rule=by_rule,
        top_users=users, top_clients=clients, dead_letters=dead, lags=lags)


def _table(headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    cells = [tuple(visible(str(c)) for c in row) for row in rows]
    widths = [max([display_width(h)] + [display_width(r[i]) for r in cells])
              for i, h in enumerate(headers)]

    def line(row: tuple[str, ...]) -> str:
        return "  " + "  ".join(c + " " * (w - display_width(c))
                                for c, w in zip(row, widths, strict=True)).rstrip()
    return [line(headers), *(line(r) for r in cells)] if cells else ["  none"]


def format_text(a: Activity) -> str:
    out = [f"Activity {a.since} .. {a.until}", "",
           f"EVENTS BY SOURCE AND HOST ({a.events})",
           *_table(("SOURCE", "HOST", "EVENTS"), list(a.by_source)), "",
           f"ALERTS BY RULE AND SEVERITY ({a.alerts})",
           *_table(("RULE", "SEVERITY", "ALERTS"), list(a.by_rule)), "",
           "TOP USERS", *_table(("USER", "EVENTS"), list(a.top_users)), "",
           "TOP CLIENTS", *_table(("CLIENT", "EVENTS"), list(a.top_clients)), "",
           "DEAD LETTERS BY SOURCE",
           *_table(("SOURCE", "IN WINDOW", "KEPT"), list(a.dead_letters)), "",
           "CONSUMER LAGS",
           *_table(("CONSUMER", "READS", "CURSOR", "HEAD", "BEHIND"),
                   [(lag.consumer, lag.stream, lag.position, lag.head, lag.behind)
                    for lag in a.lags])]
    return "\n".join(out) + "\n"
