"""Sigma's detection language on our events, case by case: selections, keywords,
the condition language and every value modifier, compiled into predicates."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from monitor.event import Event
from monitor.rules.model import Rule
from monitor.rules.samples import event_from_fields
from monitor.rules.sigma import SigmaSet

HEAD = """title: t
id: 6d3e6a4e-1c0b-4f5e-9a55-000000000001
logsource: {product: windows, service: security}
level: medium
detection:
"""


def rule(tmp_path: Path, detection: str) -> Rule:
    text = HEAD + "\n".join("    " + line for line in detection.strip("\n").splitlines()) + "\n"
    path = tmp_path / "r.yml"
    path.write_text(text)
    [compiled] = SigmaSet().add(path, text)
    return compiled


def ev(**data: Any) -> Event:
    """A Windows Security event whose event data are the given fields."""
    fields: dict[str, Any] = {"event.dataset": "windows.security"}
    for name, value in data.items():
        fields["winlog.event_id" if name == "EventID" else f"winlog.event_data.{name}"] = value
    return event_from_fields(fields)


CASES: list[tuple[str, str, list[tuple[dict[str, Any], bool]]]] = [
    ("a map is AND", "sel: {EventID: 4625, Status: '0xc000006d'}\ncondition: sel",
     [({"EventID": 4625, "Status": "0xC000006D"}, True), ({"EventID": 4625}, False),
      ({"EventID": "4625", "Status": "0xc000006d"}, True)]),
    ("a list of values is OR", "sel: {ShareName: [a$, b$]}\ncondition: sel",
     [({"ShareName": "B$"}, True), ({"ShareName": "c$"}, False), ({}, False)]),
    ("a list of maps is OR", "sel:\n  - {ShareName: a$}\n  - {IpAddress: 10.0.0.1}\n"
     "condition: sel",
     [({"IpAddress": "10.0.0.1"}, True), ({"ShareName": "a$"}, True), ({"ShareName": "x"}, False)]),
    ("keywords are searched in every field, ignoring case",
     "kw: [mimikatz, 'sekurlsa::*']\ncondition: kw",
     [({"CommandLine": "run MIMIKATZ.exe"}, True), ({"X": "sekurlsa::logonpasswords"}, True),
      ({"CommandLine": "notepad"}, False)]),
    ("keywords with |all need each one", "kw:\n  '|all': [grep, password]\ncondition: kw",
     [({"A": "grep", "B": "password"}, True), ({"A": "grep"}, False)]),
    ("1 of, all of, patterns, parentheses and not",
     "sel_a: {A: x}\nsel_b: {B: y}\nfilter_one: {C: z}\n"
     "condition: (1 of sel_* and not filter_one) or all of them",
     [({"A": "x"}, True), ({"B": "y"}, True), ({"A": "x", "C": "z"}, False),
      ({"A": "x", "B": "y", "C": "z"}, True), ({"C": "z"}, False)]),
    ("1 of them", "a: {A: x}\nb: {B: y}\ncondition: 1 of them",
     [({"B": "y"}, True), ({}, False)]),
    ("contains, startswith, endswith",
     "s: {A|contains: mid, B|startswith: 'C:\\Win', C|endswith: .exe}\ncondition: s",
     [({"A": "xMIDx", "B": "c:\\windows", "C": "a.EXE"}, True),
      ({"A": "xMIDx", "B": "D:\\windows", "C": "a.EXE"}, False)]),
    ("contains|all needs every value", "s: {A|contains|all: [one, two]}\ncondition: s",
     [({"A": "two and one"}, True), ({"A": "one"}, False)]),
    ("wildcards and escaped wildcards", "s: {A: 'a*b?c', B: 'lit\\*'}\ncondition: s",
     [({"A": "aXXbYc", "B": "lit*"}, True), ({"A": "abc", "B": "lit*"}, False),
      ({"A": "aXbYc", "B": "litX"}, False)]),
    ("a lone * matches any value, not a missing field", "s: {A: '*'}\ncondition: s",
     [({"A": "x"}, True), ({"A": ""}, True), ({}, False)]),
    ("re is case-sensitive and searches", "s: {A|re: 'ab+c'}\ncondition: s",
     [({"A": "xxabbbcxx"}, True), ({"A": "ABC"}, False)]),
    ("re|i ignores case", "s: {A|re|i: '^ab+c$'}\ncondition: s",
     [({"A": "ABBC"}, True), ({"A": "xabc"}, False)]),
    ("re|m makes ^ match at lines", "s: {A|re|m: '^two$'}\ncondition: s",
     [({"A": "one\ntwo\nthree"}, True)]),
    ("re without m does not", "s: {A|re: '^two$'}\ncondition: s",
     [({"A": "one\ntwo\nthree"}, False)]),
    ("re|s lets . match newlines", "s: {A|re|s: 'one.two'}\ncondition: s",
     [({"A": "one\ntwo"}, True)]),
    ("re without s does not", "s: {A|re: 'one.two'}\ncondition: s", [({"A": "one\ntwo"}, False)]),
    ("cidr, v4 and v6", "s: {IpAddress|cidr: [10.0.0.0/8, 'fe80::/10']}\ncondition: s",
     [({"IpAddress": "10.1.2.3"}, True), ({"IpAddress": "fe80::1"}, True),
      ({"IpAddress": "11.0.0.1"}, False), ({"IpAddress": "-"}, False)]),
    ("exists", "s: {A|exists: true, B|exists: false}\ncondition: s",
     [({"A": ""}, True), ({"A": "x", "B": "y"}, False), ({}, False)]),
    ("windash: - and / and the dashes are one", "s: {A|windash|contains: ' -enc '}\n"
     "condition: s",
     [({"A": "ps /enc x"}, True), ({"A": "ps \u2013enc x"}, True), ({"A": "ps -enc x"}, True),
      ({"A": "ps +enc x"}, False)]),
    ("base64", "s: {A|base64: hello}\ncondition: s",
     [({"A": base64.b64encode(b"hello").decode()}, True), ({"A": "hello"}, False)]),
    ("base64offset finds the value at any offset", "s: {A|base64offset|contains: 'http://'}\n"
     "condition: s",
     [({"A": base64.b64encode(pre + b"http://x.example").decode()}, True)
      for pre in (b"", b"a", b"ab")] + [({"A": base64.b64encode(b"https://x").decode()}, False)]),
    ("lt, lte, gt, gte on numbers and numeric text",
     "s: {A|gt: 10, B|lte: 5}\ncondition: s",
     [({"A": "11", "B": 5}, True), ({"A": 10, "B": 5}, False), ({"A": "x", "B": 1}, False)]),
    ("gte and lt", "s: {A|gte: 10, B|lt: 5}\ncondition: s",
     [({"A": 10, "B": 4.5}, True), ({"A": 9, "B": 4}, False)]),
    ("fieldref compares two fields, ignoring case",
     "s: {TargetUserName|fieldref: SubjectUserName}\ncondition: s",
     [({"TargetUserName": "Bob", "SubjectUserName": "bob"}, True),
      ({"TargetUserName": "bob", "SubjectUserName": "alice"}, False),
      ({"TargetUserName": "bob"}, False)]),
    ("fieldref with endswith", "s: {A|fieldref|endswith: B}\ncondition: s",
     [({"A": "domain\\bob", "B": "bob"}, True), ({"A": "bobx", "B": "bob"}, False)]),
    ("cased", "s: {A|cased: Admin, B|contains|cased: Teams}\ncondition: s",
     [({"A": "Admin", "B": "MS Teams"}, True), ({"A": "admin", "B": "MS Teams"}, False),
      ({"A": "Admin", "B": "ms teams"}, False)]),
    ("null is a missing or empty field", "s: {A: null}\ncondition: s",
     [({}, True), ({"A": ""}, True), ({"A": "x"}, False)]),
    ("neq", "s: {A|neq: x}\ncondition: s", [({"A": "y"}, True), ({"A": "X"}, False)]),
    ("booleans", "s: {A: true}\ncondition: s", [({"A": True}, True), ({"A": False}, False)]),
    ("a list-valued event field matches when any item does",
     "s: {AccessList|contains: WriteData}\ncondition: s",
     [({"AccessListDescription": ["ReadData", "WriteData (or AddFile)"]}, True),
      ({"AccessList": "%%4417"}, False)]),
    ("several conditions are OR", "a: {A: x}\nb: {B: y}\ncondition: [a, b]",
     [({"B": "y"}, True), ({}, False)]),
]


@pytest.mark.parametrize(("name", "detection", "events"), CASES, ids=[c[0] for c in CASES])
def test_detection_language(tmp_path: Path, name: str, detection: str,
                            events: list[tuple[dict[str, Any], bool]]) -> None:
    compiled = rule(tmp_path, detection)
    for fields, expected in events:
        assert compiled.when.test(ev(**fields)) is expected, (name, fields)


def test_a_rule_does_not_fire_on_another_logsources_events(tmp_path: Path) -> None:
    compiled = rule(tmp_path, "s: {EventID: 4625}\ncondition: s")
    event = event_from_fields({"event.dataset": "auditd.log", "winlog.event_id": 4625})
    assert not compiled.when.test(event)
    assert compiled.when.requires == (("event.dataset", frozenset({"windows.security"})),)


def test_equal_rules_compile_to_equal_conditions_and_different_ones_do_not(
        tmp_path: Path) -> None:
    a = rule(tmp_path, "s: {A: [x, y]}\ncondition: s")
    b = rule(tmp_path, "s: {A: [x, y]}\ncondition: s")
    c = rule(tmp_path, "s: {A: [x, z]}\ncondition: s")
    assert a.when == b.when and a.when != c.when
    assert a.when.fields == {"winlog.event_data.A", "event.dataset"}
