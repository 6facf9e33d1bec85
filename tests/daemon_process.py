"""Run `wallwatch run` as a separate process, and look into its store meanwhile."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent


def write_config(path: Path, store: Path, sources: list[dict[str, Any]],
                 staff: str = "{alice: [acme], bob: [globex]}",
                 clients: str = '["/srv/share/clients/{client}/**"]',
                 extra: str = "") -> Path:
    lines = [
        "timezone: UTC",
        f"store: {{path: {store}}}",
        "sources:",
    ]
    for src in sources:
        lines.append("  - {" + ", ".join(f"{k}: {orjson.dumps(v).decode()}"
                                           for k, v in src.items()) + "}")
    lines += [f"clients: {{paths: {clients}}}", f"staff: {staff}", extra]
    if "metrics:" not in extra:  # tests run daemons side by side: any free port
        lines.append('metrics: {listen: "127.0.0.1:0"}')
    path.write_text("\n".join(lines) + "\n")
    return path


class Daemon:
    """One `python -m monitor run` child process."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "-c", str(self.config), "run"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(10)

    def stop(self, timeout: float = 15) -> int:
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.alive():
            self.kill()


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # schema not there yet
        return []
    finally:
        conn.close()


def count(db: Path, table: str = "events") -> int:
    rows = query(db, f"SELECT count(*) FROM {table}")
    return int(rows[0][0]) if rows else 0


def caught_up(db: Path, source: str, path: Path) -> bool:
    """The source has stored everything up to the end of its file and holds nothing back."""
    rows = query(db, "SELECT state FROM source_state WHERE name=?", (source,))
    if not rows:
        return False
    state = orjson.loads(rows[0][0])
    parser_state = state.get("parser") or {}
    held = (parser_state.get("access") or {}).get("groups") or parser_state.get("header")
    return bool(state["tail"].get("offset") == path.stat().st_size and not held)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str,
             daemon: Daemon | None = None, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if daemon is not None and not daemon.alive():
            raise AssertionError(f"daemon exited while waiting for {what}: "
                                 f"{daemon.log.read_text()[-3000:]}")
        time.sleep(every)
    log = daemon.log.read_text()[-3000:] if daemon else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")
