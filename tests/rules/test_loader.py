"""Rule files: what loads, and errors that name file:line:col with a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.rules.loader import load_rule_files, load_rules
from monitor.rules.model import Threshold
from tests.rules.helpers import rules_from

GOOD = """\
id: wall.cross-client-access
title: Staff opened a client folder they are not assigned to
severity: high
kind: match
tags: [T1039]
when:
  event.category: file
  wallwatch.assigned: false
throttle: {by: [user.name, wallwatch.client], for: 1h}
"""


def error(tmp_path: Path, text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        rules_from(tmp_path, text)
    return info.value


def test_a_single_rule_file_loads_into_an_immutable_rule(tmp_path: Path) -> None:
    [rule] = rules_from(tmp_path, GOOD)
    assert (rule.id, rule.severity, rule.kind, rule.tags) == (
        "wall.cross-client-access", "high", "match", ("T1039",))
    assert rule.when.fields == {"event.category", "wallwatch.assigned"}
    assert rule.throttle is not None and rule.throttle.by == ("user.name", "wallwatch.client")
    assert rule.path.endswith("r.yaml") and rule.line == 1
    with pytest.raises(AttributeError):
        rule.id = "x"  # type: ignore[misc]


def test_a_file_with_lists_and_rules(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, """\
lists:
  bait: [canary.xlsx, 密码.txt]
rules:
  - id: wall.bait
    title: bait touched
    when: {file.name: {list: bait}}
  - id: wall.mass-delete
    title: mass delete
    kind: threshold
    when: {event.action: delete}
    group_by: user.name
    window: 5m
    count: 50
""")
    assert [r.id for r in rules] == ["wall.bait", "wall.mass-delete"]
    assert rules[1].params == Threshold(__import__("datetime").timedelta(minutes=5), 50,
                                        ("user.name",))


@pytest.mark.parametrize("change,line,col,words", [
    (("severity: high", "severity: urgent"), 3, 11, "unknown severity"),
    (("kind: match", "kind: magic"), 4, 7, "unknown rule kind"),
    (("  event.category: file", "  event.categroy: file"), 7, 3, "unknown field 'event.categroy'"),
    (("  wallwatch.assigned: false", "  wallwatch.assigned|exactly: false"), 8, 3,
     "unknown modifier"),
    (("for: 1h", "for: 1 hour"), 9, 52, "bad duration"),
    (("tags: [T1039]", "tagz: [T1039]"), 5, 1, "unknown key 'tagz'"),
    (("  event.category: file\n", "  event.category: file\n  event.category: dir\n"), 8, 3,
     "duplicate key"),
    (("  wallwatch.assigned: false", "  usr.name: bob"), 8, 3, "unknown field 'usr.name'"),
    (("  wallwatch.assigned: false", "  source.ip|cidr: 10.0.0.0/33"), 8, 19, "cidr"),
    (("  wallwatch.assigned: false", "  file.path|re: '(unclosed'"), 8, 17,
     "regular expression"),
    (("  wallwatch.assigned: false", "  wallwatch.count|gt: many"), 8, 23, "numbers"),
    (("  wallwatch.assigned: false", "  file.name: {list: nothing}"), 8, 14, "unknown list"),
])
def test_mistakes_are_located_with_a_hint(tmp_path: Path, change: tuple[str, str], line: int,
                                         col: int, words: str) -> None:
    err = error(tmp_path, GOOD.replace(*change))
    assert words in str(err)
    assert (err.line, err.col) == (line, col), str(err)
    assert str(err).startswith(f"{tmp_path / 'r.yaml'}:{line}:{col}: ")


def test_unknown_field_suggests_the_close_one(tmp_path: Path) -> None:
    err = error(tmp_path, GOOD.replace("  event.category: file", "  user.nmae: bob"))
    assert "user.name" in (err.hint or "")


def test_kind_specific_keys_are_required_and_checked(tmp_path: Path) -> None:
    base = "id: x.y\ntitle: t\nkind: threshold\nwhen: {event.action: delete}\n"
    assert "needs 'count'" in str(error(tmp_path, base + "window: 5m\n"))
    assert "unknown key 'steps'" in str(error(tmp_path, base + "window: 5m\ncount: 3\nsteps: []\n"))
    assert "at least 1" in str(error(tmp_path, base + "window: 5m\ncount: 0\n"))
    assert "longer than zero" in str(error(tmp_path, base + "window: 0s\ncount: 2\n"))


def test_native_source_fields_are_allowed(tmp_path: Path) -> None:
    [rule] = rules_from(tmp_path, GOOD.replace("  wallwatch.assigned: false",
                                               "  winlog.event_data.ShareName: '\\\\*\\\\C$'"))
    assert "winlog.event_data.ShareName" in rule.when.fields


def test_duplicate_ids_across_files_are_reported_and_the_rest_load(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    (tmp_path / "c.yaml").write_text("id: [broken\n")
    rules, errors = load_rule_files([tmp_path])
    assert [r.id for r in rules] == ["wall.cross-client-access"]
    assert len(errors) == 2
    assert "duplicate rule id" in str(errors[0]) and str(errors[0]).startswith(
        str(tmp_path / "b.yaml"))
    with pytest.raises(RuleError):
        load_rules([tmp_path])


def test_tests_folder_is_not_read_as_rules(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "x.yaml").write_text("rule: whatever\n")
    (tmp_path / "a.yaml").write_text(GOOD)
    assert len(load_rules([tmp_path])) == 1


def test_yaml_tags_cannot_run_code(tmp_path: Path) -> None:
    err = error(tmp_path, "id: !!python/object/apply:os.system ['true']\ntitle: t\n")
    assert err.line == 1
