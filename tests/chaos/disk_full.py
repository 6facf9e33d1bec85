"""Disk full on the state volume: the store lives on a small tmpfs that a ballast
file fills while the log keeps growing. The daemon must stop reading, say why
(log, /healthz, a gauge), keep its position, and carry on by itself, losing
nothing, once the ballast is removed.

Mounting needs root (the suite runs as root); the mount is undone in `finally`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.chaos import workload
from tests.chaos.outcome import Outcome
from tests.chaos.rig import Rig, metric, metrics_url, wait
from tests.daemon_process import query
from tests.fixtures.es_standin import EsStandin
from tests.fixtures.smtp import JsonReceiver

BLOCKED = "wallwatch_store_write_blocked"


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                   check=True, capture_output=True)
    try:
        yield path
    finally:
        done = subprocess.run(["umount", str(path)], capture_output=True)
        if done.returncode != 0:  # something still holds it open: detach it anyway
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(path: Path) -> int:
    """Write a ballast file until the filesystem says ENOSPC; its size."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 512):
            block = b"\0" * chunk
            while True:
                try:
                    n = os.write(fd, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
                written += n
                if n < chunk:
                    break
    finally:
        os.close(fd)
    return written


def healthz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def blocked(rig: Rig) -> float:
    return metric(rig.daemon_log, f'{BLOCKED}{{stage="source:{workload.SOURCE_NAME}"}}')


def disk_full(root: Path, records: int, size: str = "24m", hold: float = 10.0) -> Outcome:
    """The first quarter of the log is stored (and shipped, and notified); the state
    volume is filled; the rest of the log is written; the daemon is watched refusing
    for `hold` seconds; the ballast goes; everything must arrive once, in the store,
    the Elasticsearch stand-in and the webhook."""
    started = time.monotonic()
    with tmpfs(root / "state", size) as state, EsStandin(root / "es") as es, \
            JsonReceiver(root / "hook") as hook:
        rig = Rig(root / "run", store_dir=state, es=es, hook=hook)
        lines = list(workload.lines(records, seed=6))
        first = len(lines) // 4
        rig.log.write_text("".join(lines[:first]))
        out: Outcome
        with rig.daemon() as d:
            wait(rig.drained, 300, "the first quarter", d)
            ballast = state / "ballast"
            out_size = fill(ballast)
            with rig.log.open("a") as f:
                f.write("".join(lines[first:]))
            wait(lambda: blocked(rig) == 1, 300, "the source to report the full store", d)
            full_at = time.monotonic()
            url = metrics_url(rig.daemon_log)
            status, reason = healthz(url)
            position = query(rig.db, "SELECT state FROM source_state WHERE name=?",
                             (workload.SOURCE_NAME,))
            time.sleep(hold)  # it keeps retrying meanwhile; the position must not move
            assert d.alive(), rig.daemon_log.read_text()[-3000:]
            still = query(rig.db, "SELECT state FROM source_state WHERE name=?",
                          (workload.SOURCE_NAME,))
            status_later, _ = healthz(url)
            ballast.unlink()
            freed_at = time.monotonic()
            wait(lambda: blocked(rig) == 0, 120, "the source to take up reading again", d)
            resumed = time.monotonic() - freed_at  # its back-off was at most 30 s
            wait(rig.drained, 300 + records / 100, "the rest once space is back", d)
            after = healthz(url)
            blocked_after = blocked(rig)
            assert d.stop(60) == 0
        ref = rig.reference()
        out = rig.outcome("Disk full on the state volume", f"{records:,} records, tmpfs of "
                          f"{size} filled while the log grows", ref, 1, started)
        log_text = rig.daemon_log.read_text()
        out.seen = {
            "healthz_full": f"{status} {reason.strip()}",
            "healthz_full_later": str(status_later),
            "position_kept": str(position == still),
            "healthz_after": f"{after[0]} {after[1].strip()}",
            "blocked_after": f"{blocked_after:g}",
            "logged": str("store full" in log_text and "reading paused" in log_text),
            "logged_resume": str("takes writes again" in log_text),
        }
        out.notes += [f"store refused writes for {freed_at - full_at:.0f} s "
                      f"(ballast {out_size:,} bytes); writing again {resumed:.0f} s after the "
                      "space came back (the next retry of its back-off)",
                      f"/healthz while full: {status}"]
        return out
