"""Invalid Sigma is a RuleError at file:line:col; valid Sigma we cannot evaluate is
skipped and reported with its reason; `wallwatch rules check` shows both."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.rules.loader import load_file, load_rule_files
from monitor.rules.sigma import SigmaSet
from tests.daemon_process import REPO

RULE = """title: t
id: 0e95725d-7320-415d-80f7-004da920fc11
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4625
        ShareName: x
    condition: selection
level: high
"""


def error(tmp_path: Path, text: str) -> RuleError:
    path = tmp_path / "r.yml"
    path.write_text(text)
    with pytest.raises(RuleError) as info:
        load_file(path)
    assert info.value.path == str(path)
    return info.value


@pytest.mark.parametrize(("old", "new", "line", "col", "words"), [
    ("ShareName: x", "ShareName|foo: x", 7, 9, "Unknown modifier 'foo'"),
    ("ShareName: x", "ShareName|re: '(open'", 7, 9, "is invalid"),
    ("ShareName: x", "IpAddress|cidr: 10.0.0.300/8", 7, 9, "Invalid CIDR"),
    ("ShareName: x", "X|windash|re: a", 7, 9, "only applicable to unmodified values"),
    ("ShareName: x", "X|base64: 'a*'", 7, 9, "wildcards is not allowed"),
    ("condition: selection", "condition: selection and not filterx", 8, 34,
     "Detection 'filterx' not defined"),
    ("condition: selection", "condition: 'selection or (filter'", 8, 37, "parentheses"),
    ("condition: selection", "condition: 1 of nothing_*", 8, 16, "doesn't match any detection"),
    ("level: high", "level: urgent", 9, 8, "not a valid Sigma rule level"),
    ("id: 0e95725d-7320-415d-80f7-004da920fc11", "id: not-a-uuid", 2, 5, "UUID"),
    ("    condition: selection\n", "", 5, 5, "needs a `condition`"),
    ("logsource: {product: windows, service: security}", "logsource: {}", 3, 12, "log source"),
])
def test_errors_name_the_place(tmp_path: Path, old: str, new: str, line: int, col: int,
                               words: str) -> None:
    assert old in RULE
    err = error(tmp_path, RULE.replace(old, new))
    assert words in err.message, err
    assert (err.line, err.col) == (line, col), err


def test_an_error_in_a_later_document_names_its_line(tmp_path: Path) -> None:
    second = ("---\ntitle: two\nlogsource: {product: windows, service: security}\n"
              "detection:\n    sel:\n        - A|nope: 1\n    condition: sel\n")
    err = error(tmp_path, RULE + second)
    assert (err.line, err.col, "Unknown modifier 'nope'" in err.message) == (15, 11, True)


@pytest.mark.parametrize(("section", "line", "col", "words"), [
    ("type: bogus\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 3}", 3, 11,
     "no valid Sigma correlation type"),
    ("type: event_count\n    rules: [a]\n    timespan: 5 minutes\n    condition: {gte: 3}", 5,
     15, "Timespan '5 minutes' is invalid"),
    ("type: event_count\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 3, x: 1}", 6,
     16, "invalid items: x"),
    ("type: event_count\n    rules: [a]\n    timespan: 5m", 3, 5, "without condition"),
])
def test_correlation_errors_name_the_place(tmp_path: Path, section: str, line: int, col: int,
                                           words: str) -> None:
    err = error(tmp_path, f"title: c\ncorrelation:\n    {section}\n")
    assert words in err.message, err
    assert (err.line, err.col) == (line, col), err


def test_a_correlation_naming_a_missing_rule_points_at_the_name(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(RULE.replace("title: t", "title: t\nname: failed"))
    (tmp_path / "c.yml").write_text("title: c\ncorrelation:\n    type: event_count\n"
                                    "    rules:\n        - failed\n        - nope\n"
                                    "    timespan: 5m\n    condition: {gte: 3}\n")
    rules, errors = load_rule_files([tmp_path])
    [err] = errors
    assert (Path(err.path or "").name, err.line, err.col) == ("c.yml", 6, 11)
    assert "'nope'" in err.message
    assert [r.id for r in rules] == ["0e95725d-7320-415d-80f7-004da920fc11"]


SKIPS = [
    ("no mapping for the logsource",
     RULE.replace("{product: windows, service: security}",
                  "{category: process_creation, product: windows}"),
     "no field mapping for logsource {category: process_creation, product: windows}"),
    ("expand placeholders need a pipeline",
     RULE.replace("ShareName: x", "ShareName|expand: '%admin_shares%'"),
     "placeholder %admin_shares%"),
]


@pytest.mark.parametrize(("name", "text", "reason"), SKIPS, ids=[s[0] for s in SKIPS])
def test_a_rule_we_cannot_evaluate_is_reported_and_skipped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, text: str,
        reason: str) -> None:
    path = tmp_path / "r.yml"
    path.write_text(text)
    sigma = SigmaSet()
    with caplog.at_level(logging.WARNING, "monitor.rules.sigma"):
        assert sigma.add(path, text) == []
    [skipped] = sigma.skipped
    assert reason in skipped.reason
    assert (skipped.path, skipped.line, skipped.rule_id) == (
        str(path), 1, "0e95725d-7320-415d-80f7-004da920fc11")
    assert reason in caplog.text and str(path) in caplog.text


def test_filters_and_sigma_1_collections_are_reported_not_dropped(tmp_path: Path) -> None:
    text = ("title: f\nlogsource: {product: windows}\nfilter:\n  rules: [a]\n"
            "  selection: {User: x}\n  condition: not selection\n---\n"
            "action: global\ntitle: g\ndetection:\n  condition: s\n")
    sigma = SigmaSet()
    sigma.add(tmp_path / "f.yml", text)
    assert [s.line for s in sigma.skipped] == [1, 8]
    assert "filters" in sigma.skipped[0].reason and "action" in sigma.skipped[1].reason


def test_a_file_that_is_not_sigma_still_loads_as_wallwatch_rules(tmp_path: Path) -> None:
    path = tmp_path / "own.yaml"
    path.write_text("id: own.rule\ntitle: t\nwhen: {event.action: detection}\n")
    assert [r.id for r in load_file(path)] == ["own.rule"]


def test_rules_check_reports_sigma_errors_and_skips(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(RULE)
    (tmp_path / "bad.yml").write_text(RULE.replace("id: 0e95725d-7320-415d-80f7-004da920fc11",
                                                   "id: 0e95725d-7320-415d-80f7-004da920fc12")
                                      .replace("ShareName: x", "ShareName|nope: x"))
    (tmp_path / "unmapped.yml").write_text(
        RULE.replace("0e95725d-7320-415d-80f7-004da920fc11",
                     "0e95725d-7320-415d-80f7-004da920fc13")
        .replace("service: security", "service: sysmon"))
    proc = subprocess.run([sys.executable, "-m", "monitor", "-c", str(tmp_path / "none.yaml"),
                           "rules", "check", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert f"{tmp_path / 'bad.yml'}:7:9: ShareName|nope: Unknown modifier 'nope'" in proc.stdout
    assert "unmapped.yml:1: Sigma rule 't' (0e95725d-7320-415d-80f7-004da920fc13) skipped: " \
           "no field mapping for logsource {product: windows, service: sysmon}" in proc.stderr
    assert "1 rules ok, 1 error(s)" in proc.stderr
