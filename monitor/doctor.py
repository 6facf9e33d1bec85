"""`wallwatch doctor`: check a host before (and while) Wallwatch runs on it.

One line per check, each failure and warning with the fix. Exit 1 when anything fails.
Checks: the config and the rules load; the store can be written; every log a source tails
is there, readable (also by the service user when run as root), written recently, and its
newest record is not in the future; smb.conf's vfs_full_audit set-up (doctor_samba.py);
the kernel's audit rules, Elasticsearch, notification URLs and the clock
(doctor_remote.py).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.config import Config, SourceConfig, load_config
from monitor.doctor_findings import (
    Account,
    Finding,
    Status,
    denied_for,
    fail,
    human_age,
    ok,
    warn,
)
from monitor.errors import WallwatchError

TAIL_BYTES = 64 * 1024  # how much of a log's end is parsed for its newest record
STALE = timedelta(hours=24)  # a log not written for longer than this is worth a warning
FUTURE = timedelta(minutes=5)  # a record this far ahead of our clock means a wrong clock/zone
MIN_FREE = 1 << 30


@dataclass(frozen=True)
class DoctorOptions:
    config: str
    smb_conf: str = "/etc/samba/smb.conf"
    service_user: str = "wallwatch"  # checked by mode bits when the doctor runs as root
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def run_doctor(opts: DoctorOptions) -> list[Finding]:
    from monitor.doctor_remote import (
        check_auditd,
        check_elasticsearch,
        check_notify,
        check_ntp,
        check_timezone,
    )
    from monitor.doctor_samba import check_smb_conf

    findings: list[Finding] = []
    config: Config | None = None
    try:
        config = load_config(opts.config)
        findings.append(ok("config", f"{config.path}: {len(config.sources)} source(s), "
                                     f"{len(config.staff)} staff, timezone {config.timezone}"))
    except WallwatchError as exc:
        findings.append(fail("config", str(exc), exc.hint or
                             f"correct {exc.location}; `wallwatch -c {opts.config} config check` "
                             "re-checks it"))
    account = Account.lookup(opts.service_user) if os.geteuid() == 0 else None
    if config is not None:
        findings.append(check_rules(config))
        findings.append(check_store(config, account))
        for source in config.sources:
            findings.extend(check_source(source, config, account, opts.now()))
    findings.extend(check_smb_conf(opts.smb_conf, config))
    if config is not None:
        findings.extend(check_auditd(config))
        findings.extend(check_elasticsearch(config))
        findings.extend(check_notify(config))
        findings.extend(check_timezone(config))
    findings.append(check_ntp())
    return findings


def report(findings: Sequence[Finding]) -> tuple[str, int]:
    """The lines to print and the exit code (1 when anything failed)."""
    lines = [f.line() for f in findings]
    counts = {s: sum(1 for f in findings if f.status is s) for s in Status}
    lines.append(f"doctor: {counts[Status.OK]} ok, {counts[Status.WARN]} warning(s), "
                 f"{counts[Status.FAIL]} failure(s), {counts[Status.SKIP]} skipped")
    return "\n".join(lines) + "\n", 1 if counts[Status.FAIL] else 0


def check_rules(config: Config) -> Finding:
    from monitor.cli import rule_paths
    from monitor.rules.loader import load_rule_files

    paths = rule_paths(config)
    rules, errors = load_rule_files(paths)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return fail("rules", f"{errors[0]}{more}",
                    f"correct it at {errors[0].location}; `wallwatch rules check` lists all")
    if not rules:
        return warn("rules", f"no rules in {', '.join(paths)}: nothing raises alerts",
                    "add rule files or remove `rules.paths` to use the shipped rules")
    return ok("rules", f"{len(rules)} rule(s) load from {', '.join(paths)}")


def check_store(config: Config, account: Account | None) -> Finding:
    path = config.store.path
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        return fail("store", f"directory {directory} does not exist",
                    "systemd-tmpfiles --create wallwatch.conf (or mkdir -m 0700 and chown it "
                    "to the service user)")
    try:
        if os.path.exists(path):
            db = sqlite3.connect(path, timeout=5)
            try:  # a write lock proves we may write; nothing is changed
                db.execute("BEGIN IMMEDIATE")
                db.execute("ROLLBACK")
            finally:
                db.close()
            what = f"{path} is writable"
        else:
            with tempfile.NamedTemporaryFile(dir=directory):
                pass
            what = f"{path} does not exist yet; {directory} is writable"
    except (OSError, sqlite3.Error) as exc:
        return fail("store", f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}",
                    "make the directory and file owned by the service user "
                    "(systemd/wallwatch.tmpfiles)")
    if account is not None:
        blocked = denied_for(account, directory, os.W_OK | os.X_OK)
        if blocked:
            return fail("store", f"user {account.name} cannot write {directory} "
                                 f"(blocked at {blocked.lstrip('?')})",
                        f"chown {account.name}: {directory} (systemd/wallwatch.tmpfiles does)")
    vfs = os.statvfs(directory)
    free = vfs.f_bavail * vfs.f_frsize
    if free < MIN_FREE or free < 0.05 * vfs.f_blocks * vfs.f_frsize:
        return warn("store", f"{what}, but only {free >> 20} MiB free",
                    "free disk space or shorten store.retention")
    return ok("store", f"{what}; {free >> 30} GiB free")


def check_source(source: SourceConfig, config: Config, account: Account | None,
                 now: datetime) -> list[Finding]:
    from monitor.sources import SOURCES

    name = f"source {source.name}"
    stype = SOURCES[source.type]
    if stype.make_parser is None:  # not a log: a tree it watches (fswatch)
        try:
            with os.scandir(source.path) as it:
                next(it, None)
        except OSError as exc:
            return [fail(name, f"cannot list {source.path}: {exc.strerror}",
                         "check the path; the service user needs read and search permission")]
        return [ok(name, f"{source.path} is readable")]
    path = source.path
    if not os.path.exists(path):
        return [fail(name, f"{path} does not exist", _missing_fix(source))]
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        return [fail(name, f"cannot read {path}: {exc.strerror}",
                     "let the reading user in: the file's group should be adm and the "
                     "daemon's user in adm (systemd/wallwatch.sysusers)")]
    if account is not None:
        blocked = denied_for(account, path, os.R_OK)
        if blocked and blocked.startswith("?"):
            return [warn(name, f"{blocked[1:]} has a POSIX ACL; cannot tell whether user "
                               f"{account.name} may read {path}",
                         f"check with `sudo -u {account.name} head -c1 {path}`")]
        if blocked:
            return [fail(name, f"user {account.name} cannot read {path} (blocked at {blocked})",
                         f"chgrp adm / chmod g+rx the blocking path, and keep {account.name} in "
                         "group adm (systemd/wallwatch.sysusers)")]
    out: list[Finding] = []
    st = os.stat(path)
    age = time.time() - st.st_mtime
    detail = f"{path} readable, {st.st_size >> 10} KiB, last written {human_age(age)} ago"
    if age > STALE.total_seconds():
        out.append(warn(name, f"{detail}: not growing", _missing_fix(source)))
    else:
        out.append(ok(name, detail))
    out.extend(_newest_record(source, config, now))
    return out


def _missing_fix(source: SourceConfig) -> str:
    if source.type == "samba":
        return ("is smbd writing it? log level = 1 full_audit:1@" + source.path +
                " and vfs objects = full_audit on the shares (deploy/samba/smb.conf.snippet)")
    if source.type == "auditd":
        return "is auditd running with log_file = " + source.path + " (auditd.conf)?"
    return "check that the program writes to " + source.path + ", or correct `path:`"


def _newest_record(source: SourceConfig, config: Config, now: datetime) -> list[Finding]:
    """Parse the end of the log as the daemon would; the newest time must not be ahead."""
    from monitor.sources.base import ParseOutput
    from monitor.sources.reading import feed_lines, make_parser
    from monitor.sources.tail import Line

    with open(source.path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        start = max(0, size - TAIL_BYTES)
        f.seek(start)
        data = f.read()
    chunks = data.split(b"\n")
    if start:
        chunks = chunks[1:]  # the first one is the end of a line cut in half
    offset = start + (len(data) - len(b"\n".join(chunks)))
    lines = []
    for chunk in chunks[:-1]:  # the last one has no newline yet
        lines.append(Line(offset, chunk, "doctor"))
        offset += len(chunk) + 1
    try:
        parser = make_parser(source, config, now=lambda: now)
    except ValueError:
        return []
    out = ParseOutput(source.name, source.path)
    feed_lines(parser, lines, out)
    parser.flush(out)
    if not out.events:
        if lines:
            return [warn(f"clock vs {source.name}",
                         f"no record in the last {len(lines)} line(s) of {source.path} parses "
                         f"({len(out.dead)} bad)",
                         "check the source's format/prefix options against the log")]
        return []
    newest = max(ev.timestamp for ev in out.events)
    ahead = (newest - now).total_seconds()
    if ahead > FUTURE.total_seconds():
        return [fail(f"clock vs {source.name}",
                     f"the newest record ({newest.isoformat()}) is {human_age(ahead)} ahead of "
                     "this host's clock: the clock or `timezone:` is wrong",
                     "set `timezone:` to the zone the log is written in (the host's), and "
                     "check `timedatectl`")]
    return [ok(f"clock vs {source.name}",
               f"newest record {human_age(-ahead)} old ({newest.isoformat()})")]

