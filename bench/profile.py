"""Where Wallwatch's time goes, on the benchmark's logs.

    python bench/profile.py [--lines 200000] [--py-spy PATH] [--top 25]

1. `wallwatch backtest` (rules only) under cProfile: the functions with the most own
   time, and the main stages' cumulative time.
2. The daemon (full pipeline, empty store) sampled by py-spy (`pip install py-spy`, in
   any venv; found on PATH or given with --py-spy), until it has caught up: the share
   of samples per thread and the functions with the most own time.
Profilers slow the code down (cProfile a lot): read shares, not seconds.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import firm
from bench.generate import DataSet, cached
from bench.wallwatch_runs import REPO, WALLWATCH, StoreWatch

# (file, function) -> what it is: the stages of rules only, cumulative
STAGES = {("reading.py", "feed_lines"): "parse (all sources)",
          ("samba.py", "feed"): "  Samba parser", ("sshd.py", "feed"): "  sshd parser",
          ("auditd.py", "feed"): "  auditd parser", ("tail.py", "read_lines"): "read files",
          ("enrich.py", "__call__"): "enrich", ("engine.py", "process"): "rules engine"}


def backtest(data: DataSet, work: Path, python: str, top: int) -> None:
    work.mkdir(parents=True, exist_ok=True)
    out = work / "backtest.prof"
    subprocess.run([python, "-m", "cProfile", "-o", str(out), *WALLWATCH, "-c",
                    str(data.config), "backtest", *map(str, data.files.values())],
                   cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    stats = pstats.Stats(str(out))
    total = max(1e-9, stats.total_tt)  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
    print(f"## Rules only (`wallwatch backtest`, cProfile): {total:.1f} s profiled\n")
    print("| own time | calls | function |\n|---:|---:|---|")
    for (file, line, func), (_, calls, tt, _, _) in rows[:top]:
        print(f"| {tt / total:5.1%} | {calls:,} | `{func}` {_short(file)}:{line} |")
    print("\n| stage (cumulative) | share |\n|---|---:|")
    cumulative = {(Path(file).name, func): ct for (file, _, func), (_, _, _, ct, _) in rows}
    for key, label in STAGES.items():
        if key in cumulative:
            print(f"| {label} | {cumulative[key] / total:5.1%} |")
    print()


def daemon(data: DataSet, work: Path, python: str, spy: str, top: int) -> None:
    run = work / "daemon"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    db = run / "store" / "wallwatch.db"
    config = run / "wallwatch.yaml"
    config.write_text(firm.config_text(data.files, db, data.staff()), encoding="utf-8")
    watch = StoreWatch(db, {k: p.stat().st_size for k, p in data.files.items()})
    raw = run / "py-spy.txt"
    with (run / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen([python, *WALLWATCH, "-c", str(config), "run"], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=err)
        sampler = subprocess.Popen([spy, "record", "--pid", str(proc.pid), "--rate", "50",
                                    "--format", "raw", "--threads", "--nonblocking",
                                    "--output", str(raw)], stdout=subprocess.DEVNULL,
                                   stderr=err)
    t0 = time.perf_counter()
    try:
        while not watch.caught_up():
            if proc.poll() is not None:
                raise SystemExit(f"the daemon exited: see {run / 'stderr.txt'}")
            time.sleep(0.2)
    finally:
        watch.close()
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait()
        sampler.wait()
    threads, own = Counter[str](), Counter[str]()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        threads[re.sub(r"^thread \(\d+\): ", "", frames[0])] += int(count)
        own[frames[-1]] += int(count)
    total = max(1, sum(threads.values()))
    print(f"## Full pipeline (daemon, py-spy): caught up in {time.perf_counter() - t0:.1f} s,"
          f" {total:,} samples\n")
    print("| thread | share of samples |\n|---|---:|")
    for name, n in threads.most_common():
        print(f"| {name} | {n / total:5.1%} |")
    print("\n| own time | function |\n|---:|---|")
    for frame, n in own.most_common(top):
        print(f"| {n / total:5.1%} | `{frame}` |")
    print()


def _short(file: str) -> str:
    return file.split("/work/main/")[-1] if "/monitor/" in file else Path(file).name



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wallwatch-bench"))
    ap.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy executable")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    work = args.workdir.resolve()
    data = cached(work / f"data-{args.lines}-{args.seed}", args.lines, args.seed)
    backtest(data, work / "profile", args.python, args.top)
    if args.py_spy:
        daemon(data, work / "profile", args.python, args.py_spy, args.top)
    else:
        print("py-spy not found: `pip install py-spy` (any venv), then --py-spy PATH")
    return 0


if __name__ == "__main__":
    sys.exit(main())
