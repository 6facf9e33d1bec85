"""bench/sigma_rules.py's 50 Sigma rules and their 50 native twins give the same
alerts on the same events (a small run; the benchmark itself measures speed)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.daemon_process import REPO


def test_the_benchmarks_sigma_and_native_rule_sets_agree() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "sigma_rules.py"),
                           "--events", "20000", "--repeat", "1"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    native, sigma = (int(n) for n in re.findall(r"(\d+) alerts\)", proc.stdout))
    assert native == sigma > 0
