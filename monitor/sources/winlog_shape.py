"""The JSON shapes a Windows event arrives in, made into one WinRecord.

Three shapes are read (one JSON object per line):
- Winlogbeat / ECS: `winlog.event_id`, `winlog.channel`, `winlog.computer_name`,
  `winlog.event_data.*`, `@timestamp` (the event's own time), nested or already
  flattened to dotted keys.
- EVTX dumps (evtx_dump, golang-evtx, xmltodict): `{"Event": {"System": {...},
  "EventData": {...}}}`; XML attributes appear as `#attributes.X`, `@X` or plain `X`.
- Flat exports (OTRF/Mordor, NXLog + Logstash): `EventID`, `Channel`, `Hostname`,
  the event data fields at top level next to the System fields and the
  collector's own fields.

Every native field is kept under a dotted `winlog.*` name: System fields under
Winlogbeat's names (`winlog.provider_name`, `winlog.record_id`…), event data as
`winlog.event_data.<Name>`, fields a collector added (NXLog's `EventTime`,
Logstash's `host`…) as `winlog.export.<Name>`, so nothing is lost and a Sigma
rule's `ShareName` is always `winlog.event_data.ShareName`.

Time: Windows records TimeCreated in UTC, so a TimeCreated written without a
zone is read as UTC. NXLog's `EventTime` is the collector's local time without a
zone; its offset is recovered from `EventReceivedTime` (same local clock) against
Logstash's `@timestamp` (UTC) when both are there, else the configured timezone
is used. In flat exports `@timestamp` can be the time the collector received
the event (NXLog), so it comes last there; in Winlogbeat it is the event's time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import orjson

MAX_DEPTH = 32  # Windows events are 3-4 levels deep; far deeper is not an event
MAX_EXACT = 2**63  # orjson turns integers beyond 64 bits into lossy floats

# flat exports: System fields -> Winlogbeat's names
FLAT_SYSTEM = {
    "EventID": "winlog.event_id", "Channel": "winlog.channel",
    "Hostname": "winlog.computer_name", "Computer": "winlog.computer_name",
    "ComputerName": "winlog.computer_name", "SourceName": "winlog.provider_name",
    "ProviderName": "winlog.provider_name", "ProviderGuid": "winlog.provider_guid",
    "RecordNumber": "winlog.record_id", "EventRecordID": "winlog.record_id",
    "Task": "winlog.task", "Opcode": "winlog.opcode", "Keywords": "winlog.keywords",
    "Level": "winlog.level", "Version": "winlog.version", "TimeCreated": "winlog.time_created",
    "ExecutionProcessID": "winlog.process.pid", "ThreadID": "winlog.process.thread.id",
    "ExecutionThreadID": "winlog.process.thread.id", "ActivityID": "winlog.activity_id",
    "RelatedActivityID": "winlog.related_activity_id",
}
# flat exports: fields the collector (NXLog im_msvistalog, Logstash) added
FLAT_EXPORT = frozenset({
    "EventTime", "EventReceivedTime", "SourceModuleName", "SourceModuleType", "Severity",
    "SeverityValue", "OpcodeValue", "EventType", "Category", "ERROR_EVT_UNRESOLVED",
    "@timestamp", "@version", "host", "port", "tags", "type", "MessageSourceAddress",
})
# EVTX dumps: System element paths -> Winlogbeat's names
EVTX_SYSTEM = {
    "Provider.Name": "winlog.provider_name", "Provider.Guid": "winlog.provider_guid",
    "EventID": "winlog.event_id", "Version": "winlog.version", "Level": "winlog.level",
    "Task": "winlog.task", "Opcode": "winlog.opcode", "Keywords": "winlog.keywords",
    "TimeCreated.SystemTime": "winlog.time_created", "TimeCreated": "winlog.time_created",
    "EventRecordID": "winlog.record_id",
    "Correlation.ActivityID": "winlog.activity_id",
    "Correlation.RelatedActivityID": "winlog.related_activity_id",
    "Execution.ProcessID": "winlog.process.pid", "Execution.ThreadID": "winlog.process.thread.id",
    "Channel": "winlog.channel", "Computer": "winlog.computer_name",
    "Security.UserID": "winlog.user.identifier",
}

_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s*"
                   r"(Z|[+-]\d\d:?\d\d)?$", re.I)


class ShapeError(ValueError):
    """The line is not a Windows event in a shape we read; the message says why."""


@dataclass
class WinRecord:
    event_id: int
    timestamp: datetime  # aware
    channel: str | None
    computer: str | None
    data: dict[str, Any]  # event data (and user data) by native name
    extra: dict[str, Any] = field(default_factory=dict)  # every native field, winlog.* names
    keywords: Any = None  # Keywords as exported: int, hex string or Winlogbeat's names
    event_type: str | None = None  # NXLog's AUDIT_SUCCESS / AUDIT_FAILURE
    message: str | None = None


def parse_document(text: str, tz: tzinfo) -> WinRecord:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ShapeError(f"not JSON: {exc}") from None
    if isinstance(doc, list):
        raise ShapeError("a JSON array; expected one event object per line")
    if not isinstance(doc, dict):
        raise ShapeError(f"JSON {type(doc).__name__}; expected an event object")
    _check_values(doc)
    flat = flatten(doc)
    if any(k.startswith("winlog.") for k in flat):
        return _winlogbeat(flat)
    event = doc.get("Event")
    if isinstance(event, dict) and isinstance(event.get("System"), dict):
        return _evtx(event)
    if "EventID" in doc:
        return _flat(doc, flat, tz)
    raise ShapeError("no winlog.event_id, Event.System or EventID: not a Windows event")


def _check_values(doc: dict[str, Any]) -> None:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ShapeError(f"JSON nested deeper than {MAX_DEPTH} levels")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)
        elif isinstance(value, float) and abs(value) >= MAX_EXACT:
            raise ShapeError(f"number {value:g} is beyond 64-bit integers (digits would be lost)")


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects to dotted keys; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _winlogbeat(flat: dict[str, Any]) -> WinRecord:
    eid = event_id_of(flat.get("winlog.event_id", flat.get("event.code")))
    ts = None
    for key in ("@timestamp", "winlog.time_created", "event.created"):
        if flat.get(key) is not None:
            ts = parse_time(flat[key], UTC, key)
            break
    if ts is None:
        raise ShapeError("no @timestamp or winlog.time_created")
    extra = {k: v for k, v in flat.items() if k.startswith("winlog.")}
    data = {k[len("winlog.event_data."):]: v for k, v in extra.items()
            if k.startswith("winlog.event_data.")}
    _add_user_data(data, extra, "winlog.user_data.")
    computer = _text(flat.get("winlog.computer_name")) or _text(flat.get("host.name"))
    keywords = flat.get("winlog.keywords")
    if keywords is None and flat.get("event.outcome") == "failure":
        keywords = ["Audit Failure"]
    return WinRecord(eid, ts, _text(flat.get("winlog.channel")), computer, data, extra,
                     keywords, None, _text(flat.get("message")))


def _evtx(event: dict[str, Any]) -> WinRecord:
    system = {_clean(k): v for k, v in flatten(event["System"]).items()}
    extra: dict[str, Any] = {}
    for key, value in system.items():
        name = EVTX_SYSTEM.get(key.removesuffix(".#text").removesuffix(".Value"))
        if key.startswith("EventID.") and key not in ("EventID.#text", "EventID.Value"):
            name = "winlog.event_id_" + key.split(".", 1)[1].lower()  # Qualifiers
        extra[name or f"winlog.system.{key}"] = value
    eid = event_id_of(extra.get("winlog.event_id"))
    if extra.get("winlog.time_created") is None:
        raise ShapeError("no Event.System.TimeCreated.SystemTime")
    ts = parse_time(extra["winlog.time_created"], UTC, "TimeCreated")
    data = _evtx_event_data(event.get("EventData"))
    extra.update({f"winlog.event_data.{k}": v for k, v in data.items()})
    user_data = event.get("UserData")
    if isinstance(user_data, dict):
        ud = {_clean(k): v for k, v in flatten(user_data).items()}
        extra.update({f"winlog.user_data.{k}": v for k, v in ud.items()})
        _add_user_data(data, extra, "winlog.user_data.")
    return WinRecord(eid, ts, _text(extra.get("winlog.channel")),
                     _text(extra.get("winlog.computer_name")), data, extra,
                     extra.get("winlog.keywords"))


def _evtx_event_data(node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    data: dict[str, Any] = {}
    items = node.get("Data")
    if isinstance(items, dict):
        items = [items]
    if isinstance(items, list):
        for i, item in enumerate(items, 1):
            name = value = None
            if isinstance(item, dict):
                name = _first(item, "@Name", "Name", "#attributes.Name")
                value = _first(item, "#text", "Value", "text")
            else:
                value = item
            data[_text(name) or f"param{i}"] = value  # unnamed data: Winlogbeat's paramN
    elif items is not None:
        data["param1"] = items
    for key, value in flatten(node).items():
        top = key.split(".", 1)[0]
        if top not in ("Data", "#attributes") and not top.startswith("@"):
            data[_clean(key)] = value
    return data


def _flat(doc: dict[str, Any], flat: dict[str, Any], tz: tzinfo) -> WinRecord:
    extra: dict[str, Any] = {}
    data: dict[str, Any] = {}
    message = None
    for key, value in flat.items():
        top = key.split(".", 1)[0]
        if key in FLAT_SYSTEM:
            extra[FLAT_SYSTEM[key]] = value
        elif top in FLAT_EXPORT:
            extra[f"winlog.export.{key}"] = value
        elif key == "Message":
            message = _text(value)
        else:
            data[key] = value
            extra[f"winlog.event_data.{key}"] = value
    eid = event_id_of(doc.get("EventID"))
    return WinRecord(eid, _flat_time(doc, tz), _text(doc.get("Channel")),
                     _text(extra.get("winlog.computer_name")), data, extra,
                     doc.get("Keywords"), _text(doc.get("EventType")), message)


def _flat_time(doc: dict[str, Any], tz: tzinfo) -> datetime:
    if doc.get("TimeCreated") is not None:
        return parse_time(doc["TimeCreated"], UTC, "TimeCreated")
    if doc.get("EventTime") is not None:
        return parse_time(doc["EventTime"], _nxlog_zone(doc) or tz, "EventTime")
    if doc.get("@timestamp") is not None:
        return parse_time(doc["@timestamp"], UTC, "@timestamp")
    raise ShapeError("no TimeCreated, EventTime or @timestamp")


def _nxlog_zone(doc: dict[str, Any]) -> tzinfo | None:
    """The collector's UTC offset: its local EventReceivedTime against Logstash's UTC
    @timestamp for the same moment, rounded to a quarter hour (they differ by the
    milliseconds NXLog drops)."""
    try:
        received = parse_time(doc.get("EventReceivedTime"), UTC, "EventReceivedTime")
        stamped = parse_time(doc.get("@timestamp"), UTC, "@timestamp")
    except ShapeError:
        return None
    quarter = timedelta(minutes=15)
    delta = stamped - received
    quarters = round(delta / quarter)
    if abs(delta - quarters * quarter) > timedelta(minutes=2) or abs(quarters) > 14 * 4:
        return None
    return timezone(-quarters * quarter)


def parse_time(value: Any, naive: tzinfo, name: str) -> datetime:
    """ISO 8601 / `YYYY-MM-DD HH:MM:SS.fff`; without a zone, in `naive`."""
    m = _TIME.match(value.strip()) if isinstance(value, str) else None
    if not m:
        raise ShapeError(f"{name} is not a timestamp: {str(value)[:60]!r}")
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))  # Windows writes 7 digits
    zone: tzinfo = naive
    if m.group(8):
        z = m.group(8).upper()
        if z != "Z":
            sign = -1 if z[0] == "-" else 1
            hh, mm = int(z[1:3]), int(z[-2:])
            if hh > 23 or mm > 59:
                raise ShapeError(f"{name} has an impossible UTC offset: {z}")
            zone = timezone(sign * timedelta(hours=hh, minutes=mm))
        else:
            zone = UTC
    try:
        ts = datetime(y, mo, d, h, mi, s, micro, tzinfo=zone)
        return ts.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ShapeError(f"{name} is an impossible time: {value[:60]!r}") from None


def event_id_of(value: Any) -> int:
    if value is None:
        raise ShapeError("no event id")
    if isinstance(value, dict):  # EVTX with Qualifiers: {"#text": 4624, ...}
        value = _first(value, "#text", "Value")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"event id is not a number: {str(value)[:40]!r}")
    if not 0 <= value <= 0xFFFF:
        raise ShapeError(f"event id {value} is out of range (0-65535)")
    return value


def _add_user_data(data: dict[str, Any], extra: dict[str, Any], prefix: str) -> None:
    """UserData (e.g. 1102's LogFileCleared) is looked up like event data, by leaf name."""
    for key, value in extra.items():
        if key.startswith(prefix):
            data.setdefault(key.rsplit(".", 1)[-1], value)


def _clean(key: str) -> str:
    """XML attribute spellings of EVTX converters to plain names."""
    return key.replace("#attributes.", "").replace("_attributes.", "").replace(".@", ".") \
        .removeprefix("@")


def _first(node: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if "." in key:
            head, tail = key.split(".", 1)
            sub = node.get(head)
            if isinstance(sub, dict) and tail in sub:
                return sub[tail]
        elif key in node:
            return node[key]
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None
