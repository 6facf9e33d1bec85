"""How fast the Elasticsearch shipper drains the local store into a healthy cluster
stand-in on this machine (target: at least 20k events/s).

    .venv/bin/python bench/es_ship.py [--events 200000] [--batch 5000]

Three numbers, measured in this process tree on the same events:
- shipper: the real Shipper thread, store → stand-in, from start until its
  cursor reaches the head (reading, building documents, bulk requests, cursor commits);
- build only: reading the store and serialising the bulk bodies, no network
  (the shipper's own CPU ceiling);
- wire only: the same bodies, pre-built, sent with the real client to the stand-in
  (what the client and the stand-in allow).
The shipper's rate is also printed as a ratio of the slower peer.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.sinks.es_client import make_client
from monitor.sinks.es_ship import CURSORS, Shipper
from monitor.sinks.es_templates import stream_name
from monitor.store import Store
from tests.fixtures.es_standin import EsStandin
from tests.sinks.es_helpers import (
    CTX,
    es_config,
    fill,
    install_templates,
    source_events,
)


def cpu_of(standin: EsStandin) -> float:
    """CPU seconds the stand-in's process has used (utime + stime)."""
    assert standin.proc is not None
    fields = Path(f"/proc/{standin.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="es-bench-") as tmp:
        work = Path(tmp)
        print(f"preparing {args.events} events ...", file=sys.stderr)
        store = fill(work / "w.db", source_events(args.events, sources=8))
        with EsStandin(work / "standin") as standin:
            cfg = es_config(standin.url, max_events=args.batch, timeout=60.0)
            install_templates(cfg)

            shipper = Shipper(cfg, str(work / "w.db"), CTX, threading.Event())
            cpu0, child0 = time.process_time(), cpu_of(standin)
            start = time.perf_counter()
            shipper.start()
            while store.cursor(CURSORS["events"])[0] < store.head():
                time.sleep(0.01)
            shipped = time.perf_counter() - start
            cpu = {"shipper": time.process_time() - cpu0, "stand-in": cpu_of(standin) - child0}
            shipper.stop_flag.set()
            shipper.join()
            arrived = standin.state()["streams"][stream_name("events", "default")]
            assert arrived == args.events, arrived

            start = time.perf_counter()
            bodies, position = [], 0
            reader = Store(work / "w.db")
            while True:
                items = shipper.read(reader, "events", position)
                if not items:
                    break
                bodies.append(b"".join(i.body for i in items))
                position = items[-1].seq
            built = time.perf_counter() - start
            reader.close()

            standin.control("reset")
            install_templates(cfg)
            client = make_client(cfg)
            index = stream_name("events", "default")
            start = time.perf_counter()
            for body in bodies:
                answer = client.bulk(index=index, operations=body,  # type: ignore[arg-type]
                                     filter_path="errors,items.*.status")
                assert answer["errors"] is False
            wired = time.perf_counter() - start
            client.close()
        store.close()
    n = args.events
    rates = {"shipper": n / shipped, "build only": n / built, "wire only": n / wired}
    for name, rate in rates.items():
        print(f"{name:>12}: {rate:10,.0f} events/s")
    slower = min(rates["build only"], rates["wire only"])
    print(f"shipper / slower peer: {rates['shipper'] / slower:.2f}")
    for name, seconds in cpu.items():
        print(f"CPU {name:>9}: {seconds / n * 1e6:6.1f} µs/event"
              f" ({n / seconds:,.0f} events/s on a free core)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"target 20,000 events/s: {'met' if rates['shipper'] >= 20_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
