"""The Samba full_audit parser, on logs a real smbd 4.17 wrote (tests/data/samba)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from tests.sources.samba_helpers import (
    DATA,
    SAMPLE_ROOT,
    by_action,
    debug_record,
    parser,
    run_file,
    run_lines,
)

ACME = f"{SAMPLE_ROOT}/acme"


@pytest.mark.parametrize("name,prefix", [
    ("debug_audit.log", "%u|%I|%m|%S"),
    ("debug_audit_default_prefix.log", "%u|%I"),
    ("syslog_audit.log", "%u|%I|%m|%S"),
    ("syslog_audit_traditional.log", "%u|%I|%m|%S"),
    ("debug_audit_dos_mode.log", "%u|%I|%m|%S"),
])
def test_every_real_sample_parses_without_dead_letters(name: str, prefix: str) -> None:
    out = run_file(DATA / name, prefix=prefix)
    assert out.dead == []
    assert out.events


def test_the_three_forms_of_one_session_give_the_same_events() -> None:
    def summary(name: str, prefix: str = "%u|%I|%m|%S") -> Counter[tuple[str | None, ...]]:
        return Counter((e.user_name, e.action, e.outcome, e.file_path)
                       for e in run_file(DATA / name, prefix=prefix).events)

    debug = summary("debug_audit.log")
    assert summary("syslog_audit.log") == debug
    assert summary("syslog_audit_traditional.log") == debug
    assert summary("debug_audit_default_prefix.log", "%u|%I") == debug


def test_a_read_is_one_event_with_its_count_and_operations() -> None:
    events = run_file(DATA / "debug_audit.log").events
    [read] = [e for e in events if e.action == "read" and e.user_name == "alice"]
    assert read.source_ip == "127.0.0.1"
    assert read.file_path == f"{ACME}/2024年发票汇总.xlsx"
    assert (read.category, read.type, read.outcome, read.file_type) == (
        "file", "access", "success", "file")
    assert read.count == 1
    assert read.extra["samba.operations"]["pread_recv"] == 1
    assert read.share == "clients" and read.extra["samba.machine"] == "alice-pc"


def test_closing_the_handle_ends_the_access_so_a_read_then_an_overwrite_are_two_events() -> None:
    events = [e for e in run_file(DATA / "debug_audit.log").events
              if e.user_name == "bob" and (e.file_path or "").endswith("globex/ledger.csv")]
    assert [e.action for e in events] == ["read", "write"]
    assert events[0].extra["samba.operations"]["close"] == 1
    # and alice setting the read-only attribute right after her copy is its own event
    [attrs] = [e for e in run_file(DATA / "debug_audit.log").events
               if e.action == "changed-file-attributes-of"]
    assert attrs.file_path == f"{ACME}/归档/副本.xlsx"


def test_creating_a_file_is_a_write_of_type_creation() -> None:
    events = run_file(DATA / "debug_audit.log").events
    [new] = [e for e in events if e.file_path == f"{ACME}/2025年预算.xlsx" and e.action == "write"]
    assert new.type == "creation"
    [overwrite] = [e for e in events if e.action == "write" and e.file_path.endswith("ledger.csv")]
    assert overwrite.type == "change"  # existed before: no failed look-up preceded it


def test_rename_has_both_paths_and_folds_samba_lookups() -> None:
    events = by_action(run_file(DATA / "debug_audit.log").events)
    first, second = events["rename"]
    assert (first.file_path, first.file_target_path) == (
        f"{ACME}/2025年预算.xlsx", f"{ACME}/2025年预算-终版.xlsx")
    assert second.file_target_path == f"{ACME}/归档/2025年预算-终版.xlsx"
    assert first.type == "change" and first.client is None  # enrichment comes later
    # Samba's set-DOS-attributes on the new name is its own housekeeping, not an event
    renamed = {first.file_target_path, second.file_target_path}
    assert not [e for e in events.get("changed-file-attributes-of", [])
                if e.file_path in renamed]


def test_delete_mkdir_and_rmdir() -> None:
    events = by_action(run_file(DATA / "debug_audit.log").events)
    assert {e.file_path for e in events["delete"]} == {f"{ACME}/归档/副本.xlsx", f"{ACME}/临时"}
    assert {e.file_path for e in events["mkdir"]} == {f"{ACME}/归档", f"{ACME}/临时"}
    assert all(e.type == "deletion" for e in events["delete"])
    assert all(e.type == "creation" and e.file_type == "dir" for e in events["mkdir"])


def test_chmod_gives_the_new_mode() -> None:
    events = run_file(DATA / "debug_audit_dos_mode.log").events
    modes = [e.file_mode for e in events if e.action == "changed-file-permissions-of"]
    assert modes == ["0666", "0666", "0444", "0666"]  # create, create, set read-only, clear it


def test_chown_resolves_owner_and_keeps_uid_gid_and_failures() -> None:
    events = [e for e in run_file(DATA / "debug_audit.log").events
              if e.action == "changed-file-ownership-of"]
    assert [e.outcome for e in events] == ["failure", "success", "failure", "success"]
    assert events[0].extra["error.message"] == "Operation not permitted"
    assert events[1].extra["file.uid"] == "1001" and "file.gid" not in events[1].extra
    assert events[3].extra["file.gid"] == "1002"


def test_acl_change_keeps_the_sddl() -> None:
    events = [e for e in run_file(DATA / "debug_audit.log").events
              if e.action == "changed-file-acl-of"]
    assert events[0].extra["samba.sddl"] == "D:(A;;0x001f01ff;;;S-1-22-1-1001)(A;;0x001200a9;;;WD)"
    assert events[0].file_path == f"{ACME}/归档/2025年预算-终版.xlsx"


def test_failures_are_events_with_their_error() -> None:
    events = [e for e in run_file(DATA / "debug_audit.log").events
              if e.user_name == "bob" and e.outcome == "failure"]
    assert events, "bob's failed operations must be recorded"
    missing = [e for e in events if e.file_path and e.file_path.endswith("missing.xlsx")]
    assert len(missing) == 1  # the look-up and the failed open are one event
    assert missing[0].extra["error.message"] == "No such file or directory"


def test_listing_a_directory_is_one_event_counting_its_entries() -> None:
    events = run_file(DATA / "debug_audit.log").events
    [listing] = [e for e in events if e.user_name == "bob" and e.action == "open"
                 and e.file_path == f"{SAMPLE_ROOT}/globex"]
    assert listing.file_type == "dir"
    assert "ledger.csv" in listing.extra["samba.entry_names"]
    assert listing.extra["samba.entries"] >= 3


def test_connect_and_disconnect_are_session_events() -> None:
    events = by_action(run_file(DATA / "debug_audit.log").events)
    assert [e.user_name for e in events["connect"]] == ["alice", "bob"]
    assert all(e.category == "session" and e.share == "clients" for e in events["connect"])
    assert [e.type for e in events["disconnect"]] == ["end", "end"]


def test_debug_header_time_is_read_in_the_configured_timezone() -> None:
    from zoneinfo import ZoneInfo

    from monitor.sources.base import ParserContext
    from monitor.sources.samba import SambaParser
    p = SambaParser(ParserContext("s", "/x", ZoneInfo("Asia/Shanghai"),
                                  {"prefix": "%u|%I"}, lambda: datetime.now(UTC)))
    out = run_lines(p, debug_record("alice|10.0.0.1|mkdirat|ok|/srv/a", "2026/11/02 10:00:00.5"))
    [ev] = out.events
    assert ev.timestamp == datetime(2026, 11, 2, 2, 0, 0, 500000, tzinfo=UTC)


def test_reads_far_apart_in_event_time_are_separate_accesses() -> None:
    lines = (debug_record("alice|1.2.3.4|m|s|pread_recv|ok|/srv/a", "2026/11/02 10:00:00")
             + debug_record("alice|1.2.3.4|m|s|pread_recv|ok|/srv/a", "2026/11/02 10:00:01")
             + debug_record("bob|1.2.3.5|m|s|pread_recv|ok|/srv/b", "2026/11/02 10:00:30")
             + debug_record("alice|1.2.3.4|m|s|pread_recv|ok|/srv/a", "2026/11/02 10:00:31"))
    out = run_lines(parser(), lines, flush=False)
    [first] = out.events  # the gap closed alice's first access before bob's record
    assert first.count == 2
    out2 = run_lines(parser(), lines)
    assert sorted(e.count for e in out2.events) == [1, 1, 2]


def test_samba_opening_the_share_root_before_each_request_is_not_an_event() -> None:
    """`openat <share path>/` starts nearly every request: 2 reads a minute apart give
    2 read events, not 2 more `stat` events of the share root."""
    lines: list[bytes] = []
    for minute in ("10:00", "10:01"):
        t = f"2026/11/02 {minute}:00"
        lines += (debug_record("alice|1.2.3.4|m|s|openat|ok|r|/srv/s/", t)
                  + debug_record("alice|1.2.3.4|m|s|create_file|ok|0x89|file|open|/srv/s/a", t)
                  + debug_record("alice|1.2.3.4|m|s|pread_recv|ok|/srv/s/a", t)
                  + debug_record("alice|1.2.3.4|m|s|close|ok|/srv/s/a", t))
    out = run_lines(parser(), lines)
    assert [e.action for e in out.events] == ["read", "read"]
    assert out.ignored == 2 and out.dead == []
    # the client looking at the root itself still is one
    listing = run_lines(parser(), debug_record(
        "alice|1.2.3.4|m|s|create_file|ok|0x89|dir|open|/srv/s", "2026/11/02 10:00:00"))
    assert [(e.action, e.file_path) for e in listing.events] == [("open", "/srv/s")]


def test_path_with_a_pipe_survives() -> None:
    out = run_lines(parser(), debug_record(
        "alice|1.2.3.4|m|s|renameat|ok|/srv/a|b.txt|/srv/c|d.txt"))
    [ev] = out.events
    assert (ev.file_path, ev.file_target_path) == ("/srv/a|b.txt", "/srv/c|d.txt")


def test_syslog_lines_of_other_programs_are_ignored_not_dead() -> None:
    out = run_lines(parser(), [
        b"2026-11-02T10:00:00+08:00 fs01 CRON[123]: (root) CMD (true)",
        b"Nov  2 10:00:01 fs01 smbd_audit: alice|1.2.3.4|m|s|unlinkat|ok|/srv/a",
    ])
    assert out.ignored == 1 and out.dead == []
    [ev] = out.events
    assert ev.action == "delete"
    assert ev.timestamp == datetime(2026, 11, 2, 10, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize("line,reason", [
    (b"garbage without structure", "not a syslog line"),
    (b"[2026/13/45 99:00:00.1,  1] x(do_log)", "impossible date"),
    (b"[nonsense header", "bad debug-log header"),
    (b"\xff\xfe\xfd\xfc\xfb\xfa\xf9", "not UTF-8"),
    (b"Nov  2 10:00:01 fs01 smbd_audit: alice|1.2.3.4", "bad full_audit record"),
    (b"Nov  2 10:00:01 fs01 smbd_audit: alice|1.2.3.4|m|s|unlinkat|maybe|/srv/a",
     "result must be"),
    (b"Nov  2 10:00:01 fs01 smbd_audit: a|b|c|d|\x00|ok", "NUL"),
])
def test_bad_lines_become_dead_letters_with_a_reason(line: bytes, reason: str) -> None:
    out = run_lines(parser(), [line])
    [dead] = out.dead
    assert reason in dead.reason
    assert dead.line == line and dead.offset == 0


def test_snapshot_and_restore_mid_stream_equals_an_uninterrupted_parse() -> None:
    raw = (DATA / "debug_audit.log").read_bytes().split(b"\n")[:-1]
    whole = run_lines(parser(), raw).events
    for cut in (1, 7, 100, 201, len(raw) - 3):
        first = parser()
        out1 = run_lines(first, raw[:cut], flush=False)
        second = parser()
        second.restore(orjson.loads(orjson.dumps(first.snapshot())))  # as the store keeps it
        out = run_lines(second, raw[cut:])  # offsets restart at 0 here: compare without ids
        got = [(e.action, e.file_path, e.count) for e in out1.events + out.events]
        assert sorted(got, key=str) == sorted(
            [(e.action, e.file_path, e.count) for e in whole], key=str)
