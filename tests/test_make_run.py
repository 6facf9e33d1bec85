"""`make run` on a checkout starts the daemon on the embedded store with no set-up,
and `make event` gives it something to find."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.daemon_process import REPO


def test_make_run_starts_the_daemon_and_make_event_is_found(tmp_path: Path) -> None:
    # run in a copy of the checkout's tracked files, sharing the installed venv
    work = tmp_path / "checkout"
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, work / name)
    (work / ".venv").symlink_to(REPO / ".venv")
    for stamp in (".installed", ".installed-test"):  # the venv is ready: no reinstall
        (REPO / ".venv" / stamp).touch()
    log = (tmp_path / "run.log").open("wb")
    # the dev config's metrics port may be taken by another daemon on this machine
    env = {**os.environ, "PYTHONPATH": str(work)}
    proc = subprocess.Popen(["make", "run", f"PY={sys.executable}"], cwd=work, stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"wallwatch started" not in (tmp_path / "run.log").read_bytes():
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.2)
        assert (work / "var" / "wallwatch.db").exists()
        subprocess.run(["make", "event"], cwd=work, check=True, capture_output=True)
        query = "user.name:bob AND wallwatch.client:acme"
        found = ""
        while "2024年发票汇总.xlsx" not in found and time.monotonic() < deadline + 30:
            time.sleep(0.5)
            found = subprocess.run(
                [str(work / ".venv" / "bin" / "wallwatch"), "-c", "deploy/examples/dev.yaml",
                 "search", query], cwd=work, capture_output=True, text=True, env=env).stdout
        assert "2024年发票汇总.xlsx" in found and "no" in found.split("\n")[1]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    assert "positions saved" in (tmp_path / "run.log").read_text()
