"""Generate the benchmark's logs: a week at the firm, seeded.

    python bench/generate.py [--lines 1000000] [--seed 1] [--out DIR] [--start YYYY-MM-DD]

Writes into DIR, `--lines` lines per file:
  samba_audit.log   Samba 4.17 full_audit, debug-log form, prefix %u|%I|%m|%S
  auth.log          sshd + PAM, BSD syslog form
  audit.log         auditd RAW records
  wallwatch.yaml    a config for them (sources, clients, the staff table)
  sec-assignments.conf   the staff table as SEC contexts (for bench/sec/)
  manifest.json     what was generated, and every injected incident
The week is Monday to Friday of the last complete working week before today (BSD
syslog lines carry no year: the parsers take the one that is not in the future), with
no Chinese public holiday in it, so off-hours are nights only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import firm
from bench.gen_auditd import AuditdGenerator
from bench.gen_samba import SambaGenerator
from bench.gen_sshd import SshdGenerator
from bench.timeline import Span

VERSION = 1  # bump when the output changes: cached data sets are then made again
FILES = {"samba": "samba_audit.log", "sshd": "auth.log", "auditd": "audit.log"}
DAYS = 5


@dataclass(frozen=True)
class DataSet:
    dir: Path
    files: dict[str, Path]
    lines: dict[str, int]
    manifest: dict[str, Any]

    @property
    def total_lines(self) -> int:
        return sum(self.lines.values())

    @property
    def config(self) -> Path:
        return self.dir / "wallwatch.yaml"

    @property
    def sec_assignments(self) -> Path:
        return self.dir / "sec-assignments.conf"

    def staff(self) -> dict[str, firm.Member]:
        return staff_for(date.fromisoformat(str(self.manifest["start"])))


def staff_for(start: date) -> dict[str, firm.Member]:
    """The staff table of a data set: the departed member left ten days before it."""
    return firm.staff_table(left=start - timedelta(days=10))


def default_start(today: date) -> date:
    """Monday of the last complete Monday-to-Friday week before today without a
    Chinese public holiday (the `holidays` package, when installed, says which)."""
    monday = today - timedelta(days=today.weekday())
    start = monday if today.weekday() >= 5 else monday - timedelta(days=7)
    try:
        import holidays

        cn = holidays.country_holidays("CN", years={start.year - 1, start.year})
    except (ImportError, NotImplementedError):
        return start
    while any(start + timedelta(days=d) in cn for d in range(DAYS)):
        start -= timedelta(days=7)
    return start


def generate(out: Path, lines: int, seed: int, start: date | None = None) -> DataSet:
    out.mkdir(parents=True, exist_ok=True)
    start = start or default_start(date.today())
    tz = ZoneInfo(firm.TIMEZONE)
    span = Span(start, DAYS, tz)
    staff = staff_for(start)
    workdays = list(range(DAYS))
    files = {kind: out / name for kind, name in FILES.items()}
    written: dict[str, int] = {}
    samba = SambaGenerator(span, staff, random.Random(f"{seed}/samba"), workdays)
    sshd = SshdGenerator(span, random.Random(f"{seed}/sshd"))
    auditd = AuditdGenerator(span, staff, random.Random(f"{seed}/auditd"), workdays)
    for kind, gen in (("samba", samba), ("sshd", sshd), ("auditd", auditd)):
        with files[kind].open("w", encoding="utf-8", newline="\n") as fh:
            written[kind] = gen.write(fh, lines)
    (out / "wallwatch.yaml").write_text(
        firm.config_text(files, out / "store" / "wallwatch.db", staff), encoding="utf-8")
    (out / "sec-assignments.conf").write_text(firm.sec_assignments(staff), encoding="utf-8")
    manifest = {
        "version": VERSION, "seed": seed, "lines_per_file": lines, "start": start.isoformat(),
        "days": DAYS, "timezone": firm.TIMEZONE,
        "files": {kind: {"path": str(files[kind]), "lines": written[kind],
                         "bytes": files[kind].stat().st_size} for kind in FILES},
        "injected": samba.injected + sshd.injected,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False),
                                       encoding="utf-8")
    return DataSet(out, files, written, manifest)


def cached(out: Path, lines: int, seed: int, start: date | None = None) -> DataSet:
    """The data set in `out` if it was made with these settings, else a new one."""
    start = start or default_start(date.today())
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        if (manifest["version"], manifest["seed"], manifest["lines_per_file"],
                manifest["start"]) == (VERSION, seed, lines, start.isoformat()):
            files = {kind: Path(info["path"]) for kind, info in manifest["files"].items()}
            if all(p.stat().st_size == manifest["files"][k]["bytes"] for k, p in files.items()):
                return DataSet(out, files, {k: int(v["lines"]) for k, v in
                                            manifest["files"].items()}, manifest)
    except (OSError, KeyError, ValueError):
        pass
    return generate(out, lines, seed, start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines per file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/wallwatch-bench/data"))
    ap.add_argument("--start", type=date.fromisoformat, help="the Monday the week starts")
    args = ap.parse_args(argv)
    data = generate(args.out, args.lines, args.seed, args.start)
    for kind, path in data.files.items():
        print(f"{path}: {data.lines[kind]:,} lines, {path.stat().st_size / 1e6:.1f} MB")
    print(f"{data.config}; {len(data.manifest['injected'])} incidents in manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
