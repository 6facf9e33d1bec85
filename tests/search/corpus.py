"""A small, varied set of events for search tests, and a way to ask which of
them a search returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.event import Event, event_id
from monitor.search import search
from monitor.store import Store

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
ACME = "/srv/share/clients/acme"
INITECH = "/srv/share/clients/initech"
GLOBEX = "/srv/share/clients/globex"


def make(name: str, minute: int, **kw: Any) -> Event:
    base: dict[str, Any] = {
        "id": event_id("search-test", name),
        "timestamp": T0 + timedelta(minutes=minute),
        "dataset": "samba.audit",
        "category": "file",
        "type": "access",
        "action": "read",
    }
    base.update(kw)
    return Event(**base)


EVENTS: dict[str, Event] = {
    "invoice": make("invoice", 0, user_name="bob", file_path=f"{ACME}/2024年发票汇总.xlsx",
                    client="acme", assigned=True, source_ip="10.0.0.5",
                    extra={"samba.operation": "pread_recv"}),
    "rename": make("rename", 1, user_name="alice", action="rename", type="change",
                   file_path=f"{ACME}/draft.docx", file_target_path=f"{ACME}/final.docx",
                   client="acme", assigned=False, source_ip="10.0.0.6",
                   extra={"samba.operation": "renameat"}),
    "globex": make("globex", 2, user_name="Bob", file_path=f"{GLOBEX}/Q1_report.pdf",
                   client="Globex", assigned=False, off_hours=True, source_ip="10.0.0.5"),
    "logon": make("logon", 3, user_name="carol", dataset="winlog", category="authentication",
                  type="start", action="logon-failed", outcome="failure", source_ip="192.0.2.7",
                  source_port=50123,
                  extra={"winlog.event_id": 4625, "winlog.event_data.LogonType": "3"}),
    "lookalike": make("lookalike", 4, user_name="dave", file_path=f"{ACME}/Q1xreport.pdf",
                      client="acme", extra={"tags.list": ["audit", "q1"]}),
    "percent": make("percent", 5, user_name="erin", file_path=f"{INITECH}/100%done.txt",
                    client="initech", assigned=True, extra={"winlog.event_id": "4663"}),
    "short": make("short", 6, user_name="bob", file_path=f"{ACME}/发票.pdf", client="acme",
                  assigned=True),
    "star": make("star", 7, user_name="frank", file_path=f"{INITECH}/a*b [v2].txt",
                 client="initech", assigned=True, count=3),
    "space": make("space", 8, user_name="gina", file_path=f"{ACME}/2024年 发票/清单.txt",
                  client="acme", assigned=True),
}
ALL = frozenset(EVENTS)
_NAMES = {e.id: name for name, e in EVENTS.items()}


@dataclass
class Corpus:
    store: Store

    def names(self, query: str, limit: int = 100, **kw: Any) -> list[str]:
        """Names of the events a search returns, in its order."""
        return [_NAMES[e.id] for e in search(self.store, query, limit=limit, **kw)]

    def find(self, query: str, **kw: Any) -> set[str]:
        return set(self.names(query, **kw))
