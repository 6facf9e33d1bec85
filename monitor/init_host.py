"""`wallwatch init`, part 1: what is on this host. Read-only: nothing here changes anything.

Samba shares and their paths (from smb.conf, read the way `doctor` reads it), the folders
directly under each share (candidate client folders), local groups that look like client
groups, where Samba's audit and authentication records go (or would go with our snippet),
and which other logs Wallwatch could read (sshd's auth.log, auditd's audit.log).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.assignments.groups import ProviderError, read_group_file
from monitor.doctor_remote import host_timezone
from monitor.samba_conf import SmbConf, class_log_files, parse_smb_conf, samba_version, split_list
from monitor.sources.samba_record import DEFAULT_PREFIX

RECOMMENDED_PREFIX = "%u|%I|%m|%S"  # deploy/samba/smb.conf.snippet: user|IP|machine|share
DEFAULT_TIMEZONE = "Asia/Shanghai"
# Sections that are not file shares of client data.
_SPECIAL_SHARES = {"global", "homes", "printers", "print$", "ipc$", "netlogon", "sysvol"}
# Folder names that hold one folder per client, when a share has more than clients in it.
_CLIENT_ROOT_NAMES = {"clients", "client", "customers", "客户", "客户资料", "客户档案"}
# Folder names that are rarely a client: init warns when one of them would become a client.
_NOT_CLIENT = re.compile(r"^(?:[._#~$]|lost\+found$|recycle|templates?$|模板|public$|公共|"
                         r"shared?$|admin$|行政|scans?$|扫描|archive$|归档|tmp$|temp$)",
                         re.IGNORECASE)
_CLIENTISH = re.compile(r"client|customer|客户", re.IGNORECASE)


@dataclass(frozen=True)
class HostPaths:
    """Where to look: the defaults are a Debian/Ubuntu host's; tests point them at temp files."""

    smb_conf: str = "/etc/samba/smb.conf"
    group_file: str = "/etc/group"
    samba_audit_log: str = "/var/log/samba/audit.log"  # if smb.conf does not name one
    samba_auth_log: str = "/var/log/samba/auth.log"
    ssh_log: str = "/var/log/auth.log"
    auditd_log: str = "/var/log/audit/audit.log"


@dataclass(frozen=True)
class Share:
    name: str
    path: str
    folders: tuple[str, ...]  # directories directly under `path`, hidden ones left out
    vfs_objects: tuple[str, ...]
    prefix: str | None  # full_audit:prefix as smbd would use it, when set
    success: tuple[str, ...]
    failure: tuple[str, ...]
    valid_users: tuple[str, ...]
    problem: str | None = None  # e.g. the path does not exist

    @property
    def audited(self) -> bool:
        return "full_audit" in self.vfs_objects

    def clients_dir(self) -> str:
        """The folder most likely to hold one folder per client: a `clients`-like
        subfolder when there is one, else the share itself."""
        for folder in self.folders:
            if folder.lower() in _CLIENT_ROOT_NAMES:
                return os.path.join(self.path, folder)
        return self.path


@dataclass(frozen=True)
class LogFile:
    path: str
    exists: bool
    configured: bool = True  # named by smb.conf (or not needed there), not just our default


@dataclass(frozen=True)
class HostFacts:
    paths: HostPaths
    smb_conf_error: str | None
    conf: SmbConf | None
    shares: tuple[Share, ...]
    skipped_shares: tuple[tuple[str, str], ...]  # (name, why)
    samba_version: str | None
    groups: Mapping[str, tuple[str, ...]]  # group name → listed members
    group_ids: Mapping[str, int]
    groups_error: str | None
    timezone: str
    audit_log: LogFile  # where full_audit's records go (or will go with our snippet)
    auth_log: LogFile
    syslog_audit: bool  # an audited share sends its records to syslog today
    ssh_log: LogFile
    auditd_log: LogFile
    auditd_installed: bool
    notes: list[str] = field(default_factory=list)

    def share(self, name: str) -> Share | None:
        return next((s for s in self.shares if s.name == name), None)

    def default_shares(self) -> tuple[str, ...]:
        """Shares whose name or path says client; else those with folders in them."""
        named = tuple(s.name for s in self.shares if _CLIENTISH.search(f"{s.name} {s.path}"))
        if named:
            return named
        with_folders = tuple(s.name for s in self.shares if s.folders)
        return with_folders or tuple(s.name for s in self.shares)

    def staff_group(self, shares: tuple[str, ...]) -> str | None:
        """A group every member of staff is in: the first `@group` of the shares'
        `valid users`, else a group called staff."""
        for name in shares:
            share = self.share(name)
            for entry in share.valid_users if share else ():
                group = entry.lstrip("@+&")
                if entry[:1] in "@+&" and group in self.groups:
                    return group
        # Debian's own `staff` (gid 50) is for /usr/local, not people: only a group with
        # members and a regular gid counts
        return next((g for g in ("staff", "employees", "员工") if self.groups.get(g)
                     and self.group_ids.get(g, 0) >= 1000), None)


def folders_of(path: str) -> tuple[str, ...]:
    """The directories directly under `path`, sorted, hidden and system ones left out."""
    try:
        with os.scandir(path) as entries:
            names = [e.name for e in entries
                     if e.is_dir(follow_symlinks=False) and not e.name.startswith((".", "#"))
                     and e.name != "lost+found"]
    except OSError:
        return ()
    return tuple(sorted(names))


def not_client_looking(folders: tuple[str, ...]) -> tuple[str, ...]:
    """Folder names that look like something other than a client (templates, scans …)."""
    return tuple(f for f in folders if _NOT_CLIENT.search(f))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """`client-{client}` (with `*` for anything) → a regex with a `client` group; the same
    reading as the assignments' group_pattern (monitor/assignments/settings.py)."""
    head, _, tail = pattern.partition("{client}")

    def lit(text: str) -> str:
        return ".*".join(re.escape(part) for part in text.split("*"))

    return re.compile(f"{lit(head)}(?P<client>.+?){lit(tail)}", re.IGNORECASE)


def client_groups(groups: Mapping[str, tuple[str, ...]], pattern: str
                  ) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Groups the pattern maps to a client: group → (client, members)."""
    regex = glob_regex(pattern)
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, members in sorted(groups.items()):
        match = regex.fullmatch(name)
        if match and match.group("client"):
            out[name] = (match.group("client").lower(), members)
    return out


def _share(conf: SmbConf, name: str) -> Share | str:
    """The share, or why it is not a candidate."""
    if name in _SPECIAL_SHARES or name.endswith("$"):
        return "not a file share of client data"
    if (conf.get(name, "printable") or conf.get(name, "print ok") or "no").lower() in (
            "yes", "true", "1"):
        return "a printer"
    path = conf.sections[name].get("path")
    if not path:
        return "no path"
    if "%" in path:
        return f"path {path} depends on the user (%-variables)"
    problem = None if os.path.isdir(path) else f"{path} does not exist on this host"
    prefix = conf.get(name, "full_audit:prefix")
    return Share(
        name=name, path=os.path.normpath(path), folders=folders_of(path),
        vfs_objects=tuple(split_list(conf.get(name, "vfs objects"))),
        prefix=prefix,
        success=tuple(split_list(conf.get(name, "full_audit:success"))),
        failure=tuple(split_list(conf.get(name, "full_audit:failure"))),
        valid_users=tuple(split_list(conf.get(name, "valid users"))),
        problem=problem)


def _audit_destinations(conf: SmbConf | None, paths: HostPaths,
                        shares: tuple[Share, ...]) -> tuple[LogFile, LogFile, bool]:
    """Keep the files smb.conf already names for full_audit and the auth audit classes
    (other tools may read them); else the ones our snippet sets up."""
    classes = class_log_files(conf.globals.get("log level") if conf else None)
    audit = classes.get("full_audit", (0, None))[1]
    auth = classes.get("auth_audit", (0, None))[1] or classes.get("auth_json_audit",
                                                                  (0, None))[1]
    syslog = False
    if conf is not None:
        syslog = any((conf.get(s.name, "full_audit:syslog") or "true").lower()
                     in ("yes", "true", "1", "on") for s in shares if s.audited)
    audit_path = audit or paths.samba_audit_log
    auth_path = auth or paths.samba_auth_log
    return (LogFile(audit_path, os.path.exists(audit_path), audit is not None),
            LogFile(auth_path, os.path.exists(auth_path), auth is not None), syslog)


def discover(paths: HostPaths) -> HostFacts:
    conf: SmbConf | None = None
    conf_error: str | None = None
    notes: list[str] = []
    try:
        conf = parse_smb_conf(paths.smb_conf)
    except OSError as exc:
        conf_error = f"cannot read {paths.smb_conf}: {exc.strerror}"
    shares: list[Share] = []
    skipped: list[tuple[str, str]] = []
    for name in conf.shares() if conf else ():
        found = _share(conf, name) if conf else "no smb.conf"
        if isinstance(found, str):
            skipped.append((name, found))
        else:
            shares.append(found)
    if conf is not None and conf.includes_skipped:
        notes.append(f"smb.conf includes not read (they use %-variables): "
                     f"{', '.join(conf.includes_skipped)}")
    table: dict[str, tuple[int, list[str]]] = {}
    groups_error = None
    try:
        table = read_group_file(paths.group_file)
    except ProviderError as exc:
        groups_error = str(exc)
    audit, auth, syslog = _audit_destinations(conf, paths, tuple(shares))
    auditd_installed = any(shutil.which(p) for p in ("auditctl", "auditd")) or os.path.exists(
        "/sbin/auditd")
    return HostFacts(
        paths=paths, smb_conf_error=conf_error, conf=conf, shares=tuple(shares),
        skipped_shares=tuple(skipped), samba_version=samba_version(),
        groups={name: tuple(members) for name, (_gid, members) in table.items()},
        group_ids={name: gid for name, (gid, _members) in table.items()},
        groups_error=groups_error, timezone=_timezone(), audit_log=audit, auth_log=auth,
        syslog_audit=syslog,
        ssh_log=LogFile(paths.ssh_log, os.path.exists(paths.ssh_log)),
        auditd_log=LogFile(paths.auditd_log, os.path.exists(paths.auditd_log)),
        auditd_installed=auditd_installed, notes=notes)


def _timezone() -> str:
    """The host's zone when tzdata knows it (times in logs without a zone are in it)."""
    name = host_timezone()
    if name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return DEFAULT_TIMEZONE


def effective_prefix(shares: tuple[Share, ...]) -> str:
    """The full_audit:prefix all chosen shares will use: one they already have (other
    tools may parse it), else the recommended one."""
    for share in shares:
        if share.audited and share.prefix:
            return share.prefix
    for share in shares:
        if share.audited:
            return DEFAULT_PREFIX  # audited without a prefix: smbd's default
    return RECOMMENDED_PREFIX
