"""A month of work at a small firm, recorded by a real smbd and the daemon.

alice (assigned to acme and globex) and bob (assigned to globex) work through
SMB on the fixture's share; bob once reads an acme file (the breach) and alice
reads 55 acme files in a row (the off-hours burst: the calendar has no working
hours at all, so every moment is off-hours). The daemon runs as its own process
with the shipped rules; one garbage line in the audit log makes one dead letter.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import smbclient  # type: ignore[import-untyped]

from monitor.event import us_to_ts
from tests.daemon_process import REPO, Daemon, caught_up, count, query, wait_for, write_config
from tests.fixtures.smbd import SambaServer, SmbUser, connect_user

BURST = 55  # files alice reads off hours; the shipped rule fires at 50 in 10 minutes
NO_HOURS = "{" + ", ".join(f"{d}: none" for d in
                           ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "makeup")) + "}"
BREACH_FILE = "2024年发票汇总.xlsx"


@dataclass(frozen=True)
class Firm:
    config: Path
    db: Path
    share: Path  # the share root as smbd logs it
    month: str  # YYYY-MM of the recorded work (UTC, the config's timezone)
    workdir: Path


def wallwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=180)


def _read(user: SmbUser, *parts: str) -> bytes:
    with smbclient.open_file(user.unc(*parts), "rb", **user.opts) as f:
        data: bytes = f.read()
    return data


def _write(user: SmbUser, parts: list[str], data: bytes) -> None:
    with smbclient.open_file(user.unc(*parts), "wb", **user.opts) as f:
        f.write(data)


def record_firm(workdir: Path) -> Firm:
    db = workdir / "w.db"
    with SambaServer(workdir / "samba") as server:
        root = server.share_root
        for i in range(1, BURST + 1):
            scan = root / "acme" / f"scan-{i:02d}.pdf"
            scan.write_bytes(b"%%PDF-1.4 scanned receipt %d\n" % i)
            scan.chmod(0o666)
        config = write_config(
            workdir / "w.yaml", db,
            [{"type": "samba", "name": "smb", "path": str(server.audit_log),
              "prefix": "%u|%I|%m|%S"}],
            staff="{alice: [acme, globex], bob: [globex]}",
            clients=f'["{root}/{{client}}/**"]',
            extra=f"rules: {{lateness: 1s}}\ncalendar: {{hours: {NO_HOURS}}}")
        with Daemon(config, workdir / "daemon.log") as daemon:
            alice = connect_user(server, "alice", workstation="ALICE-PC")
            _read(alice, "acme", "notes.txt")
            _write(alice, ["acme", "alice.txt"], b"alice was here\n")
            _read(alice, "globex", "ledger.csv")
            alice.close()
            bob = connect_user(server, "bob", workstation="BOB-PC")
            _read(bob, "globex", "ledger.csv")
            _write(bob, ["globex", "bob.txt"], b"bob's notes\n")
            assert _read(bob, "acme", BREACH_FILE).startswith(b"PK")  # the breach
            bob.close()
            alice = connect_user(server, "alice", workstation="ALICE-PC")
            for i in range(1, BURST + 1):  # the off-hours burst
                _read(alice, "acme", f"scan-{i:02d}.pdf")
            alice.close()
            # three sessions ended: nothing more will be logged (the garbage line that
            # follows must not land between a record's header and body)
            wait_for(lambda: sum("|disconnect|" in r for r in server.audit_records()) == 3,
                     30, "three disconnects")
            with server.audit_log.open("ab") as log:  # one line nobody can parse
                log.write(b"this line is not a samba record\n")
            wait_for(lambda: caught_up(db, "smb", server.audit_log), 60, "ingest", daemon)
            wait_for(lambda: count(db, "dead_letters") == 1, 30, "the dead letter", daemon)
            wait_for(lambda: {r[0] for r in query(db, "SELECT rule_id FROM alerts")} >= {
                "wall.cross-client-access", "wall.off-hours-bulk-read"}, 60, "alerts", daemon)
            wait_for(lambda: query(db, "SELECT position FROM cursors WHERE name='rules'")
                     == query(db, "SELECT max(seq) FROM events"), 30, "rules caught up", daemon)
            assert daemon.stop() == 0
    [(first_us,)] = query(db, "SELECT min(ts) FROM events")
    month = us_to_ts(first_us).strftime("%Y-%m")
    return Firm(config, db, root, month, workdir)
