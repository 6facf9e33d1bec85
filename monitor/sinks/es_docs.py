"""Documents as Elasticsearch keeps them, and Events read back from them.

A shipped document is `Event.to_ecs()` (or the stored alert document) plus what
Kibana and Fleet conventions need: `data_stream.*`, `host.name` (the daemon's
host when the source did not name one) and, for events, the hour and weekday in
the firm's timezone so dashboards can draw "when" without scripts. `ecs.version`,
`@timestamp` and `event.dataset` come from to_ecs() already (alerts get
`event.dataset: wallwatch.alerts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from monitor.event import FIELDS, Event
from monitor.sinks.es_templates import dataset

WEEKDAYS = ("1-Mon", "2-Tue", "3-Wed", "4-Thu", "5-Fri", "6-Sat", "7-Sun")
# sources' fields whose value is a whole JSON object (not dotted leaves like
# winlog.event_data.*): read back, they stay one value
DICT_FIELDS = frozenset({"samba.operations", "auditd.socket", "wallwatch.alert.group"})
# fields the shipper adds or to_ecs() derives: not part of the Event read back
_NOT_EVENT = frozenset({"ecs.version", "file.name", "file.directory", "related.user",
                        "related.ip", "wallwatch.local.hour", "wallwatch.local.weekday"})


@dataclass(frozen=True)
class DocContext:
    namespace: str
    host_name: str
    timezone: tzinfo


def _data_stream(stream: str, ctx: DocContext) -> dict[str, str]:
    return {"type": "logs", "dataset": dataset(stream), "namespace": ctx.namespace}


def _set_host(doc: dict[str, Any], ctx: DocContext) -> None:
    host = doc.get("host")
    if not isinstance(host, dict):
        host = doc["host"] = {}
    host.setdefault("name", ctx.host_name)


def event_doc(ev: Event, ctx: DocContext) -> dict[str, Any]:
    doc = ev.to_ecs()
    doc["data_stream"] = _data_stream("events", ctx)
    _set_host(doc, ctx)
    local = ev.timestamp.astimezone(ctx.timezone)
    ours = doc.get("wallwatch")
    if not isinstance(ours, dict):
        ours = doc["wallwatch"] = {}
    ours["local"] = {"hour": local.hour, "weekday": WEEKDAYS[local.weekday()]}
    return doc


def alert_doc(stored: Mapping[str, Any], ctx: DocContext) -> dict[str, Any]:
    doc = dict(stored)
    event = dict(doc.get("event") or {})
    event["dataset"] = dataset("alerts")
    doc["event"] = event
    doc["data_stream"] = _data_stream("alerts", ctx)
    _set_host(doc, ctx)
    return doc


def flatten(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted leaves of a nested document; lists and DICT_FIELDS stay whole."""
    out: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            name = prefix + key
            if isinstance(value, Mapping) and value and name not in DICT_FIELDS:
                walk(value, name + ".")
            else:
                out[name] = value

    walk(doc, "")
    return out


def event_from_doc(doc: Mapping[str, Any]) -> Event:
    """The Event a shipped document was made from (as `wallwatch search` shows it)."""
    flat = flatten(doc)
    values: dict[str, Any] = {}
    for name, attr in FIELDS.items():
        if name not in flat:
            continue
        value = flat.pop(name)
        if name == "@timestamp":
            value = datetime.fromisoformat(str(value))
        elif name in ("event.category", "event.type") and isinstance(value, list):
            value = value[0] if value else ""
        values[attr] = value
    event_id = str(flat.pop("event.id", ""))
    extra = {k: v for k, v in flat.items()
             if k not in _NOT_EVENT and not k.startswith("data_stream.")}
    values.setdefault("count", 1)
    return Event(id=event_id, extra=extra, **values)
