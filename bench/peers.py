"""The peers, as Debian ships them: fail2ban-regex with the stock sshd filter, and SEC
with the ten rules of bench/sec/ (equivalents of ten of ours)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from bench.generate import DataSet
from bench.measure import Measurement, run

SEC_RULES = Path(__file__).resolve().parent / "sec"
SSHD_FILTER = Path("/etc/fail2ban/filter.d/sshd.conf")


def installed() -> dict[str, bool]:
    return {"fail2ban": shutil.which("fail2ban-regex") is not None and SSHD_FILTER.exists(),
            "sec": shutil.which("sec") is not None}


def version(argv: list[str], cwd: Path | None = None) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                             cwd=cwd)
    except OSError:
        return "not installed"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def fail2ban(data: DataSet, work: Path, timeout: float = 3600) -> Measurement:
    """fail2ban-regex over the sshd file. It finds failures; banning is the server's
    job, so its count is of failures matched, not of alerts. `--no-check-all` stops at
    the first matching regex, as fail2ban-server does."""
    work.mkdir(parents=True, exist_ok=True)
    argv = ["fail2ban-regex", "--no-check-all", "--print-no-missed", "--print-no-ignored",
            "-r", str(data.files["sshd"]), str(SSHD_FILTER)]
    fin = run(argv, work / "stdout.txt", work / "stderr.txt", timeout=timeout)
    m = Measurement("fail2ban-regex (sshd filter)", data.lines["sshd"], fin.wall, fin.cpu,
                    fin.rss_mb)
    out = (work / "stdout.txt").read_text(encoding="utf-8", errors="replace")
    failures = re.search(r"^Failregex: (\d+) total", out, re.M)
    if fin.status != 0 or failures is None:
        m.ok, m.note = False, f"exited {fin.status}: see {work}"
        return m
    m.by_rule = {"failures matched": int(failures.group(1))}
    m.note = "sshd file only; counts failures (fail2ban-regex does not ban)"
    return m


def sec(data: DataSet, work: Path, timeout: float = 3600) -> Measurement:
    """SEC over the same three files, with bench/sec/*.conf and the staff table."""
    work.mkdir(parents=True, exist_ok=True)
    argv = ["sec", "--notail", "--intevents", f"--conf={data.sec_assignments}",
            f"--conf={SEC_RULES}/*.conf", *(f"--input={p}" for p in data.files.values())]
    fin = run(argv, work / "alerts.txt", work / "stderr.txt", timeout=timeout)
    m = Measurement("SEC, 10 rules", data.total_lines, fin.wall, fin.cpu, fin.rss_mb)
    if fin.status != 0:
        m.ok, m.note = False, f"exited {fin.status}: see {work / 'stderr.txt'}"
        return m
    counts: Counter[str] = Counter()
    for line in (work / "alerts.txt").read_text(encoding="utf-8",
                                                errors="replace").splitlines():
        parts = line.split()
        if len(parts) > 1 and parts[0] == "ALERT":
            counts[parts[1]] += 1
    m.by_rule = dict(sorted(counts.items()))
    m.alerts = sum(counts.values())
    return m


def sec_rule_ids() -> list[str]:
    """Our rules that bench/sec/ has an equivalent of (their `desc=` names them)."""
    ids: set[str] = set()
    for conf in sorted(SEC_RULES.glob("*.conf")):
        ids.update(re.findall(r"^desc=([a-z]+\.[a-z0-9.-]+) ", conf.read_text(encoding="utf-8"),
                              re.M))
    return sorted(ids)
