"""Conditions: maps are AND, lists any-of, Sigma modifiers, nested not/any/all, lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.rules.samples import event_from_fields
from tests.rules.helpers import rules_from


def matches(tmp_path: Path, when: str, fields: dict[str, Any], lists: str = "") -> bool:
    text = (f"lists: {lists}\n" if lists else "") + "rules:\n  - id: t.r\n    title: t\n" + \
        "    when:\n" + "".join(f"      {line}\n" for line in when.splitlines())
    [rule] = rules_from(tmp_path, text)
    return rule.when.test(event_from_fields(fields))


@pytest.mark.parametrize("when,fields,expected", [
    ("event.action: read", {"event.action": "read"}, True),
    ("event.action: read", {"event.action": "READ"}, True),          # case-insensitive
    ("event.action|cased: read", {"event.action": "READ"}, False),
    ("event.action: [read, write]", {"event.action": "write"}, True),
    ("event.action: read\nuser.name: bob", {"event.action": "read", "user.name": "al"}, False),
    ("wallwatch.assigned: false", {"wallwatch.assigned": False}, True),
    ("wallwatch.assigned: false", {}, False),                         # unknown ≠ false
    ("wallwatch.assigned: false", {"wallwatch.assigned": True}, False),
    ("file.path|startswith: /srv/share/", {"file.path": "/srv/share/a"}, True),
    ("file.name|endswith: [.xlsx, .docx]", {"file.path": "/x/报表.XLSX"}, True),
    ("file.path|contains: 工资", {"file.path": "/srv/a/2026年工资表.xlsx"}, True),
    ("file.path|re: '\\.bak$'", {"file.path": "/a/b.BAK"}, True),
    ("file.path|re|cased: '\\.bak$'", {"file.path": "/a/b.BAK"}, False),
    ("source.ip|cidr: 10.0.0.0/8", {"source.ip": "10.1.2.3"}, True),
    ("source.ip|cidr: 10.0.0.0/8", {"source.ip": "192.0.2.1"}, False),
    ("source.ip|cidr: 10.0.0.0/8", {"source.ip": "not an ip"}, False),
    ("wallwatch.count|gte: 10", {"wallwatch.count": 10}, True),
    ("wallwatch.count|gt: 10", {"wallwatch.count": 10}, False),
    ("wallwatch.count|lt: 10", {"wallwatch.count": 3}, True),
    ("wallwatch.count|lte: 2", {"wallwatch.count": 3}, False),
    ("winlog.event_id|gte: 4624", {"winlog.event_id": "4625"}, True),  # numeric strings
    ("file.target_path|exists: true", {"file.target_path": "/a"}, True),
    ("file.target_path|exists: false", {}, True),
    ("file.path|contains|all: [acme, 发票]", {"file.path": "/c/acme/发票.pdf"}, True),
    ("file.path|contains|all: [acme, 发票]", {"file.path": "/c/acme/合同.pdf"}, False),
    ("not: {user.name: backup}", {"user.name": "bob"}, True),
    ("not: {user.name: backup}", {"user.name": "backup"}, False),
    ("any:\n  - {user.name: bob}\n  - {source.ip: 10.0.0.1}", {"source.ip": "10.0.0.1"}, True),
    ("any: {user.name: bob, source.ip: 10.0.0.1}", {"user.name": "al"}, False),
    ("all:\n  - {user.name: bob}\n  - not: {event.outcome: failure}",
     {"user.name": "bob", "event.outcome": "success"}, True),
    ("related.user: bob", {"user.name": "bob"}, True),                # list-valued field
    ("samba.operation: renameat", {"samba.operation": "renameat"}, True),  # native field
])
def test_condition_semantics(tmp_path: Path, when: str, fields: dict[str, Any],
                             expected: bool) -> None:
    assert matches(tmp_path, when, fields) is expected


def test_named_lists_are_any_of(tmp_path: Path) -> None:
    lists = "{bait: [canary.xlsx, 密码.txt]}"
    assert matches(tmp_path, "file.name: {list: bait}", {"file.path": "/a/密码.txt"}, lists)
    assert not matches(tmp_path, "file.name: {list: bait}", {"file.path": "/a/b.txt"}, lists)


def test_condition_records_the_fields_it_reads(tmp_path: Path) -> None:
    text = "id: t.r\ntitle: t\nwhen:\n  event.action: read\n  not: {user.name|startswith: svc}\n"
    [rule] = rules_from(tmp_path, text)
    assert rule.when.fields == {"event.action", "user.name"}
