"""End to end with a real directory: slapd's groups client-acme {alice} and
client-globex {bob} are the only source of assignments (the staff table is empty).
The daemon (a separate process) loads them, so bob's read in acme through the real
smbd is a wall breach. alice is then added to client-globex in LDAP; after the
refresh a SIGHUP asks for, her access there is not, and the change itself is an
event. With slapd stopped the daemon keeps — and after a restart still has — the
last good copy, and says so: the outage does not turn every access into a breach."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import smbclient  # type: ignore[import-untyped]

from tests.daemon_process import REPO, Daemon, caught_up, query, wait_for, write_config
from tests.fixtures.slapd import BIND_DN, BIND_PW, SUFFIX, SlapdServer, user_dn
from tests.fixtures.smbd import SambaServer, connect_user


def wallwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def search(config: Path, query_text: str) -> list[dict[str, Any]]:
    result = wallwatch(config, "search", query_text, "--json", "--limit", "1000")
    assert result.returncode == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def read_as(server: SambaServer, user: str, *parts: str) -> None:
    """One SMB session: log in, read the file, log off; wait until smbd logged the end."""
    done = len([r for r in server.audit_records() if r.startswith(f"{user}|")
                and "|disconnect|" in r])
    smb = connect_user(server, user)
    try:
        with smbclient.open_file(smb.unc(*parts), "rb", **smb.opts) as f:
            f.read()
    finally:
        smb.close()
    wait_for(lambda: len([r for r in server.audit_records() if r.startswith(f"{user}|")
                          and "|disconnect|" in r]) > done, 10, f"{user} logged off")


def reads_of(config: Path, user: str, path: Path) -> list[dict[str, Any]]:
    return [d for d in search(config, f"user.name:{user} AND event.action:read")
            if d["file"]["path"] == str(path)]


def assignment_events(db: Path) -> int:
    rows = query(db, "SELECT count(*) FROM events WHERE dataset='wallwatch.assignments'")
    return int(rows[0][0]) if rows else 0


def provider_state(db: Path) -> dict[str, Any]:
    [(state,)] = query(db, "SELECT state FROM source_state WHERE name='assignments.directory'")
    result: dict[str, Any] = orjson.loads(state)
    return result


def test_directory_groups_decide_who_is_on_which_side_of_the_wall(tmp_path: Path) -> None:
    with SlapdServer(tmp_path / "ldap") as ldap, SambaServer(tmp_path / "samba") as server:
        root, db, log = server.share_root, tmp_path / "w.db", tmp_path / "daemon.log"
        config = write_config(
            tmp_path / "w.yaml", db,
            [{"type": "samba", "name": "smb", "path": str(server.audit_log),
              "prefix": "%u|%I|%m|%S"}],
            staff="{}", clients=f'["{root}/{{client}}/**"]',
            extra=f"""assignments:
  - type: ldap
    name: directory
    url: {ldap.url}
    base: "{SUFFIX}"
    bind_dn: "{BIND_DN}"
    password_file: {ldap.password_file}
    group_pattern: "client-{{client}}"
    user_attribute: uid
    refresh: 1h
""")

        def ingested() -> None:
            wait_for(lambda: caught_up(db, "smb", server.audit_log), 30, "ingest", daemon)

        with Daemon(config, log) as daemon:
            # 1. the directory's groups are loaded and recorded before any access
            wait_for(lambda: assignment_events(db) >= 3, 30, "the assignments from slapd",
                     daemon)
            read_as(server, "bob", "acme", "notes.txt")
            read_as(server, "alice", "globex", "ledger.csv")
            ingested()
            bob_in_acme = reads_of(config, "bob", root / "acme" / "notes.txt")
            alice_before = reads_of(config, "alice", root / "globex" / "ledger.csv")
            wait_for(lambda: any(a["user"]["name"] == "bob" for a in breaches(config)), 30,
                     "bob's breach alert", daemon)

            # 2. alice joins client-globex in the directory; a SIGHUP refresh sees it
            ldap.add_member("client-globex", user_dn("alice"))
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: bool(search(config, "event.action:assignment-added AND "
                                                 "user.name:alice AND wallwatch.client:globex")),
                     30, "alice's new assignment", daemon)
            read_as(server, "alice", "globex", "contract.pdf")
            ingested()
            alice_after = reads_of(config, "alice", root / "globex" / "contract.pdf")

            # 3. the directory goes away: the last good copy stays, and that is reported
            ldap.stop()
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "refused" in (provider_state(db).get("error") or ""),
                     30, "the outage to be noticed", daemon)
            read_as(server, "alice", "globex", "ledger.csv")
            ingested()
            assert daemon.stop() == 0

        # 4. a restart during the outage still has the last good copy
        with Daemon(config, log) as daemon:
            read_as(server, "bob", "acme", "2024年发票汇总.xlsx")
            read_as(server, "alice", "globex", "contract.pdf")
            ingested()
            bob_after_restart = reads_of(config, "bob", root / "acme" / "2024年发票汇总.xlsx")
            alice_after_restart = reads_of(config, "alice", root / "globex" / "contract.pdf")
            assert daemon.stop() == 0
        alice_in_outage = reads_of(config, "alice", root / "globex" / "ledger.csv")
        history = search(config, "event.dataset:wallwatch.assignments")
        state = provider_state(db)
        daemon_log = log.read_text()

    # bob is not in client-acme: his read there is a breach, and alerted
    assert bob_in_acme and all(d["wallwatch"]["assigned"] is False for d in bob_in_acme)
    [alert] = [a for a in breaches(config) if a["user"]["name"] == "bob"]
    assert alert["wallwatch"]["client"] == "acme"
    # alice was not yet in client-globex, then she was
    assert alice_before and all(d["wallwatch"]["assigned"] is False for d in alice_before)
    assert alice_after and all(d["wallwatch"]["assigned"] is True for d in alice_after)
    # the wall's history: who gained access to which client, seen from the directory
    assert {(d["event"]["action"], d["user"]["name"], d["wallwatch"]["client"])
            for d in history} == {("assignment-added", "alice", "acme"),
                                  ("assignment-added", "bob", "globex"),
                                  ("assignment-added", "carol", "initech"),  # nested group
                                  ("assignment-added", "alice", "globex")}
    assert all(d["event"]["category"] == ["iam"] and d["event"]["type"] == ["change"]
               and d["wallwatch"]["assignment"]["provider"] == "directory" for d in history)
    # the outage: alice's access still judged by the last good copy, before and after
    # a restart; bob's still a breach; the failure reported, the password never shown
    assert sorted(d["wallwatch"]["assigned"] for d in alice_in_outage) == [
        False] * len(alice_before) + [True]
    assert len(alice_after_restart) > len(alice_after)
    assert all(d["wallwatch"]["assigned"] is True for d in alice_after_restart)
    assert bob_after_restart and all(d["wallwatch"]["assigned"] is False
                                     for d in bob_after_restart)
    assert state["snapshot"]["known"] == ["alice", "bob", "carol"]
    assert "Connection refused" in state["error"]
    # reported by the daemon that saw the directory go, and again by the restarted one
    assert daemon_log.count("'directory' failed") >= 2
    assert "keeping the last good copy" in daemon_log
    assert BIND_PW not in daemon_log


def breaches(config: Path) -> list[dict[str, Any]]:
    out = wallwatch(config, "alerts", "--json")
    return [a for a in (orjson.loads(line) for line in out.stdout.splitlines())
            if a["rule"]["id"] == "wall.cross-client-access"]
