"""Fault scenarios on the way in: the log rotated under a writer going full speed,
and log clocks that go backwards, jump to the far future or change time zone.
Each returns an Outcome (see outcome.py)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.chaos import workload
from tests.chaos.outcome import Outcome, tally
from tests.chaos.rig import Rig, metric, wait
from tests.daemon_process import query

ROTATED = "{log}.{n}"  # never reused, like logrotate's dateext: no generation overwritten


def _rotation_line(i: int) -> str:
    ts = workload.START + timedelta(milliseconds=i)
    return workload.syslog_line(
        ts, f"staff00|10.0.1.1|STAFF00-PC|clients|unlinkat|ok|{workload.ROOT}/c00/rot/{i}")


class Writer(threading.Thread):
    """Appends lines as fast as it can (one write each, like a logger) and rotates
    the file every `per_generation` lines: odd rotations rename it and create a new
    one (the writer keeps writing to the old file for a few lines, as a daemon does
    until it reopens), even ones copy it and truncate it in place."""

    def __init__(self, log: Path, rotations: int, per_generation: int) -> None:
        super().__init__(name="writer", daemon=True)
        self.log, self.rotations, self.per_generation = log, rotations, per_generation
        self.total = (rotations + 1) * per_generation
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._write()
        except BaseException as exc:  # reported by the scenario
            self.error = exc

    def _write(self) -> None:
        f = self.log.open("a", encoding="utf-8")
        reopen_at = -1
        for i in range(self.total):
            f.write(_rotation_line(i))
            f.flush()
            if i == reopen_at:
                f.close()
                f = self.log.open("a", encoding="utf-8")
            n = (i + 1) // self.per_generation
            if (i + 1) % self.per_generation or n > self.rotations:
                continue
            rotated = Path(ROTATED.format(log=self.log, n=n))
            if n % 2:  # logrotate `create`: rename, new file, the writer reopens later
                os.rename(self.log, rotated)
                self.log.touch()
                reopen_at = i + 25
            else:  # logrotate `copytruncate`; the writer holds still meanwhile (see docs)
                shutil.copyfile(self.log, rotated)
                os.truncate(self.log, 0)
        f.close()


def rotation(root: Path, rotations: int, per_generation: int) -> Outcome:
    started = time.monotonic()
    rig = Rig(root / "run")
    rig.log.write_text(_rotation_line(-1))  # one line before: the daemon follows the file
    writer = Writer(rig.log, rotations, per_generation)
    with rig.daemon() as d:
        wait(lambda: bool(query(rig.db, "SELECT 1 FROM events LIMIT 1")), 60,
             "the first line", d)
        writer.start()
        writer.join()
        assert writer.error is None, writer.error
        wait(rig.drained, 120 + writer.total / 200, "the daemon to read every generation", d,
             every=0.5)
        assert d.stop(60) == 0
    expected = [f"{workload.ROOT}/c00/rot/{i}" for i in range(-1, writer.total)]
    got = [str(r[0]) for r in query(rig.db, "SELECT s.text FROM events e JOIN strings s"
                                            " ON s.id = e.path_id")]
    out = Outcome("Rotation under a full-speed writer",
                  f"{rotations} rotations (rename+create / copytruncate alternating), "
                  f"{writer.total:,} lines", runs=rig.runs, faults=rotations,
                  events_in=len(expected))
    out.events["store"] = tally(expected, got)
    out.seconds = time.monotonic() - started
    return out


# -- clocks -------------------------------------------------------------------
FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
PROBE_USER = "staff05"  # deletes slowly after the far-future line: see RELIABILITY.md
PROBE_DELETES, PROBE_EVERY = 60, timedelta(minutes=2)


def clock_logs(records: int, seed: int = 5) -> tuple[str, str, datetime]:
    """The workload in parts: as written; the host clock stepped back two hours; the
    host's time zone changed (same instants, written with another UTC offset); one
    line from a far-future clock. Then, after a pause: a probe (one user deleting a
    file every two minutes: no 5-minute window ever holds 50 of them) and the rest
    of the day. Returns the two texts and when the probe starts."""
    part = max(records // 4, 1)
    first = list(workload.records(part, seed))
    back = first[-1][0] - timedelta(hours=2)
    second = list(workload.records(part, seed + 1, start=back))
    new_york = ZoneInfo("America/New_York")
    third = [(ts.astimezone(new_york), body)
             for ts, body in workload.records(part, seed + 2, start=second[-1][0])]
    pre = f"{PROBE_USER}|10.0.1.6|STAFF05-PC|clients"
    future = [(FUTURE, f"{pre}|unlinkat|ok|{workload.ROOT}/c10/future")]
    before = "".join(workload.syslog_line(ts, b) for ts, b in [*first, *second, *third, *future])
    t = probe = third[-1][0]
    after = []
    for k in range(PROBE_DELETES):
        t += PROBE_EVERY
        after.append(workload.syslog_line(t, f"{pre}|unlinkat|ok|{workload.ROOT}/c10/slow-{k}"))
    after += [workload.syslog_line(ts, body)
              for ts, body in workload.records(part, seed + 3, start=t)]
    return before, "".join(after), probe


def clock(root: Path, records: int) -> Outcome:
    """Two daemon runs: the host in Shanghai's time zone reads up to the far-future
    line and goes idle (the rules then evaluate what they held back); stopped, the
    host's zone changed to New York's, the next run reads the rest. The firm's zone
    in the config stays Asia/Shanghai: nothing may depend on the host's."""
    started = time.monotonic()
    rig = Rig(root / "run", timezone="Asia/Shanghai")
    before, after, probe_start = clock_logs(records)
    rig.log.write_text(before, encoding="utf-8")
    with rig.daemon(env={"TZ": "Asia/Shanghai"}) as d:
        wait(rig.drained, 600, "the part up to the far-future line", d, every=0.5)
        late_before = metric(rig.daemon_log, "wallwatch_late_events_total")
        future = metric(rig.daemon_log, "wallwatch_future_events_total")
        assert d.stop(60) == 0
    with rig.log.open("a", encoding="utf-8") as f:
        f.write(after)
    ref = rig.reference(quiet_after=lambda ev: ev.timestamp >= FUTURE)
    with rig.daemon(env={"TZ": "America/New_York"}) as d:
        wait(rig.drained, 600, "the rest", d, every=0.5)
        late = metric(rig.daemon_log, "wallwatch_late_events_total")
        assert d.stop(60) == 0
    out = rig.outcome("Clock: backwards, far future, host time zone change",
                      f"{len(ref.event_ids):,} events; clock stepped back 2 h, a 2099 line, "
                      "host TZ Shanghai → New York between runs", ref, 3, started)
    stored = {bytes(i).hex(): (ts, off) for i, ts, off in query(
        rig.db, "SELECT id, ts, off_hours FROM events WHERE dataset='samba.audit'")}
    differ = sum(1 for i, ts, off in ref.event_times if stored.get(i) != (ts, off))
    # completed by a probe delete (the rest of the day has the user's own bursts)
    probe_end = probe_start + PROBE_DELETES * PROBE_EVERY
    probe = [a for a in ref.alerts if a.rule_id == "wall.mass-delete"
             and a.user_name == PROBE_USER and probe_start < a.timestamp <= probe_end]
    out.notes += [f"{differ} events with another time or off-hours flag than the reference",
                  f"late events (evaluated at once, counted): {late_before:g} in the first run"
                  f" (clock stepped back), {late:g} in the second (after the 2099 line)",
                  f"mass-delete alerts for the slow probe after the 2099 line: {len(probe)}",
                  f"future events (beyond the clock + rules.max_future): {future:g}"]
    out.events["store"].duplicated += differ
    return out
