"""End to end on a real smbd: alice and bob work through SMB, the daemon (a separate
process) ingests the full_audit log, and `wallwatch search` finds exactly bob's
operations in acme, the client he is not assigned to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import smbclient  # type: ignore[import-untyped]
from smbclient._os import _set_basic_information  # type: ignore[import-untyped]
from smbprotocol.file_info import FileAttributes  # type: ignore[import-untyped]

from tests.daemon_process import REPO, Daemon, caught_up, wait_for, write_config
from tests.fixtures.smbd import SambaServer, SmbUser, connect_user

DOS_MODE = {"store dos attributes": "no", "map readonly": "yes"}  # read-only → fchmod


def wallwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def write(user: SmbUser, parts: list[str], data: bytes) -> None:
    with smbclient.open_file(user.unc(*parts), "wb", **user.opts) as f:
        f.write(data)


def read(user: SmbUser, parts: list[str]) -> bytes:
    with smbclient.open_file(user.unc(*parts), "rb", **user.opts) as f:
        data: bytes = f.read()
    return data


def test_search_finds_exactly_bobs_operations_in_acme(tmp_path: Path) -> None:
    with SambaServer(tmp_path / "samba", extra_share_options=DOS_MODE) as server:
        root = server.share_root
        db = tmp_path / "w.db"
        config = write_config(
            tmp_path / "w.yaml", db,
            [{"type": "samba", "name": "smb", "path": str(server.audit_log),
              "prefix": "%u|%I|%m|%S"}],
            clients=f'["{root}/{{client}}/**"]')
        with Daemon(config, tmp_path / "daemon.log") as daemon:
            alice = connect_user(server, "alice", workstation="ALICE-PC")
            assert "notes.txt" in smbclient.listdir(alice.unc("acme"), **alice.opts)
            read(alice, ["acme", "notes.txt"])
            write(alice, ["acme", "alice.txt"], b"alice was here\n")
            alice.close()

            bob = connect_user(server, "bob", workstation="BOB-PC")
            read(bob, ["globex", "ledger.csv"])                        # his own client
            smbclient.listdir(bob.unc("acme"), **bob.opts)              # list
            assert read(bob, ["acme", "2024年发票汇总.xlsx"]).startswith(b"PK")  # read
            write(bob, ["acme", "bob.txt"], b"copied numbers\n")        # write (new file)
            smbclient.rename(bob.unc("acme", "bob.txt"), bob.unc("acme", "bob2.txt"),
                             **bob.opts)                                # rename
            smbclient.mkdir(bob.unc("acme", "bob-dir"), **bob.opts)     # mkdir
            _set_basic_information(bob.unc("acme", "bob2.txt"),         # chmod (read-only)
                                   file_attributes=FileAttributes.FILE_ATTRIBUTE_READONLY,
                                   **bob.opts)
            _set_basic_information(bob.unc("acme", "bob2.txt"),
                                   file_attributes=FileAttributes.FILE_ATTRIBUTE_NORMAL,
                                   **bob.opts)
            smbclient.remove(bob.unc("acme", "bob2.txt"), **bob.opts)   # delete
            bob.close()
            server.wait_for_audit(lambda r: r.startswith("bob|") and "|disconnect|" in r)
            wait_for(lambda: caught_up(db, "smb", server.audit_log), 30, "ingest", daemon)

            result = wallwatch(config, "search", "user.name:bob AND wallwatch.client:acme",
                               "--json", "--limit", "1000")
            assert result.returncode == 0, result.stderr
            docs = [orjson.loads(line) for line in result.stdout.splitlines()]
            table = wallwatch(config, "search", "user.name:bob AND wallwatch.client:acme")
            wait_for(lambda: bool(stored_alerts(config)), 30, "the cross-client alert", daemon)
            assert daemon.stop() == 0
        live_alerts = stored_alerts(config)
        replay = wallwatch(config, "backtest", str(server.audit_log), "--json")
        assert replay.returncode == 0, replay.stderr
        replayed = [orjson.loads(line) for line in replay.stdout.splitlines()]

    acme = f"{root}/acme"
    assert docs, "bob's operations in acme must be found"
    assert all(d["user"]["name"] == "bob" for d in docs)
    assert all(d["wallwatch"]["client"] == "acme" for d in docs)
    assert all(d["wallwatch"]["assigned"] is False for d in docs)
    assert not any("globex" in d["file"]["path"] for d in docs)

    def actions(path: str) -> set[str]:
        return {d["event"]["action"] for d in docs if d["file"]["path"] == path}

    assert "open" in actions(acme)                                      # the listing
    assert actions(f"{acme}/2024年发票汇总.xlsx") >= {"read"}
    [created] = [d for d in docs if d["file"]["path"] == f"{acme}/bob.txt"
                 and d["event"]["action"] == "write"]
    assert created["event"]["type"] == ["creation"]
    [rename] = [d for d in docs if d["event"]["action"] == "rename"]
    assert rename["file"]["target_path"] == f"{acme}/bob2.txt"
    assert actions(f"{acme}/bob-dir") == {"mkdir"}
    modes = [d["file"]["mode"] for d in docs if d["event"]["action"] ==
             "changed-file-permissions-of"]
    assert "0444" in modes
    [delete] = [d for d in docs if d["event"]["action"] == "delete"]
    assert delete["file"]["path"] == f"{acme}/bob2.txt"
    assert all(d["event"]["outcome"] == "success" for d in docs)
    assert all(d["source"]["ip"] == "127.0.0.1" for d in docs)
    # the table shows the same events, one per line under a header
    assert table.returncode == 0
    assert len(table.stdout.strip().splitlines()) == len(docs) + 1
    assert "2024年发票汇总.xlsx" in table.stdout
    # bob's first access in acme is a cross-client alert, stored by the live daemon
    [breach] = [a for a in live_alerts if a["rule"]["id"] == "wall.cross-client-access"]
    assert breach["user"]["name"] == "bob" and breach["wallwatch"]["client"] == "acme"
    assert breach["file"]["path"].startswith(acme)
    assert breach["event"]["severity_label"] == "high"
    # and a backtest over the same log gives exactly the alerts the live run stored
    assert sorted(a["event"]["id"] for a in replayed) == sorted(
        a["event"]["id"] for a in live_alerts)


def stored_alerts(config: Path) -> list[dict[str, object]]:
    out = wallwatch(config, "alerts", "--json")
    return [orjson.loads(line) for line in out.stdout.splitlines()]
