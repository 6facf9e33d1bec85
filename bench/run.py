"""Wallwatch against its peers, on the same generated logs, in one invocation.

    python bench/run.py [--lines 1000000] [--repeat 3] [--big] [--seed 1]

Every measured command is its own process (wall time, CPU user+sys and peak RSS from
wait4): the Wallwatch daemon from an empty store until it has caught up, `wallwatch
backtest` (rules only), fail2ban-regex with Debian's sshd filter, SEC with ten rules
equivalent to ten of ours; then rules only with 20 and with 200 rules, and search
timings on a store of 1M (10M with --big) events. Prints markdown (see README.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import peers, report, scaling, search_bench, wallwatch_runs
from bench.generate import DataSet, cached
from bench.measure import Measurement


def machine() -> str:
    model, mem_kb = "?", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM,"
            f" {platform.system()} {platform.release()}; load average at start {load}")


def versions(python: str) -> str:
    wallwatch = peers.version([python, *wallwatch_runs.WALLWATCH, "--version"],
                              cwd=wallwatch_runs.REPO)
    return ", ".join([
        f"Python {platform.python_version()}", wallwatch,
        f"SQLite {sqlite3.sqlite_version}",
        peers.version(["fail2ban-regex", "--version"]),
        peers.version(["sec", "--version"]).replace(" (Simple Event Correlator)", ""),
    ])


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def measured(label: str, m: Measurement) -> Measurement:
    state = "" if m.ok else f"  FAILED: {m.note}"
    say(f"  {label}: {m.wall:.2f} s wall, {m.cpu:.2f} s CPU, {m.rss_mb:.0f} MB,"
        f" {m.lines / m.wall if m.wall else 0:,.0f} lines/s{state}")
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines per generated file")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (medians)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--big", action="store_true", help="search on 10M events instead of 1M")
    ap.add_argument("--search-events", type=int, help="events in the search store")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wallwatch-bench"))
    ap.add_argument("--no-peers", action="store_true", help="skip fail2ban-regex and SEC")
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--skip-search", action="store_true")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per measured run")
    ap.add_argument("--python", default=sys.executable, help="the venv's python")
    args = ap.parse_args(argv)
    work: Path = args.workdir.resolve()
    print(f"# Wallwatch benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(f"- command: `python bench/run.py {shlex.join(sys.argv[1:] if argv is None else argv)}`")
    print(f"- machine: {machine()}")
    print(f"- versions: {versions(args.python)}")
    say(f"generating {args.lines:,} lines per file (kept in {work} for the next run)…")
    t0 = time.perf_counter()
    data = cached(work / f"data-{args.lines}-{args.seed}", args.lines, args.seed)
    say(f"  data ready in {time.perf_counter() - t0:.0f} s")
    print(f"- data: {data.lines['samba']:,} Samba + {data.lines['sshd']:,} sshd +"
          f" {data.lines['auditd']:,} auditd lines (seed {args.seed}, the week of"
          f" {data.manifest['start']}, {len(data.manifest['injected'])} injected incidents"
          f" listed in {data.dir / 'manifest.json'})\n")
    have = peers.installed()
    use_peers = {name: ok and not args.no_peers for name, ok in have.items()}
    for name, ok in have.items():
        if not ok and not args.no_peers:
            say(f"  {name} is not installed: apt-get install -y {name}")
    rule_dirs = {n: scaling.write_rules(work / f"rules-{n}", n) for n in (20, 200)}
    runs: dict[str, list[Measurement]] = {}
    scaled: dict[int, list[Measurement]] = {20: [], 200: []}
    for r in range(1, args.repeat + 1):
        say(f"run {r}/{args.repeat}")
        one = run_once(data, work / f"run-{r}", args, use_peers)
        for m in one:
            runs.setdefault(m.name, []).append(m)
        if not args.skip_scaling:
            for n, rules in rule_dirs.items():
                scaled[n].append(measured(f"rules only, {n} rules", wallwatch_runs.backtest(
                    data, work / f"run-{r}" / f"rules-{n}", args.python, rules,
                    name=f"{n} rules", timeout=args.timeout)))
    medians = {name: report.median_of(ms) for name, ms in runs.items()}
    ours = [medians[k] for k in ("Wallwatch full pipeline", "Wallwatch rules only")]
    others = [m for k, m in medians.items() if not k.startswith("Wallwatch")]
    print(report.throughput([*ours, *others], args.repeat), end="\n\n")
    print(report.ratios(ours, others), end="\n\n")
    columns = [*ours, *[m for m in others if m.alerts is not None]]
    print(report.alerts_by_rule(columns, peers.sec_rule_ids()), end="\n\n")
    notes = report.pipeline_notes(ours[0])
    if notes:
        print(notes, end="\n\n")
    if not args.skip_scaling:
        print(report.scaling({n: report.median_of(ms) for n, ms in scaled.items()}),
              end="\n\n")
    if not args.skip_search:
        n = args.search_events or (10_000_000 if args.big else 1_000_000)
        say(f"search: a store of {n:,} events…")
        result = search_bench.measure(data, work / "search", n, args.seed, args.python)
        print(report.search(result), end="\n\n")
    failed = [m.name for ms in (*runs.values(), *scaled.values()) for m in ms if not m.ok]
    if failed:
        print(f"FAILED runs: {', '.join(sorted(set(failed)))} (see {work})")
    return 1 if failed else 0


def run_once(data: DataSet, work: Path, args: argparse.Namespace,
             use_peers: dict[str, bool]) -> list[Measurement]:
    """One round of the main measurements, one after the other (never in parallel:
    they would share the two cores)."""
    out = [
        measured("Wallwatch full pipeline", wallwatch_runs.daemon(
            data, work / "daemon", args.python, args.timeout)),
        measured("Wallwatch rules only", wallwatch_runs.backtest(
            data, work / "backtest", args.python, timeout=args.timeout)),
    ]
    if use_peers["fail2ban"]:
        out.append(measured("fail2ban-regex", peers.fail2ban(data, work / "fail2ban",
                                                             args.timeout)))
    if use_peers["sec"]:
        out.append(measured("SEC", peers.sec(data, work / "sec", args.timeout)))
    return out


if __name__ == "__main__":
    sys.exit(main())
