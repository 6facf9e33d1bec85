#!/usr/bin/env python3
"""Regenerate the real auditd samples in this directory.

Run as root (needs auditd, auditctl, runuser, setfacl; no other auditd may run):

    /work/main/.venv/bin/python tests/data/auditd/make_samples.py

It starts a private auditd with tests/fixtures/auditd.py twice (log_format ENRICHED,
then RAW), both times in WORKDIR, watches TREE (`-w TREE -p rwa -k clients`) and runs
SCRIPT as the user `wwaudit` plus DIRFD (Python's dir_fd calls: openat/mkdirat/
renameat/fchmod relative to directory fds, what Samba does) and a root `setfacl`.
The log files are copied here unedited: enriched.log and raw.log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))

from tests.fixtures.auditd import AuditDaemon, ensure_user, make_traversable, run_as  # noqa: E402

WORKDIR = Path("/tmp/wallwatch-samples/auditd")
TREE = WORKDIR / "srv/clients"
USER = "wwaudit"
SCRIPT = """
set -e
cd {tree}/acme
cat notes.txt > /dev/null
echo more >> notes.txt
mv notes.txt notes-2.txt
mkdir 归档
echo new > '归档/new file.txt'
chmod 0640 notes-2.txt
chown {user}:{user} notes-2.txt
rm '归档/new file.txt'
rmdir 归档
cat ../globex/secret.txt > /dev/null 2>&1 || true
"""
DIRFD = """
import os
d = os.open('{tree}/acme', os.O_RDONLY)
f = os.open('notes-2.txt', os.O_RDONLY, dir_fd=d); os.read(f, 10); os.close(f)
os.mkdir('sub', dir_fd=d)
f = os.open('sub/a.txt', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=d); os.close(f)
s = os.open('sub', os.O_RDONLY, dir_fd=d)
os.rename('a.txt', 'b.txt', src_dir_fd=s, dst_dir_fd=s)
f = os.open('b.txt', os.O_RDWR, dir_fd=s); os.fchmod(f, 0o600); os.close(f)
os.unlink('b.txt', dir_fd=s)
os.rmdir('sub', dir_fd=d)
"""


def seed() -> None:
    if TREE.exists():
        shutil.rmtree(TREE)
    user = ensure_user(USER)
    for client in ("acme", "globex"):
        (TREE / client).mkdir(parents=True)
        os.chown(TREE / client, user.pw_uid, user.pw_gid)
    (TREE / "acme/notes.txt").write_text("acme: quarterly close\n")
    os.chown(TREE / "acme/notes.txt", user.pw_uid, user.pw_gid)
    (TREE / "globex/secret.txt").write_text("not for wwaudit\n")
    (TREE / "globex/secret.txt").chmod(0o600)
    make_traversable(TREE / "acme")


def record(log_format: str, out: Path) -> None:
    seed()
    work = WORKDIR / f"auditd-{log_format.lower()}"
    if work.exists():
        shutil.rmtree(work)
    with AuditDaemon(work, log_format=log_format) as daemon:
        daemon.watch(TREE, "clients")
        run_as(USER, SCRIPT.format(tree=TREE, user=USER))
        run_as(USER, f"python3 -c \"{DIRFD.format(tree=TREE)}\"")
        subprocess.run(["setfacl", "-m", f"u:{USER}:r", str(TREE / "acme/notes-2.txt")],
                       check=True)
        daemon.wait_for(lambda text: "setfacl" in text and text.count("\n") > 40)
    shutil.copyfile(daemon.log, out)
    print(f"{out}: {len(out.read_text().splitlines())} lines")


if __name__ == "__main__":
    record("ENRICHED", HERE / "enriched.log")
    record("RAW", HERE / "raw.log")
