"""`make chaos`: every fault scenario at full size, the counts written as a table
into docs/RELIABILITY.md (between the chaos:begin / chaos:end markers; the prose
around them is kept).

    python -m tests.chaos.report                      # everything, the issue's sizes
    python -m tests.chaos.report --only crash clock   # some scenarios
    python -m tests.chaos.report --es-outage 120      # a shorter cluster outage
    python -m tests.chaos.report --scale 0.1          # a tenth of every size (quick look)
    python -m tests.chaos.report --size crash=300000  # one scenario's size
    python -m tests.chaos.report --only fuzz          # hostile input: every parser, 100k lines

The sizes actually run are written next to the numbers. Exit 1 when any scenario
lost or doubled anything, did not finish, or a parser crashed.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.chaos import delivery, disk_full, hostile, inputs
from tests.chaos.outcome import Outcome

REPO = Path(__file__).resolve().parent.parent.parent
DOC = REPO / "docs" / "RELIABILITY.md"
BEGIN, END = "<!-- chaos:begin -->", "<!-- chaos:end -->"
FUZZ_BEGIN, FUZZ_END = "<!-- fuzz:begin -->", "<!-- fuzz:end -->"
ES_OUTAGE = 600.0  # the ten minutes


# the sizes: records of the workload (1.2M records make about 1.0M events),
# lines per generation for the rotation
SIZES = {"crash": 1_200_000, "rotation": 2_000, "es-down": 100_000, "es-flaky": 200_000,
         "notify-down": 50_000, "clock": 200_000, "disk-full": 100_000}


def scenarios(sizes: dict[str, int], es_outage: float) -> dict[str, Callable[[Path], Outcome]]:
    n = sizes
    return {
        "crash": lambda root: delivery.crash(root, n["crash"], kills=20),
        "rotation": lambda root: inputs.rotation(root, rotations=100,
                                                 per_generation=n["rotation"]),
        "es-down": lambda root: delivery.es_outage(root, n["es-down"], outage=es_outage),
        "es-flaky": lambda root: delivery.es_flaky(root, n["es-flaky"]),
        "notify-down": lambda root: delivery.notify_outage(root, n["notify-down"], outage=120),
        "clock": lambda root: inputs.clock(root, n["clock"]),
        "disk-full": lambda root: disk_full.disk_full(root, n["disk-full"], size="64m",
                                                      hold=30),
    }


def cell(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def row(name: str, out: Outcome, run: str) -> str:
    events_out = " / ".join(f"{where} {t.arrived:,}" for where, t in out.events.items())
    alerts_sent = cell(out.alerts_sent)
    if out.alerts_expected is not None and len(out.alerts) > 1:
        alerts_sent += " (" + ", ".join(out.alerts) + ")"
    return (f"| {out.scenario} (`{name}`) | {out.size} | {out.runs} | {out.faults:,} |"
            f" {out.events_in:,} | {events_out} | {out.lost:,} | {out.duplicated:,} |"
            f" {cell(out.alerts_expected)} | {alerts_sent} | {out.seconds / 60:.1f} min | {run} |"
            f" {out.detail()} |")


HEADER = ("| Scenario | Sizes run | Daemon runs | Faults injected | Events in | Events out |"
          " Lost | Duplicated | Alerts expected | Alerts sent | Time | Run | Details |\n"
          "|---|---|---:|---:|---:|---|---:|---:|---:|---|---:|---|---|")
_NAME = re.compile(r"^\| [^|]*\(`([a-z_-]+)`\)")
_RUN = re.compile(r"^- (run \S+ \S+)")


def block(rows: dict[str, str], header: str, marks: tuple[str, str], run: str, command: str,
          took: float, old_text: str) -> str:
    """The table between the markers: this run's rows, and the rows of scenarios this
    run did not repeat kept from the page, each with the run (and command) it came from."""
    old = old_text.split(marks[0], 1)[1].split(marks[1], 1)[0] if marks[0] in old_text else ""
    kept: dict[str, str] = {}
    for line in old.splitlines():
        found = _NAME.match(line)
        if found and found.group(1) not in rows:
            kept[found.group(1)] = line
    load = os.getloadavg()
    runs = [line for line in old.splitlines() if (m := _RUN.match(line))
            and any(f"| {m.group(1)} |" in r for r in kept.values())]
    runs.append(f"- {run} UTC on {platform.node()} ({os.cpu_count()} cores, load "
                f"{load[0]:.1f} at the end, {took / 60:.0f} min): `{command}`")
    merged = {**kept, **rows}
    order = [*SIZES, "fuzz"]  # scenarios in their usual order, parsers by name
    ordered = sorted(merged, key=lambda k: (order.index(k) if k in order else len(order), k))
    return "\n".join([marks[0], "Each row comes from an actual run of this command, at this"
                      " commit:", "",
                      *runs, "", header, *(merged[k] for k in ordered), marks[1]])


def write_doc(rows: dict[str, str], header: str, marks: tuple[str, str], run: str,
              command: str, took: float, doc: Path) -> None:
    """Replace the block between the markers; the rest of the page stays."""
    old = doc.read_text(encoding="utf-8") if doc.exists() else "# Reliability\n"
    text = block(rows, header, marks, run, command, took, old)
    if marks[0] in old and marks[1] in old:
        head, rest = old.split(marks[0], 1)
        new = head + text + rest.split(marks[1], 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    doc.write_text(new, encoding="utf-8")


def run_fuzz(lines: int, run: str) -> tuple[dict[str, str], bool]:
    rows, ok = {}, True
    for kind in hostile.parsers():
        print(f"chaos: fuzz {kind} …", file=sys.stderr, flush=True)
        count = hostile.fuzz(kind, lines)
        ok = ok and count.crashes == 0 and count.unlocated == 0 and count.events > 0
        rows[kind] = hostile.row(count, run)
        print(rows[kind], flush=True)
    return rows, ok


def commit() -> str:
    """The checkout's commit, `-dirty` when the working tree differs from it."""
    try:
        done = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10)
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--size", action="append", default=[], metavar="NAME=N",
                        help="one scenario's size (records; lines per generation for "
                             "rotation), after --scale")
    parser.add_argument("--es-outage", type=float, default=ES_OUTAGE,
                        help="seconds the cluster stays down (default 600)")
    parser.add_argument("--fuzz-lines", type=int, default=100_000,
                        help="lines per parser for the hostile-input run (default 100k)")
    parser.add_argument("--out", default=str(DOC), help="the Markdown file to update")
    parser.add_argument("--workdir", help="where the runs happen (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    sizes = {name: max(1000, int(n * args.scale)) for name, n in SIZES.items()}
    for given in args.size:
        name, _, value = given.partition("=")
        if name not in sizes or not value.isdigit():
            parser.error(f"--size {given}: use NAME=N with NAME one of {', '.join(sizes)}")
        sizes[name] = int(value)
    chosen = scenarios(sizes, args.es_outage)
    names = args.only or [*chosen, "fuzz"]
    unknown = [name for name in names if name not in chosen and name != "fuzz"]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {', '.join(chosen)}, fuzz")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="wallwatch-chaos-"))
    command = "make chaos" if argv is None and len(sys.argv) == 1 else \
        "python -m tests.chaos.report " + " ".join(sys.argv[1:] if argv is None else argv)
    started, t0 = datetime.now(UTC), time.monotonic()
    run = f"run {started:%Y-%m-%d %H:%M:%S}"
    command += f"` at `{commit()}"  # which code ran: the table is only as good as that
    rows: dict[str, str] = {}
    ok = True
    for name in names:
        if name == "fuzz":
            continue
        print(f"chaos: {name} …", file=sys.stderr, flush=True)
        try:
            out = chosen[name](work / name)
        except Exception as exc:  # a scenario that did not finish is a row, not a crash
            traceback.print_exc()
            ok = False
            rows[name] = (f"| did not finish (`{name}`) | | | | | | | | | | | {run} | "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]} |")
            continue
        ok = ok and out.clean()
        rows[name] = row(name, out, run)
        print(rows[name], flush=True)
    if rows:
        write_doc(rows, HEADER, (BEGIN, END), run, command, time.monotonic() - t0,
                  Path(args.out))
    if "fuzz" in names:
        t1 = time.monotonic()
        fuzz_rows, fuzz_ok = run_fuzz(args.fuzz_lines, run)
        ok = ok and fuzz_ok
        write_doc(fuzz_rows, hostile.HEADER, (FUZZ_BEGIN, FUZZ_END), run, command,
                  time.monotonic() - t1, Path(args.out))
    print(f"chaos: tables written to {args.out}", file=sys.stderr)
    if not args.keep and ok:
        shutil.rmtree(work, ignore_errors=True)
    elif not ok:
        print(f"chaos: something was lost, doubled or unfinished; runs kept in {work}",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
