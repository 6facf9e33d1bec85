"""Wallwatch's two measured runs: the daemon (full pipeline, from an empty store) and
`wallwatch backtest` (parsers + enrichment + rules, no store)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections import Counter
from pathlib import Path

from bench import firm
from bench.generate import DataSet
from bench.measure import Measurement, run

REPO = Path(__file__).resolve().parent.parent
# `python -m monitor` from the checkout: the package, whatever the venv's entry point says
WALLWATCH = ("-m", "monitor")


class StoreWatch:
    """Looks into the daemon's store (read-only) to tell when it has caught up."""

    def __init__(self, db: Path, sizes: dict[str, int]) -> None:
        self.db, self.sizes = db, sizes
        self.conn: sqlite3.Connection | None = None

    def _rows(self, sql: str) -> list[tuple[object, ...]]:
        if self.conn is None:
            if not self.db.exists():
                return []
            self.conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return self.conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # schema not there yet, or busy
            return []

    def caught_up(self) -> bool:
        """Every file read to its end and stored, and the rules have seen every stored
        event (the source_state offsets equal the file sizes; the rules cursor is the
        head)."""
        rows = self._rows("SELECT name, json_extract(CAST(state AS TEXT), '$.tail.offset')"
                          " FROM source_state")
        offsets = {str(name): off for name, off in rows}
        if any(offsets.get(name) != size for name, size in self.sizes.items()):
            return False
        return self._rules_at_head()

    def _rules_at_head(self) -> bool:
        head = self._rows("SELECT max(seq) FROM events")
        cursor = self._rows("SELECT position FROM cursors WHERE name = 'rules'")
        return bool(head and cursor and head[0][0] is not None and cursor[0][0] == head[0][0])

    def drained(self) -> bool:
        """Caught up and the parsers hold nothing back (Samba's open access groups,
        sshd's pending attempts, auditd's incomplete events are released after the
        daemon's idle flush, 2 s after the last line)."""
        rows = self._rows(
            "SELECT coalesce(json_array_length(s, '$.parser.access.groups'), 0)"
            " + (json_type(s, '$.parser.header') IS NOT NULL AND"
            "    json_type(s, '$.parser.header') <> 'null')"
            " + coalesce(json_array_length(s, '$.parser.pending'), 0)"
            " + coalesce(json_array_length(s, '$.parser.join.pending'), 0)"
            " FROM (SELECT CAST(state AS TEXT) AS s FROM source_state)")
        return bool(rows) and all(r[0] == 0 for r in rows) and self.caught_up()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def daemon(data: DataSet, work: Path, python: str, timeout: float) -> Measurement:
    """`wallwatch run` over the three files from an empty store, until caught up."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = work / "store" / "wallwatch.db"
    config = work / "wallwatch.yaml"
    config.write_text(firm.config_text(data.files, db, data.staff()),
                      encoding="utf-8")
    watch = StoreWatch(db, {kind: path.stat().st_size for kind, path in data.files.items()})
    drained_at: list[float] = []
    t0 = time.perf_counter()

    def grace() -> bool:
        if watch.drained():
            drained_at.append(time.perf_counter() - t0)
            return True
        return False

    try:
        fin = run([python, *WALLWATCH, "-c", str(config), "run"], work / "stdout.txt",
                  work / "stderr.txt", cwd=REPO, until=watch.caught_up, grace=grace,
                  timeout=timeout, poll=0.1)
    finally:
        watch.close()
    m = Measurement("Wallwatch full pipeline", data.total_lines, fin.ready or fin.wall,
                    fin.cpu, fin.rss_mb)
    if fin.ready is None:
        m.ok = False
        m.note = ("timed out" if fin.timed_out else f"exited {fin.status}") + \
            f": see {work / 'stderr.txt'}"
        return m
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        m.by_rule = {str(r): int(n) for r, n in conn.execute(
            "SELECT rule_id, count(*) FROM alerts GROUP BY rule_id ORDER BY rule_id")}
        events = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        dead = int(conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0])
    finally:
        conn.close()
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    m.alerts = sum(m.by_rule.values())
    m.extra = {"events": events, "dead_letters": dead, "store_bytes": size,
               "bytes_per_event": size / events if events else 0.0,
               "drained_s": drained_at[0] if drained_at else float("nan"),
               "exit_status": fin.status}
    return m


def backtest(data: DataSet, work: Path, python: str, rules: Path | None = None,
             name: str = "Wallwatch rules only", files: list[Path] | None = None,
             timeout: float = 3600) -> Measurement:
    """`wallwatch backtest FILES`: the same parsers, enrichment and rules, no store."""
    work.mkdir(parents=True, exist_ok=True)
    files = files or list(data.files.values())
    argv = [python, *WALLWATCH, "-c", str(data.config), "backtest", *map(str, files)]
    if rules is not None:
        argv += ["--rules", str(rules)]
    fin = run(argv, work / "alerts.txt", work / "stderr.txt", cwd=REPO, timeout=timeout)
    lines = sum(data.lines[k] for k, p in data.files.items() if p in files)
    m = Measurement(name, lines, fin.wall, fin.cpu, fin.rss_mb)
    if fin.status != 0:
        m.ok, m.note = False, f"exited {fin.status}: see {work / 'stderr.txt'}"
        return m
    # "2026-11-16 13:16:47  [high] wall.cross-client-access  user.name=… id=…"
    counts: Counter[str] = Counter()
    for line in (work / "alerts.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) > 3:
            counts[parts[3]] += 1
    m.by_rule = dict(sorted(counts.items()))
    m.alerts = sum(counts.values())
    return m

