"""The auditd parser: joining records into events, paths, names, every mapping, bad input.

Real samples (tests/data/auditd, written by a real auditd 3.0.9 on this kind of
machine, see make_samples.py) and hand-written records in the kernel's format.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.sources import SOURCES
from monitor.sources.auditd_records import parse_record
from monitor.sources.base import ParseOutput
from monitor.sources.tail import Line
from tests.sources.auditd_helpers import (
    CORPUS,
    DATA,
    SAMPLE_TREE,
    cwd,
    eoe,
    lines_of,
    one,
    parser,
    path_rec,
    run_file,
    run_lines,
    summary,
    syscall,
)

ACME = f"{SAMPLE_TREE}/acme"
T2 = "1700000000.200"


# ------------------------------------------------------------------ real samples
@pytest.mark.parametrize("name", ["enriched.log", "raw.log"])
def test_real_samples_parse_without_dead_letters(name: str) -> None:
    out = run_file(DATA / name)
    assert out.dead == [] and out.ignored == 0
    assert len(out.events) == 35


def test_raw_and_enriched_samples_give_the_same_events() -> None:
    assert summary(run_file(DATA / "raw.log").events) == summary(
        run_file(DATA / "enriched.log").events)


def test_sample_operations_become_file_events_of_the_user_with_absolute_paths() -> None:
    events = [e for e in run_file(DATA / "enriched.log").events if e.category == "file"]
    got = {(e.action, e.type, e.file_path, e.file_target_path, e.file_mode)
           for e in events if e.user_name == "wwaudit"}
    assert ("opened-file", "access", f"{ACME}/notes.txt", None, "0644") in got       # cat
    assert ("opened-file", "change", f"{ACME}/notes.txt", None, "0644") in got       # >>
    assert ("renamed", "change", f"{ACME}/notes.txt", f"{ACME}/notes-2.txt", "0644") in got
    assert ("created-directory", "creation", f"{ACME}/归档", None, "0755") in got
    assert ("opened-file", "creation", f"{ACME}/归档/new file.txt", None, "0644") in got
    assert ("changed-file-permissions-of", "change", f"{ACME}/notes-2.txt", None, "0640") in got
    assert ("deleted", "deletion", f"{ACME}/归档/new file.txt", None, "0644") in got
    assert ("deleted", "deletion", f"{ACME}/归档", None, "0755") in got
    [denied] = [e for e in events if e.outcome == "failure" and e.action == "opened-file"]
    assert denied.file_path == f"{SAMPLE_TREE}/globex/secret.txt"
    assert denied.extra["error.code"] == "EACCES" and denied.file_owner == "root"
    [acl] = [e for e in events if e.action == "changed-file-acl-of"]
    assert acl.user_name == "root" and acl.file_path == f"{ACME}/notes-2.txt"


def test_names_relative_to_a_directory_fd_resolve_through_the_parent_inode() -> None:
    """Python's dir_fd calls (like Samba's openat on a directory fd): the kernel logs the
    cwd as the PARENT's name; the inode learned earlier gives the real directory."""
    events = run_file(DATA / "raw.log").events
    sub = [e for e in events if e.file_path and "/sub" in e.file_path]
    assert [(e.action, e.type, e.file_path, e.file_target_path) for e in sub] == [
        ("created-directory", "creation", f"{ACME}/sub", None),
        ("opened-file", "creation", f"{ACME}/sub/a.txt", None),
        ("opened-file", "access", f"{ACME}/sub", None),
        ("renamed", "change", f"{ACME}/sub/a.txt", f"{ACME}/sub/b.txt"),
        ("opened-file", "change", f"{ACME}/sub/b.txt", None),
        ("changed-file-permissions-of", "change", f"{ACME}/sub/b.txt", None),  # fchmod(fd)
        ("deleted", "deletion", f"{ACME}/sub/b.txt", None),
        ("deleted", "deletion", f"{ACME}/sub", None),
    ]
    assert all(e.extra["process.working_directory"] != ACME for e in sub)  # cwd was elsewhere


def test_a_name_relative_to_an_unknown_directory_fd_stays_relative_and_says_so() -> None:
    ev = one([syscall(5, "openat", 257, args=("3", "7f00", "0", "0")), cwd(5, "/root"),
              path_rec(5, 0, "ledger.xlsx", inode=777)])
    assert ev.file_path == "ledger.xlsx"
    assert ev.extra["auditd.path_resolved"] is False


# ------------------------------------------------------------------ joining
def test_the_records_of_one_event_become_one_event_with_native_fields() -> None:
    ev = one([syscall(7, "openat", 257, args=("ffffff9c", "7f00", "0", "0"), uid="0"),
              cwd(7, "/srv/clients"), path_rec(7, 0, "acme/a.txt", inode=55),
              'type=PROCTITLE msg=audit(1700000000.100:7): proctitle=636174006163'
              '6D652F612E747874', eoe(7)])
    assert (ev.category, ev.type, ev.action, ev.outcome) == ("file", "access", "opened-file",
                                                             "success")
    assert ev.timestamp == datetime(2023, 11, 14, 22, 13, 20, 100000, tzinfo=UTC)
    assert ev.file_path == "/srv/clients/acme/a.txt" and ev.user_name == "root"
    x = ev.extra
    assert x["auditd.record_types"] == ["SYSCALL", "CWD", "PATH", "PROCTITLE"]
    assert x["auditd.sequence"] == 7 and x["auditd.session"] == "3"
    assert x["auditd.data.syscall"] == "openat" and x["auditd.data.a2"] == "0"
    assert x["auditd.data.exit"] == "0" and x["auditd.data.tty"] == "pts0"
    assert x["auditd.paths"] == [{"item": "0", "name": "acme/a.txt", "inode": "55",
                                  "dev": "fe:00", "mode": "0100644", "ouid": "0", "ogid": "0",
                                  "rdev": "00:00", "nametype": "NORMAL",
                                  "path": "/srv/clients/acme/a.txt"}]
    assert x["process.executable"] == "/usr/bin/prog" and x["process.pid"] == 4242
    assert x["process.title"] == "cat acme/a.txt" and x["tags"] == ["k"]
    assert x["user.audit.id"] == "1000"
    orjson.dumps(ev.to_ecs())  # JSON-able


def test_interleaved_events_are_joined_by_their_serial() -> None:
    out = run_lines(parser(), [t.encode() for t in [
        syscall(1, "unlink", 87), syscall(2, "mkdir", 83, t=T2), cwd(1, "/a"),
        cwd(2, "/b", t=T2), path_rec(2, 0, "/b", "PARENT", t=T2), path_rec(1, 0, "/a", "PARENT"),
        path_rec(1, 1, "x", "DELETE"), path_rec(2, 1, "y", "CREATE", mode="040755", t=T2)]])
    assert [(e.action, e.file_path) for e in out.events] == [("deleted", "/a/x"),
                                                             ("created-directory", "/b/y")]


def test_a_record_arriving_before_its_syscall_still_joins() -> None:
    ev = one([path_rec(3, 0, "/srv/f", "DELETE"), cwd(3, "/"), syscall(3, "unlink", 87)])
    assert (ev.action, ev.file_path) == ("deleted", "/srv/f")
    assert ev.extra["auditd.record_types"] == ["PATH", "CWD", "SYSCALL"]


def test_an_event_is_complete_lag_records_after_a_later_event_began() -> None:
    first = [syscall(1, "unlink", 87), path_rec(1, 0, "/a", "DELETE")]
    later = [syscall(n, "unlink", 87, t=T2) for n in range(2, 7)]
    lines = [t.encode() for t in first + later]

    def emitted(n: int) -> list[int]:
        out = run_lines(parser(lag=3), lines[:n], flush=False)
        return [e.extra["auditd.sequence"] for e in out.events]

    # record 3 (serial 2) is the first of a later event; 3 records on, event 1 is out
    assert emitted(5) == [] and emitted(6) == [1] and emitted(7) == [1, 2]


def test_an_event_is_complete_once_a_record_two_seconds_younger_arrives() -> None:
    """After a quiet spell the next record is much later: the held file event goes
    out before the single-record event that follows it, not LAG records later."""
    out = run_lines(parser(), [t.encode() for t in [
        syscall(1, "unlink", 87), path_rec(1, 0, "/a", "DELETE"),
        "type=USER_LOGIN msg=audit(1700003600.000:9): pid=1 uid=0 auid=4294967295 "
        "ses=4294967295 msg='op=login acct=\"bob\" exe=\"/usr/sbin/sshd\" hostname=? "
        "addr=192.0.2.7 terminal=ssh res=failed'"]], flush=False)
    assert [e.action for e in out.events] == ["deleted", "logged-in"]


def test_eoe_ends_an_event_at_once_and_user_messages_need_nothing() -> None:
    out = run_lines(parser(), [t.encode() for t in [
        syscall(1, "unlink", 87), path_rec(1, 0, "/a", "DELETE"), eoe(1),
        "type=USER_LOGIN msg=audit(1700000001.000:9): pid=1 uid=0 auid=4294967295 "
        "ses=4294967295 msg='op=login acct=\"bob\" exe=\"/usr/sbin/sshd\" hostname=? "
        "addr=192.0.2.7 terminal=ssh res=failed'"]], flush=False)
    assert [e.action for e in out.events] == ["deleted", "logged-in"]


def test_ids_come_from_the_first_line_and_a_replay_gives_the_same_events() -> None:
    raw = lines_of(DATA / "enriched.log")
    first, again = run_lines(parser(), raw).events, run_lines(parser(), raw).events
    assert [e.id for e in first] == [e.id for e in again]
    assert len({e.id for e in first}) == len(first)
    [rename] = [e for e in first if e.action == "renamed" and "sub" not in str(e.file_path)]
    offsets = [sum(len(x) + 1 for x in raw[:i]) for i, x in enumerate(raw)
               if b"msg=audit(" + str(rename.extra["auditd.sequence"]).encode() not in x
               and f":{rename.extra['auditd.sequence']})".encode() in x]
    assert rename.log_offset == offsets[0]  # the event's first line


@pytest.mark.parametrize("source", [DATA / "enriched.log",
                                    CORPUS / "auparse_testdata_audit-rhel7.log"])
def test_snapshot_and_restore_at_every_cut_equals_an_uninterrupted_parse(source: object) -> None:
    raw = lines_of(source)  # type: ignore[arg-type]
    whole = run_lines(parser(), raw).events
    for cut in range(len(raw) + 1):
        before = parser()
        out1 = run_lines(before, raw[:cut], flush=False)
        after = parser()
        after.restore(orjson.loads(orjson.dumps(before.snapshot())))  # as the store keeps it
        start = sum(len(x) + 1 for x in raw[:cut])
        out2 = run_lines(after, raw[cut:], start=start)
        assert out1.events + out2.events == whole, f"cut at line {cut}"


# ------------------------------------------------------------------ names, paths, encodings
def test_enriched_names_win_and_raw_ids_use_the_local_passwd() -> None:
    enriched = one([syscall(1, "unlink", 87, uid="999999",
                            enriched='AUID="alice" UID="carol" SYSCALL=unlink'),
                    path_rec(1, 0, "/a", "DELETE", ouid="999998")])
    assert enriched.user_name == "carol" and enriched.extra["user.audit.name"] == "alice"
    raw = one([syscall(1, "unlink", 87, uid="0"), path_rec(1, 0, "/a", "DELETE")])
    assert raw.user_name == "root" and raw.file_owner == "root"
    unknown = one([syscall(1, "unlink", 87, uid="999999"), path_rec(1, 0, "/a", "DELETE")])
    assert unknown.user_name is None and unknown.extra["user.id"] == "999999"


def test_relative_names_are_made_absolute_with_the_cwd() -> None:
    ev = one([syscall(1, "rename", 82, items=4), cwd(1, "/srv/clients/acme"),
              path_rec(1, 0, "../acme/", "PARENT", mode="040755"),
              path_rec(1, 1, "../acme/", "PARENT", mode="040755"),
              path_rec(1, 2, "./old.xlsx", "DELETE"), path_rec(1, 3, "new.xlsx", "CREATE")])
    assert ev.file_path == "/srv/clients/acme/old.xlsx"
    assert ev.file_target_path == "/srv/clients/acme/new.xlsx"


def test_hex_encoded_fields_are_decoded() -> None:
    rec = parse_record(
        "type=SYSCALL msg=audit(1.5:1): arch=c000003e syscall=87 success=yes exit=0 "
        "comm=6D7920656469746F72 exe=2F7573722F62696E2F6D7920656469746F72 "
        "key=65786563013634626974")
    assert rec.fields["comm"] == "my editor" and rec.fields["exe"] == "/usr/bin/my editor"
    ev = one([rec.text, 'type=CWD msg=audit(1.5:1): cwd=2F746D702F6120622063',
              'type=PATH msg=audit(1.5:1): item=0 name=E5BD92E6A1A3 nametype=DELETE'])
    assert ev.file_path == "/tmp/a b c/归档" and ev.extra["tags"] == ["exec", "64bit"]


# ------------------------------------------------------------------ every mapping
def _file_event(name: str, number: int, args: tuple[str, ...], *paths: str,
                **kw: str) -> object:
    return one([syscall(1, name, number, args=args, **kw), cwd(1, "/srv"), *paths])


AT = "ffffff9c"


@pytest.mark.parametrize("name,number,args,paths,expect", [
    ("open", 2, ("7f", "0", "0", "0"), [path_rec(1, 0, "a")], ("access", ["O_RDONLY"])),
    ("openat", 257, (AT, "7f", "80000", "0"), [path_rec(1, 0, "a")], ("access", ["O_RDONLY"])),
    ("openat", 257, (AT, "7f", "441", "1b6"), [path_rec(1, 0, "a")],
     ("change", ["O_WRONLY", "O_CREAT", "O_APPEND"])),
    ("openat", 257, (AT, "7f", "2", "0"), [path_rec(1, 0, "a")], ("change", ["O_RDWR"])),
    ("openat", 257, (AT, "7f", "200", "0"), [path_rec(1, 0, "a")],
     ("change", ["O_RDONLY", "O_TRUNC"])),
    ("openat", 257, (AT, "7f", "241", "1b6"),
     [path_rec(1, 0, "/srv", "PARENT", mode="040755"), path_rec(1, 1, "a", "CREATE")],
     ("creation", ["O_WRONLY", "O_CREAT", "O_TRUNC"])),
    ("creat", 85, ("7f", "1a4", "0", "0"),
     [path_rec(1, 0, "/srv", "PARENT", mode="040755"), path_rec(1, 1, "a", "CREATE")],
     ("creation", ["O_WRONLY", "O_CREAT", "O_TRUNC"])),
])
def test_opens_are_access_change_or_creation_by_flags_and_records(
        name: str, number: int, args: tuple[str, ...], paths: list[str],
        expect: tuple[str, list[str]]) -> None:
    ev = _file_event(name, number, args, *paths)
    assert (ev.action, ev.category, ev.file_path) == ("opened-file", "file", "/srv/a")  # type: ignore[attr-defined]
    assert (ev.type, ev.extra["auditd.open_flags"]) == expect  # type: ignore[attr-defined]


def test_openat2_takes_its_flags_from_the_openat2_record() -> None:
    ev = one([syscall(1, "openat2", 437, args=(AT, "7f", "7e", "18")), cwd(1, "/srv"),
              "type=OPENAT2 msg=audit(1700000000.100:1): oflag=01 mode=00 resolve=0",
              path_rec(1, 0, "a")])
    assert (ev.type, ev.extra["auditd.open_flags"]) == ("change", ["O_WRONLY"])


@pytest.mark.parametrize("name,number,args", [
    ("rename", 82, ("7f", "7e", "0", "0")), ("renameat", 264, (AT, "7f", AT, "7e")),
    ("renameat2", 316, (AT, "7f", AT, "7e"))])
def test_renames_have_the_old_and_new_path(name: str, number: int,
                                           args: tuple[str, ...]) -> None:
    ev = _file_event(name, number, args, path_rec(1, 0, "/srv", "PARENT", mode="040755"),
                     path_rec(1, 1, "/srv", "PARENT", mode="040755"),
                     path_rec(1, 2, "old", "DELETE"), path_rec(1, 3, "new", "CREATE"))
    assert (ev.category, ev.type, ev.action) == ("file", "change", "renamed")  # type: ignore[attr-defined]
    assert (ev.file_path, ev.file_target_path) == ("/srv/old", "/srv/new")  # type: ignore[attr-defined]


@pytest.mark.parametrize("name,number,args,expect", [
    ("unlink", 87, ("7f", "0", "0", "0"), ("deleted", "deletion", "/srv/x", "file")),
    ("unlinkat", 263, (AT, "7f", "0", "0"), ("deleted", "deletion", "/srv/x", "file")),
    ("rmdir", 84, ("7f", "0", "0", "0"), ("deleted", "deletion", "/srv/x", "file")),
    ("mkdir", 83, ("7f", "1ff", "0", "0"), ("created-directory", "creation", "/srv/y", "dir")),
    ("mkdirat", 258, (AT, "7f", "1ff", "0"),
     ("created-directory", "creation", "/srv/y", "dir")),
])
def test_deletions_and_directory_creations(name: str, number: int, args: tuple[str, ...],
                                           expect: tuple[str, ...]) -> None:
    child = (path_rec(1, 1, "x", "DELETE") if "del" in expect[0]
             else path_rec(1, 1, "y", "CREATE", mode="040755"))
    ev = _file_event(name, number, args, path_rec(1, 0, "/srv", "PARENT", mode="040755"), child)
    got = (ev.action, ev.type, ev.file_path, ev.file_type)  # type: ignore[attr-defined]
    assert got == expect


@pytest.mark.parametrize("name,number,args,mode", [
    ("chmod", 90, ("7f", "1ec", "0", "0"), "0754"),
    ("fchmod", 91, ("3", "1a0", "0", "0"), "0640"),
    ("fchmodat", 268, (AT, "7f", "9ed", "0"), "4755"),
])
def test_chmod_gives_the_new_mode_and_keeps_the_old(name: str, number: int,
                                                   args: tuple[str, ...], mode: str) -> None:
    ev = _file_event(name, number, args, path_rec(1, 0, "a", mode="0100644"))
    assert (ev.action, ev.type, ev.file_mode) == ("changed-file-permissions-of", "change", mode)  # type: ignore[attr-defined]
    assert ev.extra["auditd.previous_mode"] == "0644"  # type: ignore[attr-defined]


@pytest.mark.parametrize("name,number,args,uid,gid", [
    ("chown", 92, ("7f", "0", "0", "0"), "0", "0"),
    ("lchown", 94, ("7f", "0", "ffffffff", "0"), "0", None),
    ("fchown", 93, ("3", "ffffffff", "0", "0"), None, "0"),
    ("fchownat", 260, (AT, "7f", "0", "0"), "0", "0"),
])
def test_chown_gives_the_new_owner_and_group(name: str, number: int, args: tuple[str, ...],
                                            uid: str | None, gid: str | None) -> None:
    ev = _file_event(name, number, args, path_rec(1, 0, "a", ouid="999999"))
    assert (ev.action, ev.type) == ("changed-file-ownership-of", "change")  # type: ignore[attr-defined]
    x = ev.extra  # type: ignore[attr-defined]
    if uid is None:  # -1: the owner stays what the file had
        assert x["file.uid"] == "999999" and ev.file_owner is None  # type: ignore[attr-defined]
    else:
        assert x["file.uid"] == uid and ev.file_owner == "root"  # type: ignore[attr-defined]
        assert x["auditd.previous_uid"] == "999999"
    assert (x["file.gid"] == gid) if gid else (x["file.gid"] == "0")
    if gid:
        assert ev.file_group == "root"  # type: ignore[attr-defined]


@pytest.mark.parametrize("name,number,comm,action", [
    ("setxattr", 188, "prog", "changed-file-attributes-of"),
    ("fsetxattr", 190, "prog", "changed-file-attributes-of"),
    ("lsetxattr", 189, "prog", "changed-file-attributes-of"),
    ("removexattr", 197, "prog", "changed-file-attributes-of"),
    ("setxattr", 188, "setfacl", "changed-file-acl-of"),
    ("removexattr", 197, "setfacl", "changed-file-acl-of"),
])
def test_xattr_changes_and_posix_acl_changes(name: str, number: int, comm: str,
                                             action: str) -> None:
    line = syscall(1, name, number).replace('comm="prog"', f'comm="{comm}"')
    ev = one([line, cwd(1, "/srv"), path_rec(1, 0, "a")])
    assert (ev.category, ev.type, ev.action, ev.file_path) == ("file", "change", action,
                                                               "/srv/a")


def _user_msg(rtype: str, body: str) -> str:
    return (f"type={rtype} msg=audit(1700000000.100:50): pid=99 uid=0 auid=4294967295 "
            f"ses=4294967295 msg='{body}'")


@pytest.mark.parametrize("rtype,body,expect", [
    ("USER_LOGIN", 'op=login acct="alice" exe="/usr/sbin/sshd" hostname=? addr=192.0.2.7 '
     "terminal=ssh res=failed",
     ("authentication", "start", "logged-in", "failure", "alice", "192.0.2.7")),
    ("USER_AUTH", 'op=PAM:authentication grantors=pam_unix acct="bob" exe="/usr/sbin/sshd" '
     "hostname=h.example addr=2001:db8::1 terminal=ssh res=success",
     ("authentication", "info", "authenticated", "success", "bob", "2001:db8::1")),
    ("USER_ACCT", 'op=PAM:accounting acct="bob" exe="/usr/sbin/cron" hostname=? addr=? '
     "terminal=cron res=success",
     ("authentication", "info", "was-authorized", "success", "bob", None)),
    ("USER_START", 'op=PAM:session_open acct="bob" exe="/usr/sbin/sshd" hostname=? '
     "addr=192.0.2.8 terminal=ssh res=success",
     ("session", "start", "started-session", "success", "bob", "192.0.2.8")),
    ("USER_END", 'op=PAM:session_close acct="bob" exe="/usr/sbin/sshd" hostname=? addr=? '
     "terminal=ssh res=success", ("session", "end", "ended-session", "success", "bob", None)),
    ("CRED_ACQ", 'op=PAM:setcred acct="bob" exe="/usr/sbin/sshd" hostname=? addr=? '
     "terminal=ssh res=success",
     ("authentication", "info", "acquired-credentials", "success", "bob", None)),
    ("CRED_DISP", 'op=PAM:setcred acct="?" exe="/usr/sbin/sshd" hostname=? addr=? '
     "terminal=ssh res=failed",
     ("authentication", "info", "disposed-credentials", "failure", None, None)),
    ("CRED_REFR", 'op=PAM:setcred acct="root" exe="/usr/sbin/crond" hostname=? addr=? '
     "terminal=cron res=success",
     ("authentication", "info", "refreshed-credentials", "success", "root", None)),
])
def test_pam_and_login_records_are_authentication_and_session_events(
        rtype: str, body: str, expect: tuple[str | None, ...]) -> None:
    ev = one([_user_msg(rtype, body)])
    assert (ev.category, ev.type, ev.action, ev.outcome, ev.user_name, ev.source_ip) == expect
    assert ev.extra["auditd.record_types"] == [rtype]
    assert ev.extra["auditd.data.terminal"] in ("ssh", "cron")


def test_a_failed_syscall_has_outcome_failure_and_its_errno() -> None:
    ev = one([syscall(1, "openat", 257, args=(AT, "7f", "0", "0"), success="no",
                      exit_code="-13"), cwd(1, "/srv"), path_rec(1, 0, "a")])
    assert (ev.outcome, ev.extra["error.code"]) == ("failure", "EACCES")


def test_records_without_a_syscall_still_become_an_event_marked_incomplete() -> None:
    ev = one([cwd(1, "/srv"), path_rec(1, 0, "a")])
    assert ev.extra["auditd.incomplete"] is True and ev.action == "cwd"


# ------------------------------------------------------------------ syslog and bad input
def test_audit_records_through_syslog_are_joined_and_other_programs_ignored() -> None:
    lines = [
        "2026-11-27T10:00:00+08:00 fs01 audispd: node=fs01 " + syscall(1, "unlink", 87),
        "2026-11-27T10:00:00+08:00 fs01 CRON[12]: (root) CMD (true)",
        "Nov 27 10:00:00 fs01 audispd: node=fs01 " + path_rec(1, 0, "/srv/a", "DELETE"),
        "Nov 27 10:00:01 fs01 kernel: [ 3.1] audit: type=1400 audit(1700000001.000:9): "
        'apparmor="DENIED" operation="open" profile="p" name="/etc/x" pid=1 comm="c"',
        "Nov 27 10:00:01 fs01 kernel: audit: kauditd hold queue overflow",
        "Nov 27 10:00:02 fs01 audisp-syslog: " + syscall(3, "unlink", 87, t=T2).replace(
            "\x1d", "") + "#035AUID=\"alice\" UID=\"carol\"",
    ]
    out = run_lines(parser(), [t.encode() for t in lines])
    assert out.dead == [] and out.ignored == 2
    deleted, denied, third = out.events
    assert (deleted.action, deleted.file_path, deleted.host_name) == ("deleted", "/srv/a", "fs01")
    assert deleted.extra["auditd.record_types"] == ["SYSCALL", "PATH"]
    assert (denied.action, denied.extra["auditd.record_types"]) == (
        "violated-apparmor-policy", ["AVC"])
    assert third.user_name == "carol"  # rsyslog's #035 is the ENRICHED separator
    assert third.host_name == "fs01"  # from the syslog header


@pytest.mark.parametrize("line,reason", [
    (b"garbage without structure", "not an audit record"),
    (b"type=SYSCALL msg=audit(notatime): x=1", "bad audit record"),
    (b"\xff\xfe\xfd\xfc\xfb\xfa\xf9", "not UTF-8"),
    (b"type=PATH msg=audit(1.1:1): a\x00b", "NUL"),
    (b"type=PATH msg=audit(99999999999999999.1:1): item=0", "timestamp out of range"),
])
def test_bad_lines_become_dead_letters_with_a_reason(line: bytes, reason: str) -> None:
    out = run_lines(parser(), [line])
    [dead] = out.dead
    assert reason in dead.reason and dead.line == line and dead.offset == 0


def test_a_record_auditd_could_not_stamp_is_ignored_not_dead() -> None:
    out = run_lines(parser(), [b"type=UNKNOWN[1329] msg=?", b"", eoe(4).encode()])
    assert out.dead == [] and out.events == [] and out.ignored == 3


def test_a_damaged_snapshot_is_restored_as_far_as_it_goes() -> None:
    p = parser()
    run_lines(p, [syscall(1, "unlink", 87).encode(), syscall(2, "unlink", 87).encode()],
              flush=False)
    state = orjson.loads(orjson.dumps(p.snapshot()))
    state["join"]["pending"][0]["records"] = ["not a record"]
    again = parser()
    again.restore(state)
    out = ParseOutput("audit", "/x.log")
    again.flush(out)
    assert [e.extra["auditd.sequence"] for e in out.events] == [2]


def test_the_source_is_registered_and_checks_its_lag_option() -> None:
    check = SOURCES["auditd"].check_options
    assert check({}) is None and check({"lag": 10}) is None
    assert check({"lag": 0}) and check({"lag": "x"}) and check({"lag": True})


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
_AUDITISH = st.builds(lambda t, s, rest: f"type={t} msg=audit({s}): {rest}",
                      st.sampled_from(["SYSCALL", "PATH", "CWD", "USER_LOGIN", "EOE", "X"]),
                      st.from_regex(r"\d{1,20}\.\d{1,3}:\d{1,6}", fullmatch=True), _TEXT)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_AUDITISH, _TEXT.map(str.strip), st.binary(max_size=80)),
                max_size=30))
def test_arbitrary_input_never_raises_and_every_line_is_used_dead_or_ignored(
        items: list[str | bytes]) -> None:
    p = parser(lag=2)
    out = ParseOutput("audit", "/x.log")
    offset = 0
    for item in items:
        data = item if isinstance(item, bytes) else item.encode()
        data = data.replace(b"\n", b" ")
        before = (len(out.dead), out.ignored, p.joiner.seq)
        p.feed(Line(offset, data, "fp"), out)
        after = (len(out.dead), out.ignored, p.joiner.seq)
        assert after != before, data  # a dead letter, an ignored line, or a joined record
        offset += len(data) + 1
    p.flush(out)
    for ev in out.events:
        orjson.dumps(ev.to_ecs())
    assert Counter(d.id for d in out.dead).most_common(1)[0][1] == 1 if out.dead else True
