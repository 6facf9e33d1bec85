"""The shipped rule pack: it loads, and every rule's sample events behave."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from monitor.rules.loader import load_rules
from monitor.rules.testing import find_test_files, run_tests

RULES = Path(__file__).resolve().parents[2] / "rules"
REQUIRED = {
    "wall.cross-client-access", "wall.off-hours-bulk-read", "wall.many-clients",
    "wall.mass-delete", "wall.mass-rename", "wall.bait-file", "wall.permission-widened",
    "wall.ownership-change", "auth.ssh-password-guessing", "auth.guess-then-success",
    "auth.new-ip-for-user", "auth.login-off-hours", "auth.smb-password-guessing",
    "staff.departed-activity", "wall.first-touch", "client.archived-activity",
}


def test_the_pack_has_every_rule_the_firm_needs() -> None:
    assert {r.id for r in load_rules([RULES])} >= REQUIRED


def test_every_shipped_rule_passes_its_sample_events() -> None:
    rules = load_rules([RULES])
    results = run_tests(rules, find_test_files([RULES]))
    failures = [f"{r.where} {r.rule_id}: {r.name}: {r.detail}" for r in results if not r.ok]
    assert failures == []
    tested = {r.rule_id for r in results}
    assert tested == {r.id for r in rules}


def test_a_wrong_expectation_fails_the_rules_test(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text((RULES / "staff.yaml").read_text())
    (tmp_path / "tests").mkdir()
    text = (RULES / "tests" / "staff.departed-activity.yaml").read_text()
    (tmp_path / "tests" / "t.yaml").write_text(text.replace("alerts: 1", "alerts: 2"))
    out = subprocess.run([sys.executable, "-m", "monitor", "-c", "/nonexistent.yaml", "rules",
                          "test", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "expected 2 alert(s), got 1" in out.stdout


def test_rules_check_prints_located_errors_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: x.y\ntitle: t\nwhen: {user.nmae: bob}\n")
    out = subprocess.run([sys.executable, "-m", "monitor", "-c", "/nonexistent.yaml", "rules",
                          "check", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 1
    assert f"{tmp_path / 'bad.yaml'}:3:8: unknown field 'user.nmae'" in out.stdout
    ok = subprocess.run([sys.executable, "-m", "monitor", "-c", "/nonexistent.yaml", "rules",
                         "check", str(RULES)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
