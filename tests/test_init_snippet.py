"""The Samba snippet `wallwatch init` writes: the operation lists deploy/samba ships, checked
against the installed Samba's full_audit.so; names that break every tree connect or are never
logged are left out; smb.conf with the snippet included passes doctor's checks where smb.conf
alone fails them; the admin's other debug classes survive."""

from __future__ import annotations

import subprocess
from pathlib import Path

from monitor.config import load_config
from monitor.doctor_findings import Status
from monitor.doctor_samba import check_smb_conf
from monitor.init_writer import FAILURE_OPS, SUCCESS_OPS
from monitor.samba_conf import class_log_files, parse_smb_conf, split_list, valid_ops
from tests.daemon_process import REPO
from tests.test_init import init, snippet_value

DEPLOY_SNIPPET = REPO / "deploy" / "samba" / "smb.conf.snippet"


def test_the_operation_lists_are_the_ones_deploy_samba_ships_and_this_samba_knows() -> None:
    shipped = parse_smb_conf(str(DEPLOY_SNIPPET))
    assert tuple(split_list(shipped.get("clients", "full_audit:success"))) == SUCCESS_OPS
    assert tuple(split_list(shipped.get("clients", "full_audit:failure"))) == FAILURE_OPS
    valid, _origin = valid_ops()
    assert set(SUCCESS_OPS) | set(FAILURE_OPS) <= valid


def share_conf(tmp: Path, options: str, log_level: str = "1") -> Path:
    share = tmp / "srv" / "clients"
    (share / "acme").mkdir(parents=True)
    conf = tmp / "smb.conf"
    conf.write_text(f"[global]\n  log level = {log_level}\n  max log size = 0\n"
                    f"[clients]\n  path = {share}\n{options}")
    return conf


def test_names_that_break_or_never_log_are_dropped_and_the_result_passes_doctor(
        tmp_path: Path) -> None:
    conf = share_conf(tmp_path, "  vfs objects = full_audit\n  full_audit:prefix = %u|%I\n"
                                "  full_audit:success = connect open pread fsync badop\n"
                                "  full_audit:failure = all\n")
    done = init(tmp_path, "--yes", "--smb-conf", str(conf),
                "--samba-log", str(tmp_path / "audit.log"))
    assert done.returncode == 0, done.stdout + done.stderr
    snippet_path = tmp_path / "wallwatch-audit.conf"
    snippet = snippet_path.read_text()
    success = snippet_value(snippet, "clients", "full_audit:success").split()
    assert success == [*SUCCESS_OPS, "fsync"]  # what the admin logged already stays
    assert snippet_value(snippet, "clients", "full_audit:failure").split() == list(FAILURE_OPS)
    assert "# Left out (unknown to this Samba or never logged): badop open pread" in snippet
    assert snippet_value(snippet, "clients", "full_audit:prefix") == "%u|%I"  # kept
    config = load_config(tmp_path / "w.yaml")
    [samba] = [s for s in config.sources if s.type == "samba"]
    assert samba.options["prefix"] == "%u|%I"

    def failures(path: Path) -> list[str]:
        return [f.line() for f in check_smb_conf(str(path), config) if f.status is Status.FAIL]

    assert any("'badop'" in line for line in failures(conf))
    combined = tmp_path / "combined.conf"
    combined.write_text(conf.read_text() + f"include = {snippet_path}\n")
    assert failures(combined) == []
    parsed = subprocess.run(["testparm", "-s", "--suppress-prompt", str(combined)],
                            capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr
    assert "full_audit:success = connect disconnect create_file" in parsed.stdout


def test_the_admins_other_log_classes_survive_and_the_audit_goes_to_its_own_files(
        tmp_path: Path) -> None:
    conf = share_conf(tmp_path, "", log_level="2 passdb:5 full_audit:3")
    audit, auth = tmp_path / "log" / "audit.log", tmp_path / "log" / "auth.log"
    done = init(tmp_path, "--yes", "--smb-conf", str(conf), "--samba-log", str(audit),
                "--samba-auth-log", str(auth))
    assert done.returncode == 0, done.stdout + done.stderr
    level = snippet_value((tmp_path / "wallwatch-audit.conf").read_text(), "global",
                          "log level")
    assert class_log_files(level) == {"all": (2, None), "passdb": (5, None),
                                      "full_audit": (1, str(audit)),
                                      "auth_audit": (3, str(auth)),
                                      "auth_json_audit": (3, str(auth))}
    config = load_config(tmp_path / "w.yaml")
    assert {s.type: s.path for s in config.sources} == {"samba": str(audit),
                                                        "samba_auth": str(auth)}
