"""The Windows Security event source, on public events nobody here wrote
(/work/shared/corpus/windows: OTRF/Mordor exports, NXLog + Logstash and flat JSON)
and on the other shapes (Winlogbeat, EVTX dumps) built from those same events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.enrich import compile_client_pattern
from monitor.event import Event
from monitor.sources import SOURCES
from monitor.sources.base import ParseOutput, ParserContext
from monitor.sources.reading import parse_file
from monitor.sources.tail import Line
from monitor.sources.winlog import WinlogParser
from monitor.store import Store
from tests.daemon_process import write_config

CORPUS = Path("/work/shared/corpus/windows/otrf_selected_security_events.jsonl")


def corpus() -> list[bytes]:
    if not CORPUS.exists():
        pytest.skip(f"public corpus not on this machine: {CORPUS}")
    return CORPUS.read_bytes().splitlines()


def line_doc(n: int) -> dict[str, Any]:
    """Corpus line n (1-based, as in otrf_selected_provenance.tsv) as a dict."""
    doc: dict[str, Any] = orjson.loads(corpus()[n - 1])
    return doc


def parser(tz: Any = UTC, **options: Any) -> WinlogParser:
    return WinlogParser(ParserContext("win", "/x.jsonl", tz, options,
                                      lambda: datetime(2026, 11, 27, tzinfo=UTC)))


def run(lines: list[bytes], p: WinlogParser | None = None, start: int = 0) -> ParseOutput:
    p = p or parser()
    out = ParseOutput("win", "/x.jsonl")
    offset = start
    for data in lines:
        p.feed(Line(offset, data, "fp"), out)
        offset += len(data) + 1
    p.flush(out)
    return out


def one(doc: dict[str, Any] | bytes, **options: Any) -> Event:
    data = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    out = run([data], parser(**options))
    assert out.dead == [], out.dead
    [ev] = out.events
    return ev


def test_every_corpus_line_is_an_event_with_no_dead_letters() -> None:
    out = run(corpus())
    assert out.dead == [] and out.ignored == 0
    assert len(out.events) == len(corpus()) == 22
    ids = [e.extra["winlog.event_id"] for e in out.events]
    assert set(ids) == {4624, 4625, 4663, 4670, 5140, 5145}
    assert all(e.dataset == "windows.security" and e.host_name for e in out.events)
    assert all(e.timestamp.tzinfo is not None for e in out.events)
    assert len({e.id for e in out.events}) == 22


def test_nxlog_logon_reads_user_ip_type_and_the_event_time_not_the_receive_time() -> None:
    ev = one(line_doc(1))  # Channel "security" in lower case
    assert (ev.category, ev.type, ev.action, ev.outcome) == (
        "authentication", "start", "logged-in", "success")
    assert (ev.user_name, ev.source_ip, ev.source_port) == ("pgustavo", "172.18.39.5", 62782)
    assert ev.host_name == "WORKSTATION6.theshire.local"  # not Logstash's "host" (the WEC)
    assert ev.extra["winlog.logon.type"] == "Network"
    # EventTime 14:53:30 local; EventReceivedTime 14:53:32 vs @timestamp 18:53:32.340Z → UTC-4
    assert ev.timestamp == datetime(2020, 9, 22, 18, 53, 30, tzinfo=UTC)
    assert ev.extra["winlog.export.host"] == "wec.internal.cloudapp.net"
    assert ev.extra["winlog.channel"] == "security"
    assert "message" not in ev.extra


def test_machine_account_logon_over_loopback() -> None:
    ev = one(line_doc(7))
    assert (ev.user_name, ev.source_ip, ev.outcome) == ("MORDORDC$", "::1", "success")


def test_failed_logon_decodes_status_and_reason() -> None:
    ev = one(line_doc(17))
    assert (ev.action, ev.outcome, ev.user_name, ev.source_ip) == (
        "logon-failed", "failure", "pedro", "::1")
    assert ev.source_port is None  # IpPort "0"
    assert ev.extra["winlog.logon.type"] == "CachedInteractive"
    assert "STATUS_INVALID_LOGON_TYPE" in ev.extra["winlog.logon.failure.status"]
    assert ev.extra["winlog.logon.failure.reason"] == "An Error occured during Logon."
    assert ev.extra["event.reason"] == ev.extra["winlog.logon.failure.status"]
    assert ev.extra["winlog.event_data.Status"] == "0xc000010b"  # native value kept


def test_wrong_password_substatus_is_the_reason() -> None:
    doc = {**line_doc(17), "Status": "0xc000006d", "SubStatus": "0xc000006a"}
    ev = one(doc)
    assert ev.extra["event.reason"] == "User logon with misspelled or bad password"


def test_share_connect_is_a_session_start_with_the_share_name() -> None:
    ipc, c = one(line_doc(2)), one(line_doc(3))
    assert (ipc.category, ipc.type, ipc.action, ipc.share) == ("session", "start", "connect",
                                                               "IPC$")
    assert c.share == "C$" and c.user_name == "pgustavo" and c.source_ip == "172.18.39.5"
    # NXLog could not render line 2: no Message and no ShareLocalPath, still an event
    assert ipc.extra["winlog.export.ERROR_EVT_UNRESOLVED"] is True
    assert ipc.extra["winlog.event_data.ShareName"] == "\\\\*\\IPC$"


def test_share_object_check_builds_the_path_and_decodes_the_mask() -> None:
    ev = one(line_doc(5))
    assert ev.file_path == "C:/ProgramData/GruntHTTP.exe"
    assert (ev.category, ev.type, ev.action, ev.share) == ("file", "change", "write", "C$")
    assert {"read", "write", "append", "delete", "permission-change"} <= set(
        ev.extra["wallwatch.access"])
    assert ev.extra["winlog.event_data.AccessListDescription"] == \
        ev.extra["winlog.event_data.AccessMaskDescription"]
    assert ev.extra["winlog.event_data.RelativeTargetName"] == "ProgramData\\GruntHTTP.exe"
    assert ev.extra["winlog.event_data.AccessMask"] == "0x17019f"
    only_attributes, write = one(line_doc(4)), one(line_doc(6))
    assert (only_attributes.action, only_attributes.file_path) == ("stat", "C:/ProgramData")
    assert write.action == "write" and write.extra["wallwatch.access"] == ["write"]


def test_named_pipe_on_ipc_has_no_file_path() -> None:
    ev = one(line_doc(16))
    assert ev.file_path is None and ev.share == "IPC$"
    assert ev.extra["winlog.event_data.RelativeTargetName"] == "PSEXESVC"


def test_registry_object_access_is_not_a_file() -> None:
    ev = one(line_doc(20))
    assert (ev.category, ev.action, ev.file_path) == ("registry", "write", None)
    assert ev.extra["registry.path"].endswith("\\Services\\EventLog")
    assert ev.extra["wallwatch.access"] == ["set-value"]
    assert ev.extra["process.executable"].endswith("payload.exe")


@pytest.mark.parametrize("mask,action,etype", [
    ("0x1", "read", "access"), ("0x2", "write", "change"), ("0x4", "write", "change"),
    ("0x10000", "delete", "deletion"), ("0x40000", "changed-file-acl-of", "change"),
    ("0x80000", "changed-file-ownership-of", "change"), ("0x80", "stat", "info"),
])
def test_file_object_access_action_comes_from_the_mask(mask: str, action: str,
                                                       etype: str) -> None:
    doc = {**line_doc(20), "ObjectType": "File", "AccessMask": mask,
           "ObjectName": "C:\\Clients\\acme\\2024年发票汇总.xlsx"}
    ev = one(doc)
    assert (ev.category, ev.action, ev.type) == ("file", action, etype)
    assert ev.file_path == "C:/Clients/acme/2024年发票汇总.xlsx"
    assert ev.user_name == "pedro"


def test_access_list_alone_is_decoded_when_the_mask_is_missing() -> None:
    doc = {**line_doc(20), "ObjectType": "File", "AccessList": "%%1537\n\t\t\t\t"}
    del doc["AccessMask"]
    ev = one(doc)
    assert ev.action == "delete" and ev.extra["wallwatch.access"] == ["delete"]


def test_token_permission_change_keeps_both_sddl_and_is_not_widened() -> None:
    ev = one(line_doc(8))
    assert (ev.category, ev.type, ev.action) == ("iam", "change", "permissions-changed")
    assert ev.extra["winlog.event_data.OldSd"] == "D:(A;;GA;;;SY)(A;;GA;;;NS)"
    assert ev.extra["winlog.event_data.NewSd"].startswith("D:(A;;GA;;;SY)(A;;RC;;;OW)")
    assert ev.extra["wallwatch.widened"] is False


def test_file_acl_opened_to_everyone_is_widened() -> None:
    doc = {**line_doc(8), "ObjectType": "File", "ObjectName": "D:\\Clients\\acme",
           "OldSd": "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;S-1-5-21-1-2-3-1104)",
           "NewSd": "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;S-1-5-21-1-2-3-1104)"
                    "(A;OICI;0x1200a9;;;WD)"}
    ev = one(doc)
    assert (ev.category, ev.type, ev.action) == ("file", "change", "changed-file-acl-of")
    assert ev.file_path == "D:/Clients/acme"
    assert ev.extra["wallwatch.widened"] is True and ev.extra["wallwatch.widened_to"] == ["WD"]


def test_owner_only_change_is_an_ownership_change() -> None:
    doc = {**line_doc(8), "ObjectType": "File", "ObjectName": "D:\\Clients\\acme\\a.xlsx",
           "OldSd": "O:BAD:(A;;FA;;;SY)", "NewSd": "O:S-1-5-21-1-2-3-1104D:(A;;FA;;;SY)"}
    ev = one(doc)
    assert ev.action == "changed-file-ownership-of"
    assert ev.file_owner == "S-1-5-21-1-2-3-1104" and ev.extra["wallwatch.widened"] is False


def winlogbeat(doc: dict[str, Any], event_id: Any = "5145") -> dict[str, Any]:
    """A flat corpus line in the shape Winlogbeat 8 ships (event_id as a string)."""
    data = {k: v for k, v in doc.items() if k[0].isupper() and k not in (
        "EventID", "Channel", "Hostname", "Keywords", "Message", "EventTime", "Task")}
    return {"@timestamp": "2020-09-22T18:53:30.000Z",
            "event": {"code": str(event_id), "kind": "event", "provider": "x"},
            "host": {"name": "agent-host"}, "agent": {"type": "winlogbeat"},
            "message": "A network share object was checked…",
            "winlog": {"channel": "Security", "computer_name": doc["Hostname"],
                       "event_id": event_id, "keywords": ["Audit Success"],
                       "provider_name": "Microsoft-Windows-Security-Auditing",
                       "record_id": 933026, "event_data": data}}


def test_winlogbeat_nested_and_dotted_give_the_flat_export_s_event() -> None:
    flat = one(line_doc(5))
    nested_doc = winlogbeat(line_doc(5))
    nested = one(nested_doc)
    dotted_doc = {"@timestamp": nested_doc["@timestamp"], **{
        f"winlog.{k}": v for k, v in nested_doc["winlog"].items() if k != "event_data"}}
    dotted_doc.update({f"winlog.event_data.{k}": v
                       for k, v in nested_doc["winlog"]["event_data"].items()})
    dotted = one(dotted_doc)

    def key(e: Event) -> tuple[Any, ...]:
        return (e.action, e.type, e.file_path, e.user_name, e.source_ip, e.share, e.host_name,
                e.extra["winlog.event_id"], e.extra["winlog.event_data.ShareName"],
                e.extra["wallwatch.access"])

    assert key(nested) == key(dotted) == key(flat)
    assert nested.extra["winlog.event_id"] == 5145  # "5145" from Winlogbeat 8
    assert nested.extra["winlog.record_id"] == 933026


def test_winlogbeat_audit_failure_keyword_is_a_failed_access() -> None:
    doc = winlogbeat(line_doc(6), event_id=5145)
    doc["winlog"]["keywords"] = ["Audit Failure"]
    assert one(doc).outcome == "failure"


def test_evtx_dump_shape_with_xml_attributes() -> None:
    data = {k: line_doc(17)[k] for k in ("TargetUserName", "IpAddress", "IpPort", "Status",
                                          "SubStatus", "LogonType", "FailureReason")}
    doc = {"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events"},
                     "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security"
                                                                     "-Auditing"}},
                                "EventID": 4625, "Keywords": "0x8010000000000000",
                                "TimeCreated": {"#attributes": {
                                    "SystemTime": "2022-08-04T07:50:56.0851234Z"}},
                                "EventRecordID": 77, "Channel": "Security",
                                "Computer": "Pedro01"},
                     "EventData": data}}
    ev = one(doc)
    assert (ev.action, ev.user_name, ev.host_name) == ("logon-failed", "pedro", "Pedro01")
    assert ev.timestamp == datetime(2022, 8, 4, 7, 50, 56, 85123, tzinfo=UTC)
    assert ev.extra["winlog.provider_name"] == "Microsoft-Windows-Security-Auditing"
    assert ev.extra["winlog.record_id"] == 77


def test_xmltodict_shape_with_named_data_list() -> None:
    doc = {"Event": {"System": {"EventID": {"@Qualifiers": "0", "#text": "5140"},
                                "TimeCreated": {"@SystemTime": "2020-10-19 03:30:46.625"},
                                "Channel": "Security", "Computer": "FS01"},
                     "EventData": {"Data": [{"@Name": "SubjectUserName", "#text": "alice"},
                                            {"@Name": "ShareName", "#text": "\\\\*\\Clients"},
                                            {"@Name": "IpAddress", "#text": "10.0.0.5"}]}}}
    ev = one(doc)
    assert (ev.action, ev.user_name, ev.share, ev.source_ip) == (
        "connect", "alice", "Clients", "10.0.0.5")
    assert ev.extra["winlog.event_id_qualifiers"] == "0"


def test_a_naive_time_created_is_utc_and_nxlog_without_logstash_uses_the_configured_zone() -> None:
    ev = one(line_doc(12))  # "2020-10-19 03:30:46.330", no zone, no @timestamp
    assert ev.timestamp == datetime(2020, 10, 19, 3, 30, 46, 330000, tzinfo=UTC)
    doc = {k: v for k, v in line_doc(1).items() if k not in ("@timestamp",)}
    out = run([orjson.dumps(doc)], parser(tz=timezone(timedelta(hours=8))))
    assert out.events[0].timestamp == datetime(2020, 9, 22, 6, 53, 30, tzinfo=UTC)


def test_other_event_ids_are_events_keeping_all_fields() -> None:
    created = one({**line_doc(18), "EventID": 4720})
    assert (created.category, created.type, created.action) == (
        "iam", "creation", "added-user-account")
    assert created.user_name == "PEDRO01$"  # the subject did it
    unknown = one({**line_doc(18), "EventID": 4999})
    assert (unknown.category, unknown.action) == ("host", "windows-event-4999")
    assert unknown.extra["winlog.event_data.LogonGuid"] == "{00000000-0000-0000-0000-000000000000}"
    share_changed = one({**line_doc(3), "EventID": 5143, "OldSD": "D:(A;;FA;;;BA)",
                         "NewSD": "D:(A;;FA;;;BA)(A;;FA;;;WD)"})
    assert share_changed.extra["wallwatch.widened_to"] == ["WD"]


def test_other_channels_are_ignored_unless_configured() -> None:
    doc = orjson.dumps({**line_doc(18), "Channel": "System", "EventID": 7045})
    out = run([doc])
    assert out.events == [] and out.dead == [] and out.ignored == 1
    ev = one(doc, channels="*")
    assert ev.dataset == "windows.system"
    assert one(line_doc(18), channels=["security"]).action == "logged-in"


def test_message_is_kept_only_when_asked() -> None:
    assert one(line_doc(3), keep_message=True).extra["message"].startswith("A network share")


@pytest.mark.parametrize("line,reason", [
    (b"not json at all", "not JSON"),
    (b'[{"EventID": 4624}]', "a JSON array"),
    (b'"4624"', "JSON str"),
    (b"4624", "JSON int"),
    (b"null", "JSON NoneType"),
    (b'{"EventID": 4624, "x": ' + b'{"a": ' * 40 + b"1" + b"}" * 41, "nested deeper"),
    (b"[" * 3000 + b"]" * 3000, "not JSON"),
    (b'{"EventID": 4624, "RecordNumber": 123456789012345678901234567890}', "beyond 64-bit"),
    (b'{"EventID": 4624, "KeyLength": 1e400}', "not JSON"),
    (b'{"EventID": 70000, "TimeCreated": "2020-01-01T00:00:00Z"}', "out of range"),
    (b'{"EventID": "4624x", "TimeCreated": "2020-01-01T00:00:00Z"}', "not a number"),
    (b'{"EventID": true, "TimeCreated": "2020-01-01T00:00:00Z"}', "not a number"),
    (b'{"EventID": 4624, "TimeCreated": "yesterday"}', "not a timestamp"),
    (b'{"EventID": 4624, "TimeCreated": "2020-02-30T00:00:00Z"}', "impossible time"),
    (b'{"EventID": 4624}', "no TimeCreated"),
    (b'{"winlog": {"channel": "Security"}, "@timestamp": "2020-01-01T00:00:00Z"}', "no event id"),
    (b'{"hello": "world"}', "not a Windows event"),
    (b"\xff\xfe{\x00", "not UTF-8"),
])
def test_bad_lines_are_dead_letters_with_a_reason(line: bytes, reason: str) -> None:
    out = run([line])
    [dead] = out.dead
    assert reason in dead.reason, dead.reason
    assert dead.line == line and out.events == []


def test_blank_lines_and_a_byte_order_mark_are_fine() -> None:
    out = run([b"", b"  \r", b"\xef\xbb\xbf" + corpus()[0] + b"\r"])
    assert out.ignored == 2 and out.dead == [] and len(out.events) == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    out = run([data])
    assert len(out.events) + len(out.dead) + out.ignored == 1


_KEYS = st.sampled_from(["EventID", "Channel", "TimeCreated", "@timestamp", "EventTime",
                         "EventReceivedTime", "Hostname", "Keywords", "EventType",
                         "AccessMask", "AccessList", "ObjectType", "ObjectName", "OldSd",
                         "NewSd", "ShareName", "ShareLocalPath", "RelativeTargetName",
                         "IpAddress", "IpPort", "LogonType", "Status", "SubStatus",
                         "TargetUserName", "SubjectUserName", "winlog", "event_id",
                         "event_data", "Event", "System", "EventData", "Data", "#text"])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=30) | st.sampled_from(["4663", "5145", "0x17019f", "%%4416 %%1537",
                                              "2020-01-01 00:00:00", "2020-01-01T00:00:00Z",
                                              "D:(A;;FA;;;WD)", "File", "Key", "security"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=10),
       st.sampled_from([4624, 4625, 4656, 4663, 4670, 5140, 5143, 5145, 1102, 9999]))
def test_arbitrary_event_like_objects_never_raise(doc: dict[str, Any], eid: int) -> None:
    for candidate in (doc, {**doc, "EventID": eid, "TimeCreated": "2020-01-01T00:00:00Z"}):
        out = run([orjson.dumps(candidate)], parser(channels="*"))
        assert len(out.events) + len(out.dead) + out.ignored == 1
        for ev in out.events:
            orjson.dumps(dict(ev.extra))  # storable as the store keeps it
            ev.to_ecs()


def test_snapshot_and_restore_at_any_cut_gives_the_same_events() -> None:
    raw = corpus()
    whole = run(raw).events
    offsets = [sum(len(x) + 1 for x in raw[:i]) for i in range(len(raw) + 1)]
    for cut in range(len(raw) + 1):
        first = parser()
        a = run(raw[:cut], first)
        second = parser()
        second.restore(orjson.loads(orjson.dumps(first.snapshot())))  # as the store keeps it
        b = run(raw[cut:], second, start=offsets[cut])
        assert a.events + b.events == whole


def test_registered_with_option_checks() -> None:
    source = SOURCES["winlog"]
    assert source.check_options({}) is None
    assert source.check_options({"channels": ["Security", "System"], "keep_message": True}) \
        is None
    assert "channels" in (source.check_options({"channels": "Security"}) or "")
    assert "keep_message" in (source.check_options({"keep_message": "yes"}) or "")


def test_a_configured_file_source_stores_enriched_events(tmp_path: Path) -> None:
    log = tmp_path / "security.jsonl"
    file_read = {**line_doc(20), "ObjectType": "File", "AccessMask": "0x1",
                 "ObjectName": "C:\\Clients\\acme\\ledger.xlsx", "SubjectUserName": "alice"}
    log.write_bytes(b"\n".join([*corpus(), orjson.dumps(file_read)]) + b"\n")
    config = write_config(tmp_path / "w.yaml", tmp_path / "w.db",
                          [{"type": "winlog", "name": "win", "path": str(log)}])
    cfg = load_config(config)
    events = list(parse_file(cfg.sources[0], cfg))
    assert len(events) == 23
    read = events[-1]
    assert (read.action, read.user_name, read.file_path) == (
        "read", "alice", "C:/Clients/acme/ledger.xlsx")
    # the config accepts only patterns starting with "/" today; the path form is ready
    # for a drive-letter pattern once it does
    match = compile_client_pattern("C:/Clients/{client}/**").match(read.file_path or "")
    assert match is not None and match.group("client") == "acme"
    store = Store(tmp_path / "w.db")
    try:
        store.insert_events(events)
        stored = {e.id: e for _, e in store.events_after(0, limit=100)}
    finally:
        store.close()
    assert stored[read.id].extra == read.extra
    assert stored[events[0].id].extra["winlog.keywords"] == -9214364837600034816
