"""The benchmark keeps working: a 10k-line run of bench/run.py, end to end, with the
peers when they are installed. Nothing here is timed: speed is measured by the
benchmark itself and recorded in bench/RESULTS.md."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import firm

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_10k_line_benchmark_run_completes_and_prints_the_ratio_table(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--lines", "10000", "--repeat", "1",
         "--search-events", "20000", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=1200, cwd=REPO, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-4000:]
    table = out.split("## Ratios to each peer", 1)[1].split("\n## ", 1)[0]
    peers = [name for name, exe in (("fail2ban-regex", "fail2ban-regex"), ("SEC", "sec"))
             if shutil.which(exe)]
    header = next(x for x in table.splitlines() if x.startswith("| Wallwatch ÷ peer |"))
    for name in peers:
        assert name in header, table  # a column per installed peer
    for row in ("Wallwatch full pipeline", "Wallwatch rules only"):
        line = next(x for x in table.splitlines() if x.startswith(f"| {row} |"))
        assert len(re.findall(r"\d+\.\d\d× \(\d+\.\d\d×\)", line)) == len(peers), line
    # the generated logs are all in shapes the parsers know
    assert re.search(r"dead letters: 0;", out), out
    assert "## Cost as the work grows" in out and "Throughput with 200 rules is" in out
    assert "## Search: a store of 20,000 events" in out


def test_the_sec_rules_name_the_archived_clients_of_the_generated_config() -> None:
    conf = (REPO / "bench" / "sec" / "10-archived-activity.conf").read_text(encoding="utf-8")
    named = re.search(r"/srv/share/clients/\(([^)]*)\)", conf)
    assert named is not None
    assert set(named.group(1).split("|")) == set(firm.ARCHIVED)
