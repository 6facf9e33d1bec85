"""`wallwatch doctor`: is Samba's vfs_full_audit set up so that Wallwatch gets its records?

The expensive mistake this catches: an operation name the installed Samba does not know
in `full_audit:success`/`failure` makes every tree connect to the share fail, and testparm
says nothing. Names that are accepted but never logged any more (`open`, `pread` …) leave
a silent hole in the audit instead.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from collections.abc import Sequence

from monitor.config import Config, SourceConfig
from monitor.doctor_findings import Finding, fail, ok, skip, warn
from monitor.samba_conf import (
    NEVER_LOGGED,
    SmbConf,
    class_log_files,
    parse_smb_conf,
    samba_version,
    split_list,
    valid_ops,
)
from monitor.sources.samba_record import DEFAULT_PREFIX

SNIPPET = "deploy/samba/smb.conf.snippet"
# what Wallwatch's samba source turns into events (tests/data/samba/README.md)
WANTED_SUCCESS = ("connect", "disconnect", "create_file", "openat", "close", "pread_recv",
                  "pwrite_recv", "renameat", "unlinkat", "mkdirat", "fchmod", "fchown",
                  "fset_nt_acl", "fset_dos_attributes")
_TRUE = {"yes", "true", "1", "on"}


def check_smb_conf(path: str, config: Config | None) -> list[Finding]:
    sources = [s for s in config.sources if s.type == "samba"] if config else []
    name = "smb.conf"
    if not os.path.exists(path):
        if sources:
            return [fail(name, f"{path} does not exist, but wallwatch.yaml has a samba source",
                         "pass --smb-conf with the smb.conf smbd uses "
                         "(`smbd -b | grep CONFIGFILE`)")]
        return [skip(name, f"no {path} and no samba source configured")]
    try:
        conf = parse_smb_conf(path)
    except OSError as exc:
        return [fail(name, f"cannot read {path}: {exc.strerror}", "run doctor as root")]
    findings = [_testparm(path)]
    ops, origin = valid_ops()
    version = samba_version() or "the installed Samba"
    audited = [s for s in conf.shares()
               if "full_audit" in split_list(conf.get(s, "vfs objects"))]
    if not audited:
        make = fail if sources else warn
        findings.append(make(name, "no share loads full_audit (`vfs objects`): nothing is audited",
                             f"add `vfs objects = full_audit` and the full_audit: lines of "
                             f"{SNIPPET} to every share with client data"))
    for share in audited:
        findings.extend(_share(conf, share, ops, origin, version, sources))
    if conf.includes_skipped:
        findings.append(warn(name, f"include(s) with %-variables not checked: "
                                   f"{', '.join(conf.includes_skipped)}",
                             "check those files with `wallwatch doctor --smb-conf FILE`"))
    return findings


def _testparm(path: str) -> Finding:
    if shutil.which("testparm") is None:
        return skip("smb.conf syntax", "testparm is not installed")
    try:
        done = subprocess.run(["testparm", "-s", "--suppress-prompt", path],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return skip("smb.conf syntax", f"testparm did not run: {exc}")
    complaints = [line.strip() for line in done.stderr.splitlines()
                  if "unknown parameter" in line.lower() or "error" in line.lower()]
    if done.returncode != 0:
        return fail("smb.conf syntax", f"testparm rejects {path}: "
                    f"{'; '.join(complaints[-2:]) or 'exit ' + str(done.returncode)}",
                    "correct the line testparm names, then `testparm -s`")
    if complaints:
        return warn("smb.conf syntax", f"testparm: {'; '.join(complaints[:3])}",
                    "remove or correct those parameters")
    return ok("smb.conf syntax", f"testparm accepts {path} (it does not check operation names)")


def _share(conf: SmbConf, share: str, ops: frozenset[str], origin: str, version: str,
           sources: Sequence[SourceConfig]) -> list[Finding]:
    name = f"smb.conf [{share}]"
    out: list[Finding] = []
    lists = {kind: split_list(conf.get(share, f"full_audit:{kind}"))
             for kind in ("success", "failure")}
    for kind, names in lists.items():
        key = f"full_audit:{kind}"
        unknown = [n for n in names if n.lstrip("!") not in ops and n not in ("all", "none")]
        if unknown:
            hints = []
            for n in unknown:
                close = difflib.get_close_matches(n.lstrip("!"), sorted(ops), n=2, cutoff=0.6)
                hints.append(f"'{n}'" + (f" (did you mean {' or '.join(close)}?)" if close else ""))
            out.append(fail(name, f"{key} has operation name(s) Samba {version} does not know: "
                                  f"{', '.join(hints)}; every tree connect to [{share}] fails "
                                  "(NT_STATUS_UNSUCCESSFUL) and testparm does not say so",
                            f"remove or correct them (valid names: {origin}); the list in "
                            f"{SNIPPET} works on 4.17+"))
        for old in (n for n in names if n in NEVER_LOGGED):
            new = NEVER_LOGGED[old]
            if any(n in names for n in new) or "all" in names:
                out.append(warn(name, f"{key} lists '{old}', which Samba {version} accepts "
                                      "but never logs", f"remove '{old}'"))
            else:
                out.append(fail(name, f"{key} lists '{old}', which Samba {version} accepts but "
                                      f"never logs: these accesses are not audited",
                                f"replace '{old}' with {' '.join(new)}"))
        if "all" in names:
            out.append(warn(name, f"{key} = all logs every VFS call (stat, getwd, fstat …): "
                                  "many times the records, same events",
                            f"list the operations instead (see {SNIPPET})"))
    if not lists["success"] and not lists["failure"]:
        out.append(fail(name, "full_audit is loaded but full_audit:success and :failure are "
                              "not set", f"set both as in {SNIPPET}"))
    elif lists["success"] and "all" not in lists["success"]:
        missing = [n for n in WANTED_SUCCESS if n not in lists["success"]]
        if missing:
            out.append(warn(name, f"full_audit:success lacks {' '.join(missing)}: those "
                                  "accesses are not in Wallwatch's events",
                            f"add them (see {SNIPPET} for what each gives)"))
    out.extend(_prefix(conf, share, sources))
    out.extend(_destination(conf, share, sources))
    if not any(f.status.value in ("warn", "fail") for f in out):
        out.append(ok(name, f"full_audit logs {len(lists['success'])} operation(s) on success "
                            f"and {len(lists['failure'])} on failure, all known to Samba "
                            f"{version} ({origin})"))
    return out


def _prefix(conf: SmbConf, share: str, sources: Sequence[SourceConfig]) -> list[Finding]:
    prefix = conf.get(share, "full_audit:prefix") or DEFAULT_PREFIX
    expected = {str(s.options.get("prefix", DEFAULT_PREFIX)) for s in sources}
    if not sources or prefix in expected:
        return []
    return [fail(f"smb.conf [{share}]",
                 f"full_audit:prefix is '{prefix}' but the samba source(s) in wallwatch.yaml "
                 f"expect {' or '.join(repr(p) for p in sorted(expected))}: the parser finds "
                 "the operation by its position, so every record is read wrong",
                 f"set `prefix: \"{prefix}\"` on the samba source (or change smb.conf)")]


def _destination(conf: SmbConf, share: str, sources: Sequence[SourceConfig]) -> list[Finding]:
    """Where the records go (syslog or a debug file), and whether a source reads it."""
    name = f"smb.conf [{share}]"
    syslog = (conf.get(share, "full_audit:syslog") or "true").lower() in _TRUE
    formats = {s.path: str(s.options.get("format", "auto")) for s in sources}
    if syslog:
        if sources and not any(f in ("syslog", "auto") for f in formats.values()):
            return [warn(name, "full_audit:syslog is on (the default) but no samba source "
                               "reads syslog lines",
                         "route tag smbd_audit to a file (deploy/rsyslog/) and add a source "
                         "with format: syslog, or set full_audit:syslog = false")]
        return []
    classes = class_log_files(conf.globals.get("log level"))
    level, file = classes.get("full_audit", classes.get("all", (0, None)))
    if level < 1:
        return [fail(name, "full_audit:syslog = false and `log level` is 0 for full_audit: "
                           "its records (level 1) are not written anywhere",
                     "log level = 1 full_audit:1@/var/log/samba/audit.log")]
    out: list[Finding] = []
    if file is None:
        out.append(warn(name, "records go to smbd's general debug log, mixed with everything "
                              "else (and per client with log file = …%m)",
                        "give them a file: log level = 1 full_audit:1@/var/log/samba/audit.log"))
    elif sources and os.path.abspath(file) not in formats:
        out.append(warn(name, f"records go to {file}, which no samba source reads",
                        f"add `- {{type: samba, path: {file}, format: debug}}` to sources"))
    size = conf.globals.get("max log size", "5000")
    if file is not None and size.strip() not in ("0", ""):
        out.append(warn(name, f"max log size = {size}: smbd renames {file} to {file}.old at "
                              f"that size and keeps one, overwriting records not read yet",
                        "max log size = 0 and rotate with deploy/logrotate/wallwatch"))
    return out
