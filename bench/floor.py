"""The floors under the pipeline: how fast each stage goes alone, in one process.

    python bench/floor.py --data DIR [--repeat 3]

DIR is a data set of bench/generate.py (its wallwatch.yaml names the three files).
Measured one after the other, CPU seconds of this process (`time.process_time`,
fair on a shared machine), medians:
- parse: each source's parser alone over its file (tail + parse, no enrichment);
- parse + enrich: the same, each event enriched as the daemon does;
- store: the enriched events, pre-built in memory, inserted into an empty store
  with its search index and hash chain, in batches of one tail read (1 MiB of
  log), the source's state committed with each batch as the daemon does.
lines/s of the store floor is input lines per second (events/s × lines per event).
The throughput a single-threaded daemon can reach is at most
1 / (1/parse+enrich + 1/store + 1/rules).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `monitor` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import load_config
from monitor.enrich import Enricher
from monitor.event import Event
from monitor.sources.base import ParseOutput
from monitor.sources.reading import feed_lines, make_parser
from monitor.sources.tail import Tailer
from monitor.store import Store


def parse(config_path: Path, enrich: bool) -> tuple[int, list[list[Event]], float]:
    """(lines, events in the batches the daemon would commit, CPU s)."""
    config = load_config(str(config_path))
    enricher = Enricher(config) if enrich else None
    lines_total, batches = 0, []
    t0 = time.process_time()
    for cfg in config.sources:
        parser = make_parser(cfg, config)
        tailer = Tailer(cfg.path)
        while True:
            lines = tailer.read_lines()
            out = ParseOutput(cfg.name, cfg.path)
            if not lines:
                parser.flush(out)
            feed_lines(parser, lines, out)
            lines_total += len(lines)
            batch = [enricher(e) for e in out.events] if enricher else out.events
            batches.append(batch)
            if not lines:
                break
        tailer.close()
    return lines_total, batches, time.process_time() - t0


def store(batches: list[list[Event]], work: Path) -> tuple[int, float, int]:
    """(events stored, CPU s, bytes on disk)."""
    db = work / "floor.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    st = Store(db)
    stored = 0
    t0 = time.process_time()
    for n, batch in enumerate(batches):
        stored += st.commit_source_batch("floor", batch, [], {"tail": {"offset": n}})
    cpu = time.process_time() - t0
    st.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    st.close()
    return stored, cpu, db.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    config = args.data / "wallwatch.yaml"
    runs: dict[str, list[float]] = {"parse": [], "parse + enrich": [], "store": []}
    lines = events = size = 0
    with tempfile.TemporaryDirectory(prefix="ww-floor-") as tmp:
        for _ in range(args.repeat):
            lines, _, cpu = parse(config, enrich=False)
            runs["parse"].append(cpu)
            lines, batches, cpu = parse(config, enrich=True)
            runs["parse + enrich"].append(cpu)
            events, cpu, size = store(batches, Path(tmp))
            runs["store"].append(cpu)
    print(f"{lines:,} lines, {events:,} events ({lines / max(1, events):.2f} lines per event),"
          f" store {size / max(1, events):.0f} bytes per event\n")
    print("| stage alone | CPU s (median) | lines per CPU s | events per CPU s |")
    print("|---|---:|---:|---:|")
    for name, cpus in runs.items():
        cpu = statistics.median(cpus)
        print(f"| {name} | {cpu:.2f} | {lines / cpu:,.0f} | {events / cpu:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
