"""End to end on a real auditd: a non-root user reads, writes, renames, chmods, chowns
and deletes files in a watched client tree; the daemon (a separate process) ingests
auditd's log and `wallwatch search` finds each operation with that user, the absolute
path and, for chmod, the new mode. The fixture leaves the kernel's audit rules and
enabled flag as it found them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.daemon_process import REPO, Daemon, query, wait_for, write_config
from tests.fixtures.auditd import (
    AuditDaemon,
    AuditUnavailable,
    audit_status,
    ensure_user,
    make_traversable,
    run_as,
)
from tests.sources.auditd_helpers import run_file

USER = "wwaudit"
OPS = """
set -e
cd {acme}
cat notes.txt > /dev/null
echo more >> notes.txt
mv notes.txt notes-2.txt
chmod 0754 notes-2.txt
chown {user}:{user} notes-2.txt
rm notes-2.txt
"""


def wallwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def caught_up(db: Path, source: str, log: Path) -> bool:
    """Everything up to the end of the log is stored and no record is held back."""
    rows = query(db, "SELECT state FROM source_state WHERE name=?", (source,))
    if not rows:
        return False
    state = orjson.loads(rows[0][0])
    pending = ((state.get("parser") or {}).get("join") or {}).get("pending")
    return bool(state["tail"].get("offset") == log.stat().st_size and not pending)


def _start(workdir: Path) -> AuditDaemon:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    try:
        return AuditDaemon(workdir).start()
    except AuditUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditDaemon]:
    daemon = _start(tmp_path / "audit")
    try:
        yield daemon
    finally:
        daemon.stop()  # safe when the test stopped it already


def test_the_fixture_keeps_rules_it_did_not_add_and_restores_the_enabled_flag(
        tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    foreign = ("-w", str(tmp_path), "-p", "w", "-k", "someone-else")
    enabled = audit_status().get("enabled")
    subprocess.run(["auditctl", *foreign], check=True, capture_output=True)
    try:
        before = AuditDaemon(tmp_path / "a").rules()
        daemon = _start(tmp_path / "a")
        daemon.watch(tmp_path, "ours")
        assert audit_status().get("pid") == str(daemon.pid)
        daemon.stop()
        daemon.stop()
        assert AuditDaemon(tmp_path / "a").rules() == before
        assert any("someone-else" in rule for rule in before)
        assert audit_status().get("enabled") == enabled and audit_status()["pid"] == "0"
    finally:
        subprocess.run(["auditctl", "-W", *foreign[1:]], capture_output=True)


def test_search_finds_each_file_operation_of_the_user_with_path_and_mode(
        tmp_path: Path, audit: AuditDaemon) -> None:
    user = ensure_user(USER)
    tree = tmp_path / "srv/clients"
    acme = tree / "acme"
    acme.mkdir(parents=True)
    os.chown(acme, user.pw_uid, user.pw_gid)
    (acme / "notes.txt").write_text("acme: quarterly close\n")
    os.chown(acme / "notes.txt", user.pw_uid, user.pw_gid)
    make_traversable(acme)
    rules_before = audit.rules()
    db = tmp_path / "w.db"
    config = write_config(tmp_path / "w.yaml", db,
                          [{"type": "auditd", "name": "audit", "path": str(audit.log)}],
                          staff=f"{{{USER}: [globex]}}", clients=f'["{tree}/{{client}}/**"]')
    try:
        audit.watch(tree, "clients")
        audit.add_rule("always,exit", "-F", "arch=b64", "-S",
                       "chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown", "-F",
                       f"dir={tree}", "-k", "clients-perm")
        with Daemon(config, tmp_path / "daemon.log") as daemon:
            run_as(USER, OPS.format(acme=acme, user=USER))
            audit.wait_for(lambda text: "SYSCALL=unlinkat" in text, what="the delete")
            wait_for(lambda: caught_up(db, "audit", audit.log), 30, "ingest", daemon)
            result = wallwatch(config, "search",
                               f"user.name:{USER} AND event.dataset:auditd.log AND "
                               "event.category:file", "--json", "--limit", "1000")
            assert result.returncode == 0, result.stderr
            assert daemon.stop() == 0
    finally:
        audit.stop()
    assert audit.rules() == rules_before  # only our two rules were removed
    assert audit_status().get("pid") == "0"

    docs = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert docs and all(d["user"]["name"] == USER for d in docs)
    assert all(d["wallwatch"]["client"] == "acme" for d in docs)
    assert all(d["wallwatch"]["assigned"] is False for d in docs)

    def find(action: str, etype: str, path: Path) -> dict[str, object]:
        found = [d for d in docs if d["event"]["action"] == action
                 and d["event"]["type"] == [etype] and d["file"]["path"] == str(path)]
        assert found, f"no {action}/{etype} of {path} in {[d['event'] for d in docs]}"
        return found[0]

    find("opened-file", "access", acme / "notes.txt")                  # read
    find("opened-file", "change", acme / "notes.txt")                  # write
    rename = find("renamed", "change", acme / "notes.txt")
    assert rename["file"]["target_path"] == str(acme / "notes-2.txt")  # type: ignore[index]
    chmod = find("changed-file-permissions-of", "change", acme / "notes-2.txt")
    assert chmod["file"]["mode"] == "0754"  # type: ignore[index]
    chown = find("changed-file-ownership-of", "change", acme / "notes-2.txt")
    assert chown["file"]["owner"] == USER  # type: ignore[index]
    assert chown["file"]["uid"] == str(user.pw_uid)  # type: ignore[index]
    find("deleted", "deletion", acme / "notes-2.txt")
    assert {d["auditd"]["data"]["key"] for d in docs} <= {"clients", "clients-perm"}
    assert all(d["event"]["outcome"] == "success" for d in docs)

    # the same log read directly, as a backtest would: the same file events
    direct = [e for e in run_file(audit.log).events
              if e.user_name == USER and e.category == "file"]
    assert sorted(e.id for e in direct) == sorted(d["event"]["id"] for d in docs)
