"""Headless Chromium (Debian package `chromium`): HTML → PDF, and screenshots.

Chromium runs with a throw-away profile directory and with everything that
would reach out to the network at start (component updates, sync, background
networking) switched off; the report page itself may load nothing (its
Content-Security-Policy). `--no-sandbox` because the daemon's host runs reports
as root, where Chromium's sandbox refuses to start.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
TIMEOUT = 120.0


class ChromiumUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Run:
    returncode: int
    log: str  # stderr: with logging on, page console messages appear as `CONSOLE` lines

    def console(self) -> list[str]:
        return [line for line in self.log.splitlines() if ":CONSOLE" in line]


def find() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def run(page: Path, *args: str, timeout: float = TIMEOUT) -> Run:
    """Open the local file `page` in headless Chromium with extra `args`."""
    exe = find()
    if exe is None:
        raise ChromiumUnavailable("Chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="wallwatch-chromium-") as profile:
        proc = subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             *args, page.resolve().as_uri()],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    return Run(proc.returncode, proc.stderr.decode("utf-8", "replace"))


def print_pdf(page: Path, out: Path) -> Run:
    result = run(page, f"--print-to-pdf={out.resolve()}", "--no-pdf-header-footer")
    if result.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise ChromiumUnavailable(f"Chromium could not print {page} (exit {result.returncode})")
    return result


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2000) -> Run:
    return run(page, f"--screenshot={out.resolve()}", f"--window-size={width},{height}")
