"""`wallwatch doctor` against real temp set-ups: files, smb.conf read by the real testparm and
checked against the installed full_audit.so, real users and permissions."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.doctor_findings import Status
from monitor.samba_conf import OPS_4_17, find_full_audit_library, ops_from_library
from tests.doctor_helpers import Host, lines
from tests.fixtures.auditd import ensure_user, make_traversable

needs_samba = pytest.mark.skipif(shutil.which("testparm") is None,
                                 reason="Samba is not installed (apt-get install samba)")


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


@needs_samba
def test_a_good_host_passes_with_exit_code_0(host: Host) -> None:
    done = host.cli()
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "FAIL" not in out
    for check in ("config:", "rules:", "store:", "source smb:", "clock vs smb:",
                  "smb.conf syntax:", "smb.conf [clients]:", "timezone:"):
        assert f"OK    {check}" in out, out
    assert out.rstrip().splitlines()[-1].startswith("doctor: ")


@needs_samba
def test_the_shipped_snippet_passes_every_smb_conf_check(host: Host) -> None:
    samba = [f for f in host.doctor() if f.check.startswith("smb.conf")]
    assert samba and all(f.status is Status.OK for f in samba), [f.line() for f in samba]


@needs_samba
def test_open_and_pread_are_flagged_with_their_replacements(host: Host) -> None:
    host.write_smb_conf({"full_audit:success = connect disconnect create_file openat close "
                         "pread_recv": "full_audit:success = connect disconnect open pread"})
    done = host.cli()
    assert done.returncode == 1
    fails = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert any("'open'" in line and "never logs" in line
               and "fix: replace 'open' with openat create_file" in line for line in fails), fails
    assert any("'pread'" in line and "fix: replace 'pread' with pread_recv" in line
               for line in fails), fails


@needs_samba
def test_an_unknown_operation_name_fails_and_suggests_the_right_one(host: Host) -> None:
    host.write_smb_conf({"full_audit:failure = connect": "full_audit:failure = conect"})
    fails = lines(host.doctor(), Status.FAIL)
    assert len(fails) == 1, fails
    assert "smb.conf [clients]" in fails[0] and "'conect' (did you mean connect" in fails[0]
    assert "every tree connect to [clients] fails" in fails[0]


@needs_samba
def test_a_prefix_different_from_the_sources_fails(host: Host) -> None:
    host.write_config(prefix="%u|%I")
    fails = lines(host.doctor(), Status.FAIL)
    assert any("full_audit:prefix is '%u|%I|%m|%S'" in f and "prefix: \"%u|%I|%m|%S\"" in f
               for f in fails), fails


@needs_samba
def test_samba_renaming_its_own_log_is_a_warning(host: Host) -> None:
    host.write_smb_conf({"max log size = 0": "max log size = 1000"})
    warnings = lines(host.doctor(), Status.WARN)
    assert any("max log size = 1000" in w and ".old" in w for w in warnings), warnings


@needs_samba
def test_the_library_table_matches_the_operations_samba_accepts(tmp_path: Path) -> None:
    library = find_full_audit_library()
    assert library is not None
    ops = ops_from_library(library.read_bytes())
    assert ops is not None and ops[:2] == ("connect", "disconnect")
    # merged into longer strings by the linker, so `strings` alone would miss them
    assert {"connect", "open", "read", "write"} <= set(ops)
    from tests.fixtures.smbd import AUDIT_OPS

    assert set(AUDIT_OPS) <= set(ops)
    if ops != OPS_4_17:
        pytest.skip(f"installed Samba's table differs from 4.17's ({len(ops)} names)")


def test_a_missing_smb_conf_with_a_samba_source_fails(host: Host) -> None:
    host.smb_conf.unlink()
    fails = lines(host.doctor(), Status.FAIL)
    assert any(f.startswith("FAIL  smb.conf:") and "--smb-conf" in f for f in fails), fails


@needs_samba
def test_a_log_the_service_user_cannot_read_fails(host: Host) -> None:
    ensure_user("wwdoctor")
    host.log.chmod(0o600)  # root:root 0600: root reads it, the service user cannot
    fails = lines(host.doctor(user="wwdoctor"), Status.FAIL)
    assert any("source smb:" in f and "user wwdoctor cannot read" in f and "adm" in f
               for f in fails), fails


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A work dir outside /tmp/pytest-of-root, whose 0700 mode any pytest session starting
    meanwhile (another user of this machine) puts back, shutting a non-root user out."""
    path = Path(tempfile.mkdtemp(prefix="wallwatch-doctor-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_samba
def test_run_as_an_unprivileged_user_an_unreadable_log_fails(outside_tmp: Path) -> None:
    ensure_user("wwdoctor")
    host = Host(outside_tmp)
    make_traversable(host.root)
    for path in (host.config, host.smb_conf):
        path.chmod(0o644)
    shutil.chown(host.store.parent, "wwdoctor")
    host.log.chmod(0o600)
    done = host.cli(user="wwdoctor")
    assert done.returncode == 1, done.stdout + done.stderr
    assert any(line.startswith("FAIL  source smb: cannot read") and "Permission denied" in line
               for line in done.stdout.splitlines()), done.stdout
    assert "OK    store:" in done.stdout


def test_a_missing_log_fails_with_how_to_make_smbd_write_it(host: Host) -> None:
    host.log.unlink()
    fails = lines(host.doctor(), Status.FAIL)
    assert any("does not exist" in f and "full_audit:1@" in f for f in fails), fails


def test_a_log_not_written_for_days_is_a_warning_not_a_failure(host: Host) -> None:
    old = (datetime.now(UTC) - timedelta(days=3)).timestamp()
    os.utime(host.log, (old, old))
    findings = host.doctor()
    assert any("not growing" in w for w in lines(findings, Status.WARN))
    assert not any("source smb" in f for f in lines(findings, Status.FAIL))


def test_records_from_the_future_mean_a_wrong_clock_or_timezone(host: Host) -> None:
    host.write_log(datetime.now(UTC) + timedelta(hours=8), name="later.xlsx")
    fails = lines(host.doctor(), Status.FAIL)
    assert any(f.startswith("FAIL  clock vs smb:") and "ahead" in f and "timezone:" in f
               for f in fails), fails


def test_a_broken_rule_fails_with_its_location(host: Host) -> None:
    rules = host.root / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("id: wall.broken\ntitle: x\nseverity: hgih\n"
                                       "kind: match\nwhen: {event.category: file}\n")
    host.write_config(extra=f"rules: {{paths: [{rules}]}}\n")
    done = host.cli()
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if x.startswith("FAIL  rules:"))
    assert "broken.yaml:" in line and "fix: correct it at" in line


def test_a_broken_config_fails_with_its_location_and_the_other_checks_still_run(
        host: Host) -> None:
    host.config.write_text(host.config.read_text() + "bogus: 1\n")
    done = host.cli()
    assert done.returncode == 1
    assert "FAIL  config:" in done.stdout and "unknown key 'bogus'" in done.stdout
    assert "smb.conf" in done.stdout  # smb.conf is checked without a config


def test_a_missing_store_directory_fails(host: Host) -> None:
    shutil.rmtree(host.store.parent)
    fails = lines(host.doctor(), Status.FAIL)
    assert any(f.startswith("FAIL  store:") and "tmpfiles" in f for f in fails), fails


def test_an_existing_store_is_checked_by_taking_its_write_lock(host: Host) -> None:
    import sqlite3

    sqlite3.connect(host.store).execute("CREATE TABLE t (x)").connection.commit()
    store = next(f for f in host.doctor() if f.check == "store")
    assert store.status is Status.OK and "is writable" in store.detail
