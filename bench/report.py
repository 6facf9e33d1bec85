"""The benchmark's printout: markdown tables, the same text that goes in RESULTS.md."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from bench.measure import Measurement
from bench.search_bench import SearchResult


def median_of(runs: Sequence[Measurement]) -> Measurement:
    """Medians of wall, CPU and RSS over the runs; alerts of the run with the median wall
    time (SEC's arrival-time windows can make its counts differ from run to run)."""
    ok = [m for m in runs if m.ok] or list(runs)
    by_wall = sorted(ok, key=lambda m: m.wall)
    mid = by_wall[(len(by_wall) - 1) // 2]
    alerts = sorted({m.alerts for m in ok if m.alerts is not None})
    note = mid.note
    if len(alerts) > 1:
        note = (note + "; " if note else "") + f"alerts varied {alerts[0]}–{alerts[-1]}"
    extra = {k: statistics.median(m.extra[k] for m in ok if k in m.extra)
             for k in mid.extra}
    return Measurement(mid.name, mid.lines, statistics.median(m.wall for m in ok),
                       statistics.median(m.cpu for m in ok),
                       statistics.median(m.rss_mb for m in ok), mid.alerts, mid.by_rule,
                       all(m.ok for m in runs), note, extra)


def _n(x: float, digits: int = 0) -> str:
    if math.isnan(x):
        return "–"
    return f"{x:,.{digits}f}"


def _alerts(m: Measurement) -> str:
    if m.alerts is not None:
        return _n(m.alerts)
    return ", ".join(f"{v:,} {k}" for k, v in m.by_rule.items()) or "–"


def throughput(rows: Sequence[Measurement], repeat: int) -> str:
    out = [f"## Throughput (median of {repeat} run{'s' * (repeat > 1)})", "",
           "| run | input lines | wall s | lines/s | CPU s | lines per CPU s | peak RSS MB"
           " | alerts |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m in rows:
        flag = "" if m.ok else " **FAILED**"
        out.append(f"| {m.name}{flag} | {_n(m.lines)} | {_n(m.wall, 2)} | {_n(m.rate)} |"
                   f" {_n(m.cpu, 2)} | {_n(m.cpu_rate)} | {_n(m.rss_mb, 1)} | {_alerts(m)} |")
    notes = [f"- {m.name}: {m.note}" for m in rows if m.note]
    return "\n".join(out + (["", *notes] if notes else []))


def ratios(ours: Sequence[Measurement], peers: Sequence[Measurement]) -> str:
    if not peers:
        return "## Ratios\n\nNo peer installed (apt-get install -y fail2ban sec)."
    head = "| Wallwatch ÷ peer | " + " | ".join(p.name for p in peers) + " |"
    out = ["## Ratios to each peer",
           "",
           "Lines per second of wall time, Wallwatch's divided by the peer's (above 1:"
           " Wallwatch is faster); in brackets the same per CPU second.", "",
           head, "|---|" + "---:|" * len(peers)]
    for m in ours:
        cells = []
        for p in peers:
            if not (m.ok and p.ok and p.rate and p.cpu_rate):
                cells.append("–")
                continue
            cells.append(f"{m.rate / p.rate:.2f}× ({m.cpu_rate / p.cpu_rate:.2f}×)")
        out.append(f"| {m.name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def alerts_by_rule(columns: Sequence[Measurement], sec_ids: Sequence[str]) -> str:
    names = sorted({r for m in columns for r in m.by_rule if r != "failures matched"})
    out = ["## Alerts per rule (the run with the median wall time)", "",
           "`SEC` has an equivalent of the rules marked *; it counts on arrival time, ours"
           " on event time (see README).", "",
           "| rule | " + " | ".join(m.name for m in columns) + " |",
           "|---|" + "---:|" * len(columns)]
    for rule in names:
        mark = " *" if rule in sec_ids else ""
        out.append(f"| {rule}{mark} | " + " | ".join(
            _n(m.by_rule.get(rule, 0)) for m in columns) + " |")
    return "\n".join(out)


def scaling(runs: dict[int, Measurement]) -> str:
    out = ["## Cost as the work grows (rules only, same files)", "",
           "| rules | lines/s | CPU s | lines per CPU s | peak RSS MB | alerts |",
           "|---:|---:|---:|---:|---:|---:|"]
    for count, m in sorted(runs.items()):
        out.append(f"| {count} | {_n(m.rate)} | {_n(m.cpu, 2)} | {_n(m.cpu_rate)} |"
                   f" {_n(m.rss_mb, 1)} | {_alerts(m)} |")
    if len(runs) == 2:
        small, big = (runs[k] for k in sorted(runs))
        if small.rate and small.cpu_rate:
            out += ["", f"Throughput with {max(runs)} rules is **{big.rate / small.rate:.2f}**"
                    f" of that with {min(runs)} (per CPU second:"
                    f" {big.cpu_rate / small.cpu_rate:.2f})."]
    return "\n".join(out)


def search(result: SearchResult) -> str:
    built = (f"built in {result.build_s:.0f} s" if result.build_s else
             "reused from an earlier run")
    out = [f"## Search: a store of {result.events:,} events ({built},"
           f" {result.bytes_per_event:.0f} bytes per event with its indexes)", "",
           "| query | first page: rows | first s | median s | all matches: rows | s |"
           " `wallwatch search` wall s |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for q in result.queries:
        out.append(f"| {q.label}: `{q.text}` | {q.rows:,} | {q.first_s:.3f} |"
                   f" {q.median_s:.3f} | {q.all_rows:,} | {q.all_s:.2f} | {_n(q.cli_s, 2)} |")
    return "\n".join(out)


def pipeline_notes(m: Measurement) -> str:
    e = m.extra
    if not e:
        return ""
    return "\n".join([
        "## Full pipeline: what was stored", "",
        f"- caught up (offsets = file sizes, rules cursor = head) at {m.wall:.2f} s;"
        f" parsers drained (idle flush, held records stored) at {_n(e['drained_s'], 2)} s",
        f"- events stored: {_n(e['events'])}; dead letters: {_n(e['dead_letters'])};"
        f" store {e['store_bytes'] / 1e6:.1f} MB = {e['bytes_per_event']:.0f} bytes per event",
    ])
