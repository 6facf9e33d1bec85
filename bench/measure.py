"""Run one command as its own process and measure it: wall time, CPU seconds (user +
sys, from wait4's rusage, so the process's own and its reaped children's) and peak
RSS (ru_maxrss)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measurement:
    name: str
    lines: int  # input lines the command had to read
    wall: float  # seconds, until done (or until the predicate said so)
    cpu: float  # user + sys seconds
    rss_mb: float  # peak resident set, MiB
    alerts: int | None = None
    by_rule: dict[str, int] = field(default_factory=dict)
    ok: bool = True
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Input lines per second of wall time."""
        return self.lines / self.wall if self.wall > 0 else 0.0

    @property
    def cpu_rate(self) -> float:
        """Input lines per CPU second: the rate on an idle machine with one core each."""
        return self.lines / self.cpu if self.cpu > 0 else 0.0


@dataclass
class Finished:
    wall: float
    cpu: float
    rss_mb: float
    status: int  # exit code, or -signal
    ready: float | None = None  # when `until` first held, seconds after start
    timed_out: bool = False


def run(argv: Sequence[str], stdout: Path, stderr: Path, cwd: Path | None = None,
        until: Callable[[], bool] | None = None, timeout: float = 3600.0,
        poll: float = 0.05, grace: Callable[[], bool] | None = None,
        grace_timeout: float = 30.0) -> Finished:
    """Start `argv`; without `until`, wait for it to exit. With `until` (a daemon): poll
    it every `poll` s; once it holds, note the time, wait (at most `grace_timeout`) for
    `grace` if given, then SIGTERM and wait for the exit."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=cwd)
    ready: float | None = None
    timed_out = False
    status = rusage = None
    try:
        if until is not None:
            deadline = t0 + timeout
            while True:
                pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:  # it exited by itself: a failure for a daemon
                    status, rusage = st, ru
                    break
                if ready is None and until():
                    ready = time.perf_counter() - t0
                    grace_end = time.perf_counter() + grace_timeout
                    while grace is not None and not grace() and time.perf_counter() < grace_end:
                        time.sleep(poll)
                    os.kill(proc.pid, signal.SIGTERM)
                    break
                if time.perf_counter() > deadline:
                    timed_out = True
                    os.kill(proc.pid, signal.SIGTERM)
                    break
                time.sleep(poll)
        if status is None:
            try:  # the whole run, or (SIGTERM sent) the shutdown
                _, status, rusage = _wait4(proc.pid, timeout if until is None else 60.0)
            except TimeoutError:
                os.kill(proc.pid, signal.SIGKILL)
                _, status, rusage = os.wait4(proc.pid, 0)
                timed_out = True
    finally:
        if status is None:  # an exception above: never leave the child behind
            os.kill(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    wall = time.perf_counter() - t0
    assert rusage is not None
    return Finished(wall=wall, cpu=rusage.ru_utime + rusage.ru_stime,
                    rss_mb=rusage.ru_maxrss / 1024, status=proc.returncode, ready=ready,
                    timed_out=timed_out)


def _wait4(pid: int, timeout: float) -> tuple[int, int, resource.struct_rusage]:
    deadline = time.perf_counter() + timeout
    while True:
        got, status, rusage = os.wait4(pid, os.WNOHANG)
        if got:
            return got, status, rusage
        if time.perf_counter() > deadline:
            raise TimeoutError
        time.sleep(0.02)
