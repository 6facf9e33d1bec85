"""`wallwatch init`, part 2: the answers → a commented wallwatch.yaml and the Samba snippet.

Pure text functions: nothing is written here (init_cli.py writes, after checking that the
config loads and the snippet passes doctor's smb.conf checks).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from monitor.doctor_samba import WANTED_SUCCESS
from monitor.init_host import HostFacts, Share, not_client_looking
from monitor.samba_conf import NEVER_LOGGED, class_log_files, split_list

# deploy/samba/smb.conf.snippet's lists (a test keeps them equal): pread_send and
# pwrite_send repeat their _recv twin on success, but a failed _send has no _recv.
SUCCESS_OPS: tuple[str, ...] = WANTED_SUCCESS
FAILURE_OPS: tuple[str, ...] = ("connect", "disconnect", "create_file", "openat", "close",
                                "pread_send", "pread_recv", "pwrite_send", "pwrite_recv",
                                "renameat", "unlinkat", "mkdirat", "fchmod", "fchown",
                                "fset_nt_acl", "fset_dos_attributes")
_AUDIT_CLASSES = ("full_audit", "auth_audit", "auth_json_audit")


@dataclass(frozen=True)
class ClientRoot:
    share: str
    directory: str  # the folder that holds one folder per client
    clients: tuple[str, ...]  # the folders found there today


@dataclass(frozen=True)
class Answers:
    roots: tuple[ClientRoot, ...]
    prefix: str
    timezone: str
    store: str
    group_pattern: str | None  # None: no local-groups provider
    group_file: str | None  # None: the system's groups (NSS)
    staff_group: str | None
    read_ssh: bool
    read_auditd: bool
    email: str | None
    smtp: str  # host:port of the mail relay
    language: str
    rules_dir: str | None  # None: the rule pack shipped with Wallwatch
    metrics_listen: str


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's too), UTF-8 kept."""
    return json.dumps(text, ensure_ascii=False)


def ops_for(existing: Iterable[str], wanted: tuple[str, ...],
            valid: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Our operations plus those the share logs already, minus names this Samba does
    not know (they break every tree connect) or never logs. Returns (ops, dropped)."""
    out: list[str] = []
    dropped: list[str] = []
    for name in (*wanted, *existing):
        if name in out or name in dropped or name in ("all", "none"):
            continue
        if name.lstrip("!") not in valid or name in NEVER_LOGGED:
            dropped.append(name)
        else:
            out.append(name)
    return tuple(out), tuple(dropped)


def _log_level(facts: HostFacts) -> str:
    """smb.conf's `log level` with the audit classes pointed at our files; every other
    class the admin set is kept (the snippet's value replaces the whole parameter)."""
    current = facts.conf.globals.get("log level") if facts.conf else None
    items = [i for i in split_list(current)
             if i.partition(":")[0].lower() not in _AUDIT_CLASSES and not i.isdigit()]
    base = class_log_files(current).get("all", (1, None))[0]
    auth = facts.auth_log.path
    return " ".join([str(base), f"full_audit:1@{facts.audit_log.path}", *items,
                     f"auth_audit:3@{auth}", f"auth_json_audit:3@{auth}"])


def render_snippet(facts: HostFacts, answers: Answers, valid: frozenset[str],
                   origin: str, include_line: str) -> str:
    version = facts.samba_version or "the installed Samba"
    lines = [
        f"# Wallwatch: Samba vfs_full_audit, written by `wallwatch init` on {date.today()}",
        f"# for Samba {version}; operation names checked against {origin}.",
        "# Add it to smb.conf with ONE line at the end of the file (smbd reads it in place):",
        f"#   {include_line}",
        "# then: testparm -s && smbcontrol smbd reload-config && wallwatch doctor",
        "# An unknown operation name makes EVERY tree connect to the share fail and testparm",
        "# does not notice: keep to the names below, or run `wallwatch doctor` after editing.",
        "",
        "[global]",
        "   # full_audit's records (two lines each) and the logon audit (failed logons never",
        "   # reach full_audit), each class to a file of its own that Wallwatch reads.",
        f"   log level = {_log_level(facts)}",
        "   # smbd would rotate these files itself, keeping ONE old copy: rotate them with",
        "   # logrotate instead (deploy/logrotate/wallwatch).",
        "   max log size = 0",
    ]
    chosen = {root.share for root in answers.roots}
    for share in facts.shares:
        if share.name not in chosen:
            continue
        lines += ["", *_share_lines(share, answers.prefix, valid)]
    return "\n".join(lines) + "\n"


def _share_lines(share: Share, prefix: str, valid: frozenset[str]) -> list[str]:
    vfs = [*share.vfs_objects] + ([] if share.audited else ["full_audit"])
    success, dropped_s = ops_for(share.success, SUCCESS_OPS, valid)
    failure, dropped_f = ops_for(share.failure, FAILURE_OPS, valid)
    out = [f"[{share.name}]",
           "   # The share's modules with full_audit added (never replace the list).",
           f"   vfs objects = {' '.join(vfs)}",
           "   # user|client IP|client machine|share; Wallwatch's samba source has the same.",
           f"   full_audit:prefix = {prefix}",
           "   # Only operations that fire on Samba 4.17+; open/read/write/pread/pwrite are",
           "   # accepted but never logged there (see deploy/samba/smb.conf.snippet).",
           f"   full_audit:success = {' '.join(success)}",
           f"   full_audit:failure = {' '.join(failure)}"]
    dropped = sorted(set(dropped_s) | set(dropped_f))
    if dropped:
        out.insert(-2, "   # Left out (unknown to this Samba or never logged): "
                       f"{' '.join(dropped)}")
    out += ["   # To the debug class file above, not syslog.",
            "   full_audit:syslog = false",
            "   # Permission changes carry the new security descriptor (SDDL).",
            "   full_audit:log_secdesc = true"]
    return out


def _section(title: str, *lines: str) -> list[str]:
    return ["", f"# --- {title} " + "-" * max(3, 84 - len(title)), *lines]


def render_config(facts: HostFacts, answers: Answers, snippet_path: str) -> str:
    host = socket.gethostname()
    out = [f"# wallwatch.yaml for {host}, written by `wallwatch init` on {date.today()}.",
           "# Check it with `wallwatch config check` and the whole host with `wallwatch doctor`;",
           "# every key is described in docs/CONFIGURATION.md. SIGHUP reloads it.",
           "",
           "# Times in logs without a zone, working hours and holidays are in this zone.",
           f"timezone: {q(answers.timezone)}"]
    out += _section("store",
                    "store:",
                    "  # Every event, alert and cursor; only the daemon's user may read it.",
                    f"  path: {q(answers.store)}",
                    "  retention: 180d    # the Cybersecurity Law's minimum for access logs")
    out += _sources(facts, answers, snippet_path)
    out += _clients(answers)
    out += _assignments(facts, answers)
    if answers.rules_dir:
        out += _section("rules",
                        "rules:",
                        "  # The rule pack (copied from the source's rules/); add your own files.",
                        f"  paths: [{q(answers.rules_dir)}]")
    out += _notify(answers)
    out += _section("metrics",
                    "metrics:",
                    "  # Prometheus /metrics and /healthz (deploy/prometheus/); loopback only.",
                    f"  listen: {q(answers.metrics_listen)}")
    out += _section("elasticsearch and Kibana (optional)",
                    "# With several storage hosts, ship everything to one cluster; see README",
                    "# (\"Elasticsearch and Kibana\") and dashboards/:",
                    "# elasticsearch:",
                    "#   url: https://es1.firm.lan:9200",
                    "#   auth: {api_key_file: /etc/wallwatch/es-api-key}",
                    "#   ca_file: /etc/wallwatch/es-ca.crt")
    return "\n".join(out) + "\n"


def _sources(facts: HostFacts, answers: Answers, snippet_path: str) -> list[str]:
    out = _section("sources: the logs this host writes",
                   "sources:",
                   "  # Samba's vfs_full_audit records; smb.conf settings in",
                   f"  # {snippet_path}",
                   "  - type: samba",
                   "    name: samba",
                   f"    path: {q(facts.audit_log.path)}",
                   "    format: debug",
                   f"    prefix: {q(answers.prefix)}    # equal to full_audit:prefix in smb.conf",
                   "  # SMB logons, failed ones included (smb.conf auth_audit classes)",
                   "  - type: samba_auth",
                   "    name: samba-auth",
                   f"    path: {q(facts.auth_log.path)}")
    ssh = ["  - type: sshd", f"    path: {q(facts.ssh_log.path)}"]
    if answers.read_ssh:
        out += ["  # SSH logins (syslog's auth.log)", *ssh]
    else:
        out += [f"  # SSH logins: {facts.ssh_log.path} is not there (rsyslog not installed?)",
                *(f"  #{line[1:]}" for line in ssh)]
    auditd = ["  - type: auditd", f"    path: {q(facts.auditd_log.path)}"]
    if answers.read_auditd:
        out += ["  # Linux audit: changes made on the host itself (deploy/auditd/wallwatch.rules)",
                *auditd]
    else:
        why = ("auditd is not installed" if not facts.auditd_installed
               else f"{facts.auditd_log.path} is not there yet")
        out += [f"  # Linux audit ({why}; apt-get install auditd, deploy/auditd/):",
                *(f"  #{line[1:]}" for line in auditd)]
    return out


def _clients(answers: Answers) -> list[str]:
    out = _section("clients: one folder per client; its name is the client code",
                   "clients:", "  paths:")
    for root in answers.roots:
        found = ", ".join(root.clients) if root.clients else "none yet"
        out.append(f"    # [{root.share}] {root.directory}: {found}")
        out.append(f"    - {q(os.path.join(root.directory, '{client}') + '/**')}")
    odd = sorted({f for root in answers.roots for f in not_client_looking(root.clients)})
    out += ["  # Folders there that are not clients (templates, scans): no client rule fires",
            "  # on them. They look like it by their names; take out any that is a client.",
            f"  ignore: [{', '.join(q(f) for f in odd)}]",
            "  # Offboarded clients: any access to their folders raises an alert.",
            "  archived: []",
            "shares:"]
    out += [f"  {q(root.share)}: {q(root.directory)}" for root in answers.roots]
    return out


def _assignments(facts: HostFacts, answers: Answers) -> list[str]:
    out = _section("who works for which client")
    if answers.group_pattern:
        from monitor.init_host import client_groups

        found = client_groups(facts.groups, answers.group_pattern)
        shown = ", ".join(f"{g} ({' '.join(m) or 'no members'})" for g, (_c, m) in found.items())
        out += ["assignments:",
                f"  # Members of the local group {answers.group_pattern} work for that client.",
                f"  # Found: {shown or 'none yet'}",
                "  - type: groups",
                f"    group_pattern: {q(answers.group_pattern)}"]
        if answers.staff_group:
            out += ["    # Everyone in it is staff: judged even without a client group.",
                    f"    staff_groups: [{q(answers.staff_group)}]"]
        if answers.group_file:
            out.append(f"    group_file: {q(answers.group_file)}")
        out.append("    refresh: 15m")
    if facts.conf is not None and (facts.conf.globals.get("security") or "").lower() == "ads":
        realm = facts.conf.globals.get("realm", "FIRM.LOCAL").lower()
        base = ",".join(f"DC={part}" for part in realm.split("."))
        out += ["# This host is in an Active Directory domain: groups can come from there.",
                "# assignments:",
                f"#   - {{type: ldap, url: ldaps://{realm}, base: {q(base)},",
                "#      bind_dn: 'CN=wallwatch,CN=Users," + base + "',",
                "#      password_file: /etc/wallwatch/ldap.pw, user_attribute: sAMAccountName,",
                "#      group_pattern: 'client-{client}'}"]
    example = [c for root in answers.roots for c in root.clients][:2] or ["acme", "globex"]
    out += ["# Exceptions no group says: partners who see all clients but one, departures.",
            "# staff:",
            f"#   zhang.wei: [{', '.join(example)}]",
            f"#   wang.fang: {{clients: [\"*\"], except: [{example[-1]}]}}",
            f"#   chen.jie: {{clients: [{example[0]}], left: 2026-06-30}}",
            "staff: {}"]
    return out


def _notify(answers: Answers) -> list[str]:
    if not answers.email:
        return _section("notifications",
                        "# Alerts by mail or chat (WeCom, DingTalk, Slack …): see README.",
                        "# notify:",
                        "#   routes:",
                        "#     - {name: it-mail, urls: [\"mailto://mail.firm.lan:25?"
                        "from=wallwatch@firm.lan&to=it@firm.lan&mode=insecure\"]}")
    host, _, port = answers.smtp.rpartition(":")
    mode = {"465": "ssl", "587": "starttls"}.get(port, "insecure")
    sender = f"wallwatch@{socket.getfqdn()}"
    url = f"mailto://{host}:{port}?from={sender}&to={answers.email}&mode={mode}"
    return _section("notifications",
                    "notify:",
                    "  routes:",
                    "    - name: it-mail",
                    "      # A relay that needs a password: put the URL in a file (url_files).",
                    f"      urls: [{q(url)}]",
                    "      match: {severity: medium}   # medium, high and critical alerts",
                    f"      language: {answers.language}")
