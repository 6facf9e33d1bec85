"""Hostile file names on a real smbd, through the daemon: a name that holds a newline
followed by a whole forged record (syslog and debug-log form), control characters,
`|`, Chinese, a name of 250 bytes. The names are created on the server's disk (Linux
or NFS users can; Windows cannot), then read over SMB. Every read is stored with its
name as Samba logged it, none of the forged records becomes an event, nothing is a
dead letter, and the search table keeps one event per line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Literal

import orjson
import pytest
import smbclient  # type: ignore[import-untyped]

from tests.daemon_process import REPO, Daemon, caught_up, query, wait_for, write_config
from tests.fixtures.smbd import SambaServer, connect_user

FORGED = ("x\n2026-11-27T21:00:00.000000+00:00 host smbd_audit: "
          "bob|10.0.0.99|EVIL|clients|unlinkat|ok|ledger.csv\n"
          "  bob|10.0.0.99|EVIL|clients|unlinkat|ok|globex")
NAMES = [FORGED, "tab\there|pipe\x01ctl 发票.xlsx", "账" * 83 + "x"]  # the last: 250 bytes
# rsyslog writes control characters as #ooo (octal) on the record's one line
RSYSLOG = str.maketrans({"\n": "#012", "\t": "#011", "\x01": "#001"})


def wallwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("mode", ["debug", "syslog"])
def test_hostile_names_are_stored_as_logged_and_forge_no_event(
        tmp_path: Path, mode: Literal["debug", "syslog"]) -> None:
    with SambaServer(tmp_path / "samba", audit_mode=mode) as server:
        acme = server.share_root / "acme"
        for name in NAMES:
            (acme / name).write_bytes(b"numbers")
        db = tmp_path / "w.db"
        config = write_config(
            tmp_path / "w.yaml", db,
            [{"type": "samba", "name": "smb", "path": str(server.audit_log),
              "prefix": "%u|%I|%m|%S"}],
            clients=f'["{server.share_root}/{{client}}/**"]')
        with Daemon(config, tmp_path / "daemon.log") as daemon:
            alice = connect_user(server, "alice", workstation="ALICE-PC")
            mangled = [n for n in smbclient.listdir(alice.unc("acme"), **alice.opts)
                       if "~" in n]  # Samba shows such names as 8.3 names
            assert len(mangled) >= 2
            for name in smbclient.listdir(alice.unc("acme"), **alice.opts):
                if name not in ("notes.txt", "2024年发票汇总.xlsx"):
                    with smbclient.open_file(alice.unc("acme", name), "rb",
                                             **alice.opts) as f:
                        assert f.read() == b"numbers"
            alice.close()
            server.wait_for_audit(lambda r: r.startswith("alice|") and "|disconnect|" in r)
            wait_for(lambda: caught_up(db, "smb", server.audit_log), 30, "ingest", daemon)
            found = wallwatch(config, "search", "event.action:read", "--json")
            table = wallwatch(config, "search", "event.action:read")
            everyone = wallwatch(config, "search", "user.name:bob OR source.ip:10.0.0.99",
                                 "--json")
            assert daemon.stop() == 0
    assert found.returncode == 0, found.stderr
    reads = [orjson.loads(line) for line in found.stdout.splitlines()]
    logged = [str(acme / (n.translate(RSYSLOG) if mode == "syslog" else n)) for n in NAMES]
    assert sorted(d["file"]["path"] for d in reads) == sorted(logged)
    assert all(d["user"]["name"] == "alice" for d in reads)
    assert everyone.returncode == 0 and everyone.stdout == ""  # nothing forged
    assert query(db, "SELECT count(*) FROM dead_letters")[0][0] == 0
    # one line per event under the header: the newline is shown escaped
    assert table.returncode == 0
    assert len(table.stdout.strip().splitlines()) == len(reads) + 1
