"""What the notifier knows of an alert, and which routes take it.

The store hands alerts over as ECS documents (Store.alerts_after); NotifyAlert
is the flat view the notifier works with. Routing is a pure function of the
alert and the config: the same alert goes to the same routes in a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from monitor.event import ts_to_us
from monitor.sinks.notify_config import SEVERITY_RANK, Match, NotifyConfig, Route


@dataclass(frozen=True)
class NotifyAlert:
    id: str
    seq: int
    ts: int  # event time, µs since the epoch
    rule_id: str
    rule_name: str
    severity: str
    group: tuple[tuple[str, str], ...]
    window_start: int
    event_ids: tuple[str, ...]
    count: int = 1
    tags: tuple[str, ...] = ()
    description: str = ""
    user: str | None = None
    client: str | None = None
    host: str | None = None
    path: str | None = None
    ip: str | None = None
    share: str | None = None  # from the alert's first evidence event, when still stored

    @staticmethod
    def from_doc(seq: int, doc: dict[str, Any], share: str | None = None) -> NotifyAlert:
        def get(dotted: str) -> Any:
            node: Any = doc
            for part in dotted.split("."):
                if not isinstance(node, dict):
                    return None
                node = node.get(part)
            return node

        alert = get("wallwatch.alert") or {}
        group = alert.get("group") or {}
        return NotifyAlert(
            id=str(get("event.id")), seq=seq, ts=_us(doc["@timestamp"]),
            rule_id=str(get("rule.id")), rule_name=str(get("rule.name") or get("rule.id")),
            severity=str(get("event.severity_label") or "low"),
            group=tuple((str(k), str(v)) for k, v in group.items()),
            window_start=_us(alert.get("window_start") or doc["@timestamp"]),
            event_ids=tuple(str(e) for e in alert.get("event_ids") or ()),
            count=int(alert.get("count") or 1), tags=tuple(str(t) for t in doc.get("tags") or ()),
            description=str(get("rule.description") or ""), user=_opt(get("user.name")),
            client=_opt(get("wallwatch.client")), host=_opt(get("host.name")),
            path=_opt(get("file.path")), ip=_opt(get("source.ip")), share=share)

    @property
    def group_key(self) -> str:
        """The rule and group as one text: what makes alerts one incident."""
        return self.rule_id + "\x1f" + "\x1f".join(f"{k}={v}" for k, v in self.group)


def _us(text: str) -> int:
    return ts_to_us(datetime.fromisoformat(text))


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def matches(match: Match, alert: NotifyAlert) -> bool:
    if SEVERITY_RANK.get(alert.severity, 0) < SEVERITY_RANK[match.min_severity]:
        return False
    if match.rules and not any(fnmatchcase(alert.rule_id, p) for p in match.rules):
        return False
    if match.tags:
        wanted = {t.casefold() for t in match.tags}
        if not any(t.casefold() in wanted for t in alert.tags):
            return False
    if match.clients and not _glob_any(alert.client, match.clients):
        return False
    return not match.hosts or _glob_any(alert.host, match.hosts)


def _glob_any(value: str | None, patterns: tuple[str, ...]) -> bool:
    if value is None:
        return False
    folded = value.casefold()
    return any(fnmatchcase(folded, p.casefold()) for p in patterns)


def routes_for(config: NotifyConfig, alert: NotifyAlert) -> list[Route]:
    return [r for r in config.routes if matches(r.match, alert)]


def muted_by(config: NotifyConfig, route: Route, ts_us: int) -> str | None:
    """The mute window of the route that covers this event time, if any."""
    if not route.mute:
        return None
    local = datetime.fromtimestamp(ts_us / 1_000_000, config.timezone)
    for window in route.mute:
        if window.covers(local):
            return window.text
    return None
