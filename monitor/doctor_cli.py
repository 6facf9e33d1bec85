"""`wallwatch doctor [--smb-conf PATH] [--user NAME]`: check this host, one line per check."""

from __future__ import annotations

import argparse
import sys

from monitor.doctor import DoctorOptions, report, run_doctor


def cmd_doctor(args: argparse.Namespace) -> int:
    findings = run_doctor(DoctorOptions(config=args.config, smb_conf=args.smb_conf,
                                        service_user=args.user))
    text, code = report(findings)
    sys.stdout.write(text)
    return code


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser(
        "doctor", help="check this host: config, rules, store, logs, smb.conf, auditd, "
                       "Elasticsearch, notifications, clock (exit 1 on any failure)")
    doctor.add_argument("--smb-conf", default="/etc/samba/smb.conf",
                        help="the smb.conf smbd uses (default: %(default)s)")
    doctor.add_argument("--user", default="wallwatch",
                        help="the service user whose access is checked when run as root "
                             "(default: %(default)s)")
    doctor.set_defaults(func=cmd_doctor)
