"""Event and Alert: the one currency between stages.

An Event is immutable. Sources build it, enrichment returns a copy with the
`wallwatch.*` fields filled in, the store keeps it, rules read it. ECS field
names (dotted) are the public names everywhere: in rules, in search queries, in
Elasticsearch. `FIELDS` maps each public name to the attribute that holds it;
fields a source keeps in its own vocabulary (Samba's operation, auditd's record
fields, `winlog.event_data.*`) live in `extra` under their dotted names.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ECS_VERSION = "8.11.0"

# public dotted name -> Event attribute
FIELDS: dict[str, str] = {
    "@timestamp": "timestamp",
    "event.kind": "kind",
    "event.category": "category",
    "event.type": "type",
    "event.action": "action",
    "event.outcome": "outcome",
    "event.dataset": "dataset",
    "user.name": "user_name",
    "source.ip": "source_ip",
    "source.port": "source_port",
    "host.name": "host_name",
    "file.path": "file_path",
    "file.target_path": "file_target_path",
    "file.mode": "file_mode",
    "file.owner": "file_owner",
    "file.group": "file_group",
    "file.type": "file_type",
    "log.file.path": "log_file",
    "log.offset": "log_offset",
    "wallwatch.client": "client",
    "wallwatch.assigned": "assigned",
    "wallwatch.off_hours": "off_hours",
    "wallwatch.share": "share",
    "wallwatch.count": "count",
    "wallwatch.departed": "departed",
    "wallwatch.archived": "archived",
}

# public names computed from other fields
DERIVED_FIELDS = ("file.name", "file.directory", "related.user", "related.ip")


def event_id(*parts: object) -> str:
    """A deterministic id from the things that identify an event's origin."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=12)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    timestamp: datetime
    dataset: str
    category: str
    type: str
    action: str
    outcome: str = "success"
    kind: str = "event"
    user_name: str | None = None
    source_ip: str | None = None
    source_port: int | None = None
    host_name: str | None = None
    file_path: str | None = None
    file_target_path: str | None = None
    file_mode: str | None = None
    file_owner: str | None = None
    file_group: str | None = None
    file_type: str | None = None
    log_file: str | None = None
    log_offset: int | None = None
    client: str | None = None
    assigned: bool | None = None
    off_hours: bool | None = None
    share: str | None = None
    count: int = 1
    departed: bool | None = None  # the user had left the firm by then (config `left:`)
    archived: bool | None = None  # the client is archived / offboarded
    extra: Mapping[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Event:
        """A copy with some attributes changed: dataclasses.replace without its
        per-call field introspection (enrichment does this for every event)."""
        new = object.__new__(Event)
        for name in _SLOTS:
            object.__setattr__(new, name, changes[name] if name in changes
                               else getattr(self, name))
        return new

    def get(self, name: str) -> Any:
        """The value of a public (dotted) field, or None when absent."""
        attr = FIELDS.get(name)
        if attr is not None:
            return getattr(self, attr)
        if name == "file.name":
            return posixpath.basename(self.file_path) if self.file_path else None
        if name == "file.directory":
            return posixpath.dirname(self.file_path) if self.file_path else None
        if name == "related.user":
            return [self.user_name] if self.user_name else []
        if name == "related.ip":
            return [self.source_ip] if self.source_ip else []
        return self.extra.get(name)

    def to_ecs(self) -> dict[str, Any]:
        """The nested ECS document, as Elasticsearch and `--json` show it."""
        doc: dict[str, Any] = {}
        for name, attr in FIELDS.items():
            value = getattr(self, attr)
            if value is None or (name == "wallwatch.count" and value == 1):
                continue
            if name == "@timestamp":
                value = format_ts(value)
            elif name in ("event.category", "event.type"):
                value = [value]
            _put(doc, name, value)
        for name in ("file.name", "file.directory", "related.user", "related.ip"):
            value = self.get(name)
            if value:
                _put(doc, name, value)
        for name, value in self.extra.items():
            _put(doc, name, value)
        _put(doc, "event.id", self.id)
        _put(doc, "ecs.version", ECS_VERSION)
        return doc


_SLOTS = tuple(Event.__dataclass_fields__)


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    if dotted.startswith("@"):
        doc[dotted] = value
        return
    *parents, leaf = dotted.split(".")
    node = doc
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[leaf] = value


def format_ts(ts: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z, as ECS wants it."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def ts_to_us(ts: datetime) -> int:
    """Microseconds since the epoch (exact, unlike timestamp()): how the store keeps time."""
    return (ts - _EPOCH) // _US


def us_to_ts(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Alert:
    """What a rule concluded. Its id is rule + group key + window start, so a
    replay after a crash produces the same alert, which the store keeps once."""

    id: str
    timestamp: datetime  # event time of the event that completed the rule
    rule_id: str
    rule_name: str
    severity: str
    group: tuple[tuple[str, str], ...]  # (field, value) pairs the rule grouped by
    window_start: datetime
    event_ids: tuple[str, ...]  # evidence, oldest first (bounded by the rule kind)
    count: int = 1
    ruleset: str = "wallwatch"
    tags: tuple[str, ...] = ()
    description: str = ""
    user_name: str | None = None
    client: str | None = None
    host_name: str | None = None
    file_path: str | None = None
    source_ip: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @staticmethod
    def make_id(rule_id: str, group: tuple[tuple[str, str], ...], window_start: datetime) -> str:
        return event_id("alert", rule_id, group, ts_to_us(window_start))

    def to_ecs(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@timestamp": format_ts(self.timestamp),
            "event": {"kind": "alert", "id": self.id, "severity_label": self.severity},
            "rule": {"id": self.rule_id, "name": self.rule_name, "ruleset": self.ruleset},
            "ecs": {"version": ECS_VERSION},
        }
        if self.description:
            doc["rule"]["description"] = self.description
        if self.tags:
            doc["tags"] = list(self.tags)
            techniques = [t for t in self.tags if t.upper().startswith("T") and t[1:2].isdigit()]
            if techniques:
                doc["threat"] = {
                    "framework": "MITRE ATT&CK",
                    "technique": [{"id": t.upper()} for t in techniques],
                }
        for name, value in (
            ("user.name", self.user_name),
            ("wallwatch.client", self.client),
            ("host.name", self.host_name),
            ("file.path", self.file_path),
            ("source.ip", self.source_ip),
        ):
            if value is not None:
                _put(doc, name, value)
        _put(doc, "wallwatch.alert.count", self.count)
        _put(doc, "wallwatch.alert.window_start", format_ts(self.window_start))
        _put(doc, "wallwatch.alert.group", {k: v for k, v in self.group})
        _put(doc, "wallwatch.alert.event_ids", list(self.event_ids))
        for name, value in self.extra.items():
            _put(doc, name, value)
        return doc


def event_to_json(ev: Event) -> dict[str, Any]:
    """A plain dict of an Event's attributes (time in µs), for state snapshots."""
    out: dict[str, Any] = {}
    for name in Event.__dataclass_fields__:
        value = getattr(ev, name)
        if name == "timestamp":
            value = ts_to_us(value)
        elif name == "extra":
            value = dict(value)
        if value is not None:
            out[name] = value
    return out


def event_from_json(data: dict[str, Any]) -> Event:
    values = dict(data)
    values["timestamp"] = us_to_ts(int(values["timestamp"]))
    return Event(**values)
