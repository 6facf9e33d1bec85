"""Shared set-up for the `wallwatch doctor` tests: one temp storage host."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.doctor import DoctorOptions, run_doctor
from monitor.doctor_findings import Finding, Status

REPO = Path(__file__).resolve().parent.parent
SNIPPET = REPO / "deploy" / "samba" / "smb.conf.snippet"
PREFIX = "%u|%I|%m|%S"
HEADER = "[{ts},  1] ../../source3/modules/vfs_full_audit.c:643(do_log)\n"
RECORD = "  alice|192.0.2.10|alice-pc|clients|{op}|ok|{args}/srv/share/clients/acme/{name}\n"
# a read as Samba logs it: the open (access mask, file or dir, disposition), the read, close
READ = (("create_file", "0x89|file|open|"), ("pread_recv", ""), ("close", ""))


class Host:
    """One temp 'storage host': config, store dir, audit log, smb.conf."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "log" / "audit.log"
        self.store = root / "state" / "wallwatch.db"
        self.config = root / "etc" / "wallwatch.yaml"
        self.smb_conf = root / "etc" / "smb.conf"
        self.share = root / "srv" / "clients"
        for d in (self.log.parent, self.store.parent, self.config.parent, self.share):
            d.mkdir(parents=True, exist_ok=True)
        self.write_log(datetime.now(UTC) - timedelta(minutes=3))
        self.write_config()
        self.write_smb_conf()

    def write_log(self, when: datetime, name: str = "2024年发票汇总.xlsx") -> None:
        ts = when.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S.%f")
        with self.log.open("a") as f:
            for op, args in READ:
                f.write(HEADER.format(ts=ts) + RECORD.format(op=op, args=args, name=name))

    def write_config(self, extra: str = "", prefix: str = PREFIX) -> None:
        self.config.write_text(
            "timezone: UTC\n"
            f"store: {{path: {self.store}}}\n"
            "sources:\n"
            f"  - {{type: samba, name: smb, path: {self.log}, format: debug, "
            f"prefix: \"{prefix}\"}}\n"
            "clients: {paths: [\"/srv/share/clients/{client}/**\"]}\n"
            "staff: {alice: [acme]}\n" + extra)

    def write_smb_conf(self, replace: dict[str, str] | None = None) -> None:
        text = (SNIPPET.read_text()
                .replace("/var/log/samba/audit.log", str(self.log))
                .replace("/var/log/samba/auth.log", str(self.root / "log" / "auth.log"))
                .replace("/srv/share/clients", str(self.share)))
        for old, new in (replace or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        self.smb_conf.write_text(text)

    def doctor(self, user: str = "wallwatch") -> list[Finding]:
        return run_doctor(DoctorOptions(str(self.config), str(self.smb_conf), user))

    def cli(self, *extra: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = ["-c", str(self.config), "doctor", "--smb-conf", str(self.smb_conf), *extra]
        if user is None:
            cmd = [sys.executable, "-m", "monitor", *argv]
        else:  # the interpreter lives under /root here: start as root, then become `user`
            cmd = [sys.executable, "-c", _AS_USER, user, *argv]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


# Everything the doctor imports is imported first; then the process drops to the user.
_AS_USER = """
import os, pwd, sys
import apprise, elasticsearch, sqlite3, tempfile, ctypes
import monitor.cli, monitor.doctor, monitor.doctor_cli, monitor.doctor_remote
import monitor.doctor_samba, monitor.sources.reading, monitor.rules.loader
import monitor.sinks.es_client, monitor.sinks.es_config, monitor.sinks.notify_config
args = monitor.cli.build_parser().parse_args(sys.argv[2:])
user = pwd.getpwnam(sys.argv[1])
os.setgroups([])
os.setgid(user.pw_gid)
os.setuid(user.pw_uid)
sys.exit(args.func(args))
"""


def lines(findings: list[Finding], status: Status) -> list[str]:
    return [f.line() for f in findings if f.status is status]
