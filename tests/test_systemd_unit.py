"""The shipped systemd unit, sysusers.d and tmpfiles.d files, checked by systemd's own tools.

The machine does not run systemd as PID 1, but systemd-analyze (verify, and security with
--offline, systemd ≥ 252), systemd-sysusers --root and systemd-tmpfiles --root work offline.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon_process import count, wait_for, write_config

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "wallwatch.service"
SYSUSERS = REPO / "systemd" / "wallwatch.sysusers"
TMPFILES = REPO / "systemd" / "wallwatch.tmpfiles"
INSTALLED_AT = "/opt/wallwatch/bin/wallwatch"  # where the unit expects the venv's script
MAX_EXPOSURE = 2.0

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None,
                                   reason="systemd-analyze not installed (apt-get install systemd)")


def _version() -> int:
    if ANALYZE is None:
        return 0
    out = subprocess.run([ANALYZE, "--version"], capture_output=True, text=True).stdout
    match = re.match(r"systemd (\d+)", out)
    return int(match.group(1)) if match else 0


def settings(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of the [Service] section, in order (keys may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60}
    match = re.fullmatch(r"(\d+)\s*(ms|s|sec|min|m)?", value)
    assert match, f"unexpected time span {value!r}"
    return int(match.group(1)) * units[match.group(2) or "s"]


def installable_copy(tmp_path: Path, name: str = "wallwatch.service",
                     text: str | None = None) -> Path:
    """The unit with ExecStart pointing at this checkout's `wallwatch` script: verify
    checks that the executable exists, and nothing is installed under /opt here."""
    script = Path(sys.executable).with_name("wallwatch")
    if not script.exists():
        script = tmp_path / "wallwatch"
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o755)
    unit = tmp_path / name
    unit.write_text((text or UNIT.read_text()).replace(INSTALLED_AT, str(script)))
    return unit


def exposure(unit: Path) -> float:
    assert ANALYZE is not None
    done = subprocess.run([ANALYZE, "security", "--offline=true", str(unit)],
                          capture_output=True, text=True, cwd=unit.parent)
    assert done.returncode == 0, done.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert match, done.stdout[-2000:]
    return float(match.group(1))


def test_the_unit_is_a_notify_service_with_a_watchdog_reload_and_a_drain_timeout() -> None:
    s = settings(UNIT.read_text())
    assert s["Type"] == ["notify"]
    assert s["NotifyAccess"] == ["main"]
    assert seconds(s["WatchdogSec"][0]) >= 10
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    # the drain takes up to 10 s: SIGKILL must not come before it is done
    assert seconds(s["TimeoutStopSec"][0]) >= 15
    assert s["ExecStart"][0].startswith(INSTALLED_AT + " ")
    assert s["ExecStart"][0].endswith(" run")


def test_the_unit_runs_as_its_own_user_reading_logs_through_a_group_not_a_capability() -> None:
    s = settings(UNIT.read_text())
    assert s["User"] == ["wallwatch"]
    assert s["SupplementaryGroups"] == ["adm"]
    assert s["CapabilityBoundingSet"] == [""]
    assert s["AmbientCapabilities"] == [""]
    assert s["NoNewPrivileges"] == ["yes"]


def test_only_the_state_dir_is_writable_and_everything_else_read_only() -> None:
    s = settings(UNIT.read_text())
    assert s["ProtectSystem"] == ["strict"]
    assert s["ReadWritePaths"] == ["/var/lib/wallwatch"]
    assert s["StateDirectory"] == ["wallwatch"]
    assert s["StateDirectoryMode"] == ["0700"]
    assert s["PrivateTmp"] == ["yes"]
    assert s["ProtectHome"] == ["yes"]
    assert "@system-service" in s["SystemCallFilter"]
    assert s["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert "ReadOnlyPaths" not in s and "InaccessiblePaths" not in s


@needs_analyze
def test_systemd_analyze_verify_finds_nothing_to_complain_about(tmp_path: Path) -> None:
    assert ANALYZE is not None
    unit = installable_copy(tmp_path)
    done = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # warnings (unknown keys …) also fail


@needs_analyze
def test_systemd_analyze_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    assert ANALYZE is not None
    broken = UNIT.read_text().replace("Type=notify", "Type=notfy")
    unit = installable_copy(tmp_path, text=broken)
    done = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert "notfy" in done.stderr


@needs_analyze
@pytest.mark.skipif(_version() < 252, reason="systemd-analyze security --offline needs "
                                             "systemd 252 or newer")
def test_security_exposure_is_at_most_two(tmp_path: Path) -> None:
    assert ANALYZE is not None
    unit = installable_copy(tmp_path)
    assert exposure(unit) <= MAX_EXPOSURE
    # --threshold counts in tenths: its exit code agrees
    done = subprocess.run([ANALYZE, "security", "--offline=true",
                           f"--threshold={int(MAX_EXPOSURE * 10)}", str(unit)],
                          capture_output=True, cwd=tmp_path)
    assert done.returncode == 0


@needs_analyze
@pytest.mark.skipif(_version() < 252, reason="systemd-analyze security --offline needs "
                                             "systemd 252 or newer")
def test_the_documented_cap_dac_read_search_drop_in_stays_within_two(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert "AmbientCapabilities=CAP_DAC_READ_SEARCH" in text  # documented in a comment
    widened = text
    for key in ("CapabilityBoundingSet", "AmbientCapabilities"):
        widened = widened.replace(f"\n{key}=\n", f"\n{key}=CAP_DAC_READ_SEARCH\n")
    assert widened != text
    plain = exposure(installable_copy(tmp_path))
    wide = exposure(installable_copy(tmp_path, "wide.service", widened))
    assert plain < wide <= MAX_EXPOSURE


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None
                    or shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-sysusers/systemd-tmpfiles not installed")
def test_sysusers_and_tmpfiles_create_the_user_and_a_private_state_dir(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "group").write_text("root:x:0:\nadm:x:4:\n")
    for cmd, conf in ((["systemd-sysusers"], SYSUSERS),
                      (["systemd-tmpfiles", "--create"], TMPFILES)):
        done = subprocess.run([*cmd, f"--root={root}", "-"], input=conf.read_bytes(),
                              capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
    users = {line.split(":")[0]: line.split(":") for line in
             (root / "etc" / "passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in
              (root / "etc" / "group").read_text().splitlines()}
    user = users["wallwatch"]
    uid, gid, home, shell = int(user[2]), int(user[3]), user[5], user[6]
    assert uid < 1000 and shell.endswith("nologin") and home == "/var/lib/wallwatch"
    assert "wallwatch" in groups["adm"][3].split(",")
    assert int(groups["wallwatch"][2]) == gid
    state = (root / "var" / "lib" / "wallwatch").stat()
    assert stat.S_IMODE(state.st_mode) == 0o700
    assert (state.st_uid, state.st_gid) == (uid, gid)
    conf = (root / "etc" / "wallwatch").stat()
    assert stat.S_IMODE(conf.st_mode) == 0o750
    assert (conf.st_uid, conf.st_gid) == (0, gid)
    # and the unit's identity and state dir are the ones these files create
    s = settings(UNIT.read_text())
    assert s["User"] == ["wallwatch"] and s["Group"] == ["wallwatch"]
    assert f"/var/lib/{s['StateDirectory'][0]}" == home


PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1  # Linux 6.3+: what MemoryDenyWriteExecute= does
_MDWE_RUN = f"""
import ctypes, sys
if ctypes.CDLL(None, use_errno=True).prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0):
    sys.exit(99)
from monitor.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _mdwe_supported() -> bool:
    probe = subprocess.run([sys.executable, "-c", _MDWE_RUN, "--version"], capture_output=True)
    return probe.returncode != 99


@pytest.mark.skipif(not hasattr(ctypes, "CDLL") or not _mdwe_supported(),
                    reason="this kernel has no PR_SET_MDWE (Linux < 6.3)")
def test_the_daemon_stores_events_when_writable_memory_cannot_become_executable(
        tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes must not break Python, sqlite, orjson or inotify (ctypes)."""
    audit = tmp_path / "audit.log"
    audit.touch()
    db = tmp_path / "w.db"
    config = write_config(tmp_path / "w.yaml", db, [{"type": "samba", "path": str(audit),
                                                      "prefix": "%u|%I|%m|%S"}])
    log = tmp_path / "daemon.log"
    with log.open("ab") as err:
        proc = subprocess.Popen([sys.executable, "-c", _MDWE_RUN, "-c", str(config), "run"],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for(db.exists, 30, "the store")
        with audit.open("a") as f:
            f.write("[2026/11/27 14:06:10.717980,  1] ../../source3/modules/"
                    "vfs_full_audit.c:643(do_log)\n  alice|127.0.0.1|alice-pc|clients|"
                    "pread_recv|ok|/srv/share/clients/acme/x.xlsx\n")
        wait_for(lambda: count(db) == 1 or proc.poll() is not None, 30, "the event")
        assert proc.poll() is None, log.read_text()[-3000:]
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
