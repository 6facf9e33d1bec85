"""End to end on real servers: logins against a real sshd (with PAM) and a real smbd,
the daemon (a separate process) ingests their logs, and `wallwatch search` finds
exactly the failed logins, with the right users and 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.daemon_process import REPO, Daemon, query, wait_for, write_config
from tests.fixtures.smbd import SambaServer, connect_user, find_server_processes
from tests.fixtures.sshd import SshServer, ssh_login

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("rsyslogd") is None,
    reason="needs root, unshare and rsyslog (apt-get install -y rsyslog)")

FAILURES = "event.category:authentication AND event.outcome:failure"


def search(config: Path, query_text: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(config), "search", query_text, "--json",
         "--limit", "1000"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def settled(db: Path, source: str, path: Path, holds: Callable[[Any], bool]) -> bool:
    """The source has stored its file to the end and its parser holds nothing back."""
    rows = query(db, "SELECT state FROM source_state WHERE name=?", (source,))
    if not rows or not path.exists():
        return False
    state = orjson.loads(rows[0][0])
    return bool(state["tail"].get("offset") == path.stat().st_size
                and not holds(state.get("parser")))


@pytest.mark.skipif(not Path("/usr/sbin/sshd").exists(),
                    reason="needs openssh-server (apt-get install -y openssh-server)")
def test_search_finds_exactly_the_failed_ssh_logins(tmp_path: Path) -> None:
    server = SshServer(tmp_path / "sshd")
    with server:
        db = tmp_path / "w.db"
        config = write_config(tmp_path / "w.yaml", db, [
            {"type": "sshd", "name": "ssh", "path": str(server.syslog)}])
        with Daemon(config, tmp_path / "daemon.log") as daemon:
            assert ssh_login(server, server.user, password=server.password)
            assert not ssh_login(server, server.user, password="not-the-password")
            assert not ssh_login(server, "nosuchuser", password="whatever")
            assert ssh_login(server, server.user, key=server.client_key)
            # every connection has logged its end
            server.wait_for_log(f"session closed for user {server.user}", 2)
            server.wait_for_log(f"Connection closed by authenticating user {server.user}")
            server.wait_for_log("Connection closed by invalid user nosuchuser")
            wait_for(lambda: settled(db, "ssh", server.syslog,
                                     lambda p: bool((p or {}).get("pending"))),
                     30, "ingest of the sshd log", daemon)
            failures = search(config, FAILURES)
            successes = search(config, "event.category:authentication AND event.outcome:success")
            assert daemon.stop() == 0
    assert find_server_processes(server.conf) == []  # sshd and its children are gone

    assert sorted(d["user"]["name"] for d in failures) == ["nosuchuser", server.user]
    for doc in failures:
        assert doc["source"]["ip"] == "127.0.0.1"
        assert doc["event"]["action"] == "ssh_login" and doc["event"]["dataset"] == "system.auth"
        assert doc["system"]["auth"]["ssh"]["method"] == "password"
    [invalid] = [d for d in failures if d["user"]["name"] == "nosuchuser"]
    assert invalid["system"]["auth"]["ssh"]["invalid_user"] is True
    methods = {d["system"]["auth"]["ssh"]["method"]: d for d in successes}
    assert sorted(methods) == ["password", "publickey"]
    assert methods["publickey"]["ssh"]["key_fingerprint"] == server.client_key.fingerprint


@pytest.mark.skipif(shutil.which("smbd") is None,
                    reason="needs Samba (apt-get install -y samba smbclient)")
def test_search_finds_bobs_wrong_password_smb_login(tmp_path: Path) -> None:
    from smbprotocol.exceptions import LogonFailure  # type: ignore[import-untyped]

    with SambaServer(tmp_path / "samba") as server:
        db = tmp_path / "w.db"
        config = write_config(tmp_path / "w.yaml", db, [
            {"type": "samba_auth", "name": "smbauth", "path": str(server.auth_log)}])
        with Daemon(config, tmp_path / "daemon.log") as daemon:
            connect_user(server, "alice", workstation="ALICE-PC").close()
            with pytest.raises(LogonFailure):
                connect_user(server, "bob", "not-bobs-password", workstation="BOB-PC")
            server.wait_for_auth('"eventId": 4625')  # the JSON line, after the Auth: line
            wait_for(lambda: settled(db, "smbauth", server.auth_log,
                                     lambda p: any(v[3] for v in (p or {}).values())),
                     30, "ingest of the Samba auth log", daemon)
            failures = search(config, FAILURES)
            logons = search(config, "event.action:smb_login")
            assert daemon.stop() == 0

    [bob] = failures
    assert bob["user"]["name"] == "bob" and bob["source"]["ip"] == "127.0.0.1"
    assert bob["event"]["dataset"] == "samba.auth"
    assert bob["samba"]["auth"]["status"] == "NT_STATUS_WRONG_PASSWORD"
    assert bob["samba"]["auth"]["event_id"] == 4625
    assert bob["samba"]["auth"]["workstation"] == "BOB-PC"
    # one event per logon although Samba wrote two lines for each
    assert sorted((d["user"]["name"], d["event"]["outcome"]) for d in logons) == [
        ("alice", "success"), ("bob", "failure")]
