"""File names with newlines in Samba's debug-log form. Samba indents every line of a
message, so a name with a newline continues its record on indented lines; they are
joined back, the name is stored as it is, and a record written into a name cannot
pass for one of its own. (Lines as smbd 4.17 wrote them for such a name; the syslog
form needs nothing: rsyslog writes the newline as #012 on the record's one line.)"""

from __future__ import annotations

from monitor.sources.base import ParseOutput
from monitor.sources.tail import Line
from tests.sources.samba_helpers import SAMPLE_ROOT, debug_record, parser, run_lines

NAME = ("x\n2026-11-27T21:00:00.000000+00:00 host smbd_audit: "
        "bob|10.0.0.99|EVIL|clients|unlinkat|ok|ledger.csv\n"
        "  bob|10.0.0.99|EVIL|clients|unlinkat|ok|globex")
PATH = f"{SAMPLE_ROOT}/acme/{NAME}"


def record_lines(op_args: str, when: str) -> list[bytes]:
    """A record whose text holds a newline, as smbd writes it: each line indented."""
    body = f"alice|10.0.0.11|alice-pc|clients|{op_args}{PATH}"
    header, first = debug_record(body.split("\n")[0], when)
    return [header, first, *(f"  {rest}".encode() for rest in body.split("\n")[1:])]


def access() -> list[bytes]:
    return (record_lines("create_file|ok|0x120089|file|open|", "2026/11/02 10:00:00.000001")
            + record_lines("pread_recv|ok|", "2026/11/02 10:00:00.000002")
            + record_lines("close|ok|", "2026/11/02 10:00:00.000003"))


def test_a_name_with_newlines_is_stored_as_it_is_and_forges_nothing() -> None:
    out = run_lines(parser(), access())
    assert out.dead == []
    assert [(e.user_name, e.action, e.file_path) for e in out.events] == [
        ("alice", "read", PATH)]


def test_continuation_lines_read_apart_from_their_record_are_dead_letters_that_say_so(
        ) -> None:
    lines = record_lines("unlinkat|ok|", "2026/11/02 10:00:00.000001")
    p = parser()
    out = ParseOutput("samba", "/x.log")
    offset = 0
    for batch in (lines[:2], lines[2:]):  # the tailer read between smbd's writes
        for data in batch:
            p.feed(Line(offset, data, "fp"), out)
            offset += len(data) + 1
        p.end_of_batch(out)
    p.flush(out)
    # the record up to the newline: alice deleted ".../x"; the rest is kept aside
    assert [(e.user_name, e.action, e.file_path) for e in out.events] == [
        ("alice", "delete", f"{SAMPLE_ROOT}/acme/x")]
    assert len(out.dead) == 2
    assert all("a file name with a newline" in d.reason for d in out.dead)
    assert not any(e.user_name == "bob" for e in out.events)


def test_an_indented_line_after_a_complete_record_is_not_taken_as_its_rest() -> None:
    # a stray indented line somewhere else is an ordinary dead letter
    lines = [*debug_record("alice|10.0.0.11|alice-pc|clients|unlinkat|ok|" + PATH[:40]),
             b"[2026/11/02 10:00:01.000000,  1] ../../source3/smbd/server.c:1(main)",
             b"  something else smbd said", b"  bob|10.0.0.99|EVIL|clients|unlinkat|ok|x"]
    out = run_lines(parser(), lines)
    assert [e.user_name for e in out.events] == ["alice"]
    assert len(out.dead) == 1 and "a file name with a newline" not in out.dead[0].reason
