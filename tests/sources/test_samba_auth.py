"""The Samba authentication source, on what a real smbd 4.17 wrote: tests/data/samba/auth.log
(`log level = 1 auth_audit:3@FILE auth_json_audit:3@FILE`; alice and bob log in, then bob
with a wrong password) and, below, the same kind of logons with `logging = syslog@3`
through a private rsyslogd (RFC 3339 file format)."""
# ruff: noqa: E501, W291 - real log lines are long, and Samba's `Auth:` lines end with a space

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.event import Event
from monitor.sources import SOURCES
from monitor.sources.base import ParseOutput, ParserContext
from monitor.sources.samba_auth import SambaAuthParser
from monitor.sources.tail import Line
from tests.sources.samba_helpers import DATA

AUTH_LOG = (DATA / "auth.log").read_text(encoding="utf-8").splitlines()

SYSLOG = r"""
2026-11-27T14:20:38.290429+00:00 vm smbd[1]: [2026/11/27 14:20:38.290354,  0] ../../source3/smbd/server.c:1741(main)
2026-11-27T14:20:38.290458+00:00 vm smbd[1]:   smbd version 4.17.12-Debian started.
2026-11-27T14:20:38.290470+00:00 vm smbd[1]:   Copyright Andrew Tridgell and the Samba Team 1992-2022
2026-11-27T14:20:38.295302+00:00 vm smbd[1]: [2026/11/27 14:20:38.295259,  1] ../../source3/profile/profile.c:53(set_profile_level)
2026-11-27T14:20:38.295327+00:00 vm smbd[1]:   INFO: Profiling turned OFF from pid 1
2026-11-27T14:20:38.566877+00:00 vm smbd[16]: [2026/11/27 14:20:38.566803,  3] ../../auth/auth_log.c:647(log_authentication_event_human_readable)
2026-11-27T14:20:38.566900+00:00 vm smbd[16]:   Auth: [SMB2,(null)] user []\[alice] at [Fri, 27 Nov 2026 14:20:38.566733 UTC] with [NTLMv2] status [NT_STATUS_OK] workstation [ALICE-PC] remote host [ipv4:127.0.0.1:60526] became [WWTEST]\[alice] [S-1-5-21-2919038672-1239049375-655342184-1000]. local host [ipv4:127.0.0.1:45049] 
2026-11-27T14:20:38.567036+00:00 vm smbd[16]:   {"timestamp": "2026-11-27T14:20:38.566984+0000", "type": "Authentication", "Authentication": {"version": {"major": 1, "minor": 2}, "eventId": 4624, "logonId": "0", "logonType": 3, "status": "NT_STATUS_OK", "localAddress": "ipv4:127.0.0.1:45049", "remoteAddress": "ipv4:127.0.0.1:60526", "serviceDescription": "SMB2", "authDescription": null, "clientDomain": "", "clientAccount": "alice", "workstation": "ALICE-PC", "becameAccount": "alice", "becameDomain": "WWTEST", "becameSid": "S-1-5-21-2919038672-1239049375-655342184-1000", "mappedAccount": "alice", "mappedDomain": "", "netlogonComputer": null, "netlogonTrustAccount": null, "netlogonNegotiateFlags": "0x00000000", "netlogonSecureChannelType": 0, "netlogonTrustAccountSid": null, "passwordType": "NTLMv2", "duration": 13820}}
2026-11-27T14:20:38.584934+00:00 vm smbd[17]: [2026/11/27 14:20:38.584883,  2] ../../auth/auth_log.c:647(log_authentication_event_human_readable)
2026-11-27T14:20:38.584957+00:00 vm smbd[17]:   Auth: [SMB2,(null)] user []\[bob] at [Fri, 27 Nov 2026 14:20:38.584857 UTC] with [NTLMv2] status [NT_STATUS_WRONG_PASSWORD] workstation [BOB-PC] remote host [ipv4:127.0.0.1:60532] mapped to []\[bob]. local host [ipv4:127.0.0.1:45049] 
2026-11-27T14:20:38.585078+00:00 vm smbd[17]:   {"timestamp": "2026-11-27T14:20:38.585026+0000", "type": "Authentication", "Authentication": {"version": {"major": 1, "minor": 2}, "eventId": 4625, "logonId": "0", "logonType": 3, "status": "NT_STATUS_WRONG_PASSWORD", "localAddress": "ipv4:127.0.0.1:45049", "remoteAddress": "ipv4:127.0.0.1:60532", "serviceDescription": "SMB2", "authDescription": null, "clientDomain": "", "clientAccount": "bob", "workstation": "BOB-PC", "becameAccount": null, "becameDomain": null, "becameSid": null, "mappedAccount": "bob", "mappedDomain": "", "netlogonComputer": null, "netlogonTrustAccount": null, "netlogonNegotiateFlags": "0x00000000", "netlogonSecureChannelType": 0, "netlogonTrustAccountSid": null, "passwordType": "NTLMv2", "duration": 3030}}
""".strip("\n").splitlines()


def parser(tz: Any = UTC, **options: Any) -> SambaAuthParser:
    return SambaAuthParser(ParserContext("smbauth", "/x/auth.log", tz, options,
                                         lambda: datetime(2026, 11, 28, tzinfo=UTC)))


def run(lines: list[str] | list[bytes], p: SambaAuthParser | None = None, start: int = 0,
        flush: bool = True) -> ParseOutput:
    p = p or parser()
    out = ParseOutput("smbauth", "/x/auth.log")
    offset = start
    for text in lines:
        data = text.encode() if isinstance(text, str) else text
        p.feed(Line(offset, data, "fp"), out)
        offset += len(data) + 1
    if flush:
        p.flush(out)
    return out


def offset_of(lines: list[str], index: int) -> int:
    return sum(len(line.encode()) + 1 for line in lines[:index])


def summary(events: list[Event]) -> list[tuple[Any, ...]]:
    return [(e.outcome, e.user_name, e.source_ip, e.extra["samba.auth.status"],
             e.extra["samba.auth.event_id"], e.extra["samba.auth.workstation"]) for e in events]


LOGONS = [("success", "alice", "127.0.0.1", "NT_STATUS_OK", 4624, "ALICE-PC"),
          ("success", "bob", "127.0.0.1", "NT_STATUS_OK", 4624, "BOB-PC"),
          ("failure", "bob", "127.0.0.1", "NT_STATUS_WRONG_PASSWORD", 4625, "BOB-PC")]


# --------------------------------------------------------------- the real log
def test_real_auth_log_is_three_logons_without_dead_letters() -> None:
    out = run(AUTH_LOG)
    assert out.dead == [] and out.ignored == 0
    assert summary(out.events) == LOGONS
    assert all((e.dataset, e.category, e.type, e.action) ==
               ("samba.auth", "authentication", "start", "smb_login") for e in out.events)


def test_one_logon_is_one_event_from_the_json_at_the_headers_offset() -> None:
    failure = run(AUTH_LOG).events[2]
    assert failure.log_offset == offset_of(AUTH_LOG, 6)  # the `[…,  2] …auth_log.c` header
    assert failure.timestamp == datetime(2026, 11, 27, 14, 6, 20, 484106, tzinfo=UTC)  # JSON's
    assert failure.source_port == 33850
    x = failure.extra
    assert x["samba.auth.record"] == "json+text"
    assert (x["samba.auth.method"], x["samba.auth.service"], x["samba.auth.logon_type"]) == (
        "NTLMv2", "SMB2", 3)
    assert x["samba.auth.duration_us"] == 4481 and x["event.code"] == "4625"
    assert "samba.auth.became_sid" not in x and x["samba.auth.mapped_account"] == "bob"
    assert "user.domain" not in x  # the client sent an empty domain


def test_success_keeps_the_account_samba_made_of_it() -> None:
    alice = run(AUTH_LOG).events[0]
    assert alice.extra["samba.auth.became_domain"] == "WWTEST"
    assert alice.extra["samba.auth.became_sid"] == "S-1-5-21-1576000851-78031240-3240717590-1000"
    assert alice.extra["samba.auth.local_address"] == "ipv4:127.0.0.1:44917"


def test_text_lines_alone_still_give_one_event_per_logon() -> None:
    without_json = [line for line in AUTH_LOG if not line.lstrip().startswith("{")]
    out = run(without_json)
    assert out.dead == [] and summary(out.events) == LOGONS
    failure = out.events[2]
    assert failure.extra["samba.auth.record"] == "text"
    assert failure.timestamp == datetime(2026, 11, 27, 14, 6, 20, 483916, tzinfo=UTC)  # "at [… UTC]"
    assert failure.log_offset == offset_of(without_json, 4)
    assert failure.source_port == 33850


def test_json_lines_alone_give_one_event_per_logon() -> None:
    only_json = [line for line in AUTH_LOG if line.lstrip().startswith("{")]
    out = run(only_json)
    assert out.dead == [] and summary(out.events) == LOGONS
    assert [e.log_offset for e in out.events] == [offset_of(only_json, i) for i in range(3)]


def test_both_lines_and_either_alone_agree_on_every_field_they_share() -> None:
    both = run(AUTH_LOG).events
    text = run([line for line in AUTH_LOG if not line.lstrip().startswith("{")]).events
    for b, t in zip(both, text, strict=True):
        for key, value in t.extra.items():
            if key != "samba.auth.record":
                assert b.extra[key] == value, key
        assert (b.user_name, b.source_ip, b.source_port, b.outcome) == (
            t.user_name, t.source_ip, t.source_port, t.outcome)


def test_an_auth_line_followed_by_another_logons_json_gives_two_events() -> None:
    lines = [*AUTH_LOG[:2], AUTH_LOG[8]]  # alice's header + Auth:, then bob's failure JSON
    out = run(lines)
    assert [(e.user_name, e.extra["samba.auth.record"]) for e in out.events] == [
        ("alice", "text"), ("bob", "json")]


# --------------------------------------------------------------- syslog form
def test_real_syslog_form_pairs_lines_per_process() -> None:
    out = run(SYSLOG)
    assert out.dead == []
    assert out.ignored == 3  # smbd's startup messages
    assert [(e.outcome, e.user_name, e.source_port, e.extra["samba.auth.record"])
            for e in out.events] == [("success", "alice", 60526, "json+text"),
                                     ("failure", "bob", 60532, "json+text")]
    assert [e.log_offset for e in out.events] == [offset_of(SYSLOG, 5), offset_of(SYSLOG, 8)]


def test_interleaved_smbd_processes_do_not_mix() -> None:
    alice, bob = SYSLOG[5:8], SYSLOG[8:11]
    interleaved = [alice[0], bob[0], alice[1], bob[1], bob[2], alice[2]]
    out = run(interleaved)
    assert sorted((e.user_name, e.extra["samba.auth.record"]) for e in out.events) == [
        ("alice", "json+text"), ("bob", "json+text")]


def test_json_via_syslog_without_a_header_and_other_tags() -> None:
    record = AUTH_LOG[8].strip()
    out = run([f"Nov 27 14:06:20 fs01 smbd[4242]: {record}",
               f"Nov 27 14:06:21 fs01 winbindd[9]: {record}",
               "Nov 27 14:06:22 fs01 CRON[1]: (root) CMD (true)"])
    [ev] = out.events
    assert (ev.user_name, ev.outcome, ev.log_offset) == ("bob", "failure", 0)
    assert out.ignored == 2


def test_message_on_the_header_line_debug_prefix_timestamp() -> None:
    line = "[2026/11/27 14:06:20.483951,  2] " + AUTH_LOG[7].strip()
    out = run([line, AUTH_LOG[8]])
    [ev] = out.events
    assert ev.extra["samba.auth.record"] == "json+text" and ev.log_offset == 0


def test_other_records_of_the_audit_classes_are_ignored() -> None:
    authz = {"timestamp": "2026-11-27T14:06:10.300000+0000", "type": "Authorization",
             "Authorization": {"version": {"major": 1, "minor": 1}, "account": "alice"}}
    out = run(["[2026/11/27 14:06:10.300000,  5] ../../auth/auth_log.c:794(log_successful_authz_event_human_readable)",
               "  Successful AuthZ: [SMB2,NTLMSSP] user [WWTEST]\\[alice] [S-1-5-21-1] at [Fri, 27 Nov 2026 14:06:10.300000 UTC] Remote host [ipv4:127.0.0.1:38894] local host [ipv4:127.0.0.1:44917]",
               "  " + orjson.dumps(authz).decode()])
    assert out.events == [] and out.dead == [] and out.ignored == 2


def test_auth_line_of_a_logon_through_netlogon() -> None:
    # Samba appends " NETLOGON computer [...] trust account [...]" after "local host [...] "
    line = AUTH_LOG[7].rstrip() + "  NETLOGON computer [FS01] trust account [FS01$]"
    [ev] = run([AUTH_LOG[6], line]).events
    assert ev.extra["samba.auth.netlogon_computer"] == "FS01"
    assert ev.extra["samba.auth.netlogon_trust_account"] == "FS01$"


def test_ipv6_remote_address_and_a_domain() -> None:
    record = orjson.loads(AUTH_LOG[2])
    auth = record["Authentication"]
    auth.update(remoteAddress="ipv6:fd00::17:50123", clientDomain="CORP")
    [ev] = run([orjson.dumps(record).decode()]).events
    assert (ev.source_ip, ev.source_port) == ("fd00::17", 50123)
    assert ev.extra["user.domain"] == "CORP" and ev.extra["samba.auth.domain"] == "CORP"


# --------------------------------------------------------------- state
@pytest.mark.parametrize("lines", [AUTH_LOG, SYSLOG], ids=["debug-file", "syslog"])
def test_snapshot_and_restore_at_every_cut_gives_the_same_events(lines: list[str]) -> None:
    whole = run(lines).events
    for cut in range(len(lines) + 1):
        first = parser()
        out1 = run(lines[:cut], first, flush=False)
        second = parser()
        second.restore(orjson.loads(orjson.dumps(first.snapshot())))  # as the store keeps it
        out2 = run(lines[cut:], second, start=offset_of(lines, cut))
        assert out1.events + out2.events == whole, f"cut at {cut}"


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize("line,reason", [
    (b"garbage without structure", "nor a syslog line"),
    (b"[2026/13/45 99:00:00.1,  3] ../../auth/auth_log.c:647(x)", "impossible date"),
    (b"[nonsense header", "bad debug-log header"),
    (b"\xff\xfe\xfd\xfc", "not UTF-8"),
    (b"  Auth: [SMB2,(null)] user []\\[bob] at [yesterday]", "'Auth:' line"),
    (b"  Auth: [SMB2,(null)] user []\\[bob] at [Fri, 27 Nov 2026 99:06:20.483916 UTC] with [NTLMv2] status [NT_STATUS_OK] workstation [X] remote host [ipv4:1.2.3.4:5] mapped to []\\[bob]. local host [ipv4:1.2.3.4:445] ", "impossible time"),
    (b'  {"type": "Authentication", "Authentication": {"status": "NT_STATUS_OK"', "not valid JSON"),
    (b'  {"type": "Authentication", "Authentication": {"eventId": 4624}}', "no status"),
    (b'  {"type": "Authentication", "Authentication": {"status": "NT_STATUS_OK"}}', "no timestamp"),
    (b'  {"type": "Authentication", "Authentication": [1]}', "not an object"),
    (b"  Auth: x\x00", "NUL"),
])
def test_bad_lines_become_dead_letters_with_a_reason(line: bytes, reason: str) -> None:
    out = run([line])
    [dead] = out.dead
    assert reason in dead.reason
    assert dead.line == line and dead.offset == 0
    assert out.events == []


_PIECES = st.sampled_from([*AUTH_LOG, *SYSLOG, "[2026/11/27 14:06:20.4,  2] x.c:1(f)",
                           "  Auth: [", "  {", "  {}", '  {"type": "Authentication"}'])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    _PIECES, _PIECES.map(lambda s: s[: len(s) // 2]), st.text(max_size=100),
    st.binary(max_size=100)), max_size=12))
def test_arbitrary_input_never_raises_and_every_line_is_accounted_for(
        lines: list[str | bytes]) -> None:
    datas = [(x.encode("utf-8", "surrogatepass") if isinstance(x, str) else x)
             .replace(b"\n", b" ") for x in lines]
    held = parser()
    run(datas, held, flush=False)
    orjson.dumps(held.snapshot())  # what is held can be stored
    p = parser()
    out = run(datas, p)
    assert all(not s[3] for s in p.snapshot().values())  # flush let go of every Auth:
    for ev in out.events:
        orjson.dumps(dict(ev.extra))
    for data in datas:  # alone, a line is an event, a dead letter, ignored, or a header
        out = run([data])
        header = data.startswith(b"[") or b"]: [" in data
        assert len(out.events) + len(out.dead) + out.ignored >= (0 if header else 1)


def test_tag_option_is_checked() -> None:
    check = SOURCES["samba_auth"].check_options
    assert check({}) is None and check({"tag": "smbd"}) is None
    assert check({"tag": []}) is not None and check({"tag": [1]}) is not None
