"""`wallwatch init`: look at this host, ask a few questions, write a commented
wallwatch.yaml and the Samba full_audit snippet, then run `wallwatch doctor` on them.

Nothing existing is overwritten without --force, and smb.conf itself is never edited:
the admin adds one `include =` line (init prints it). Both files are checked before they
are written: the config loads (with its assignments and notify sections), and smb.conf
with the snippet included passes doctor's full_audit checks against the installed Samba.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import os
import sys
import tempfile
from pathlib import Path

from monitor.assignments.settings import parse_assignments
from monitor.config import load_config
from monitor.doctor import DoctorOptions, report, run_doctor
from monitor.doctor_findings import Finding, Status
from monitor.doctor_samba import check_smb_conf
from monitor.errors import WallwatchError
from monitor.init_ask import Asker, Defaults, ask_all
from monitor.init_host import HostFacts, HostPaths, discover
from monitor.init_writer import Answers, render_config, render_snippet
from monitor.samba_conf import valid_ops
from monitor.service import SHIPPED_RULES
from monitor.sinks.notify_config import parse_notify

SNIPPET_NAME = "wallwatch-audit.conf"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init", help="look at this host and write wallwatch.yaml and the Samba audit snippet",
        description="Interactive: every question shows its default in brackets (Enter takes "
                    "it). Writes the config to -c/--config (or --output) and the Samba "
                    "snippet next to smb.conf, then runs `wallwatch doctor` on them.")
    p.add_argument("-y", "--yes", action="store_true", help="take every default (for scripts)")
    p.add_argument("--output", help="where to write the config (default: -c/--config)")
    p.add_argument("--snippet", help=f"where to write the Samba snippet (default: "
                                     f"{SNIPPET_NAME} next to smb.conf)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    host = HostPaths()
    where = p.add_argument_group("where to look (defaults: a Debian/Ubuntu host)")
    where.add_argument("--smb-conf", default=host.smb_conf)
    where.add_argument("--group-file", default=host.group_file)
    where.add_argument("--samba-log", default=host.samba_audit_log,
                       help="full_audit's file when smb.conf names none (default: %(default)s)")
    where.add_argument("--samba-auth-log", default=host.samba_auth_log)
    where.add_argument("--ssh-log", default=host.ssh_log)
    where.add_argument("--auditd-log", default=host.auditd_log)
    d = Defaults()
    answers = p.add_argument_group("default answers")
    answers.add_argument("--share", action="append", default=[], help="share with client "
                         "folders (repeatable; default: guessed from smb.conf)")
    answers.add_argument("--timezone", help="default: this host's zone")
    answers.add_argument("--store", default=d.store)
    answers.add_argument("--group-pattern", default=d.group_pattern,
                         help="local groups naming a client, or none (default: %(default)s)")
    answers.add_argument("--staff-group")
    answers.add_argument("--email", default=d.email, help="alert mail recipient")
    answers.add_argument("--smtp", default=d.smtp, help="mail relay host:port")
    answers.add_argument("--language", default=d.language, choices=("zh-CN", "en"))
    answers.add_argument("--rules", help="rule folder (default: the config's folder's rules/ "
                                         "when it exists, else the shipped pack)")
    answers.add_argument("--metrics-listen", default=d.metrics_listen)
    p.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    out = sys.stdout
    output = os.path.abspath(args.output or args.config)
    smb_conf = os.path.abspath(args.smb_conf)
    snippet = os.path.abspath(args.snippet or os.path.join(os.path.dirname(smb_conf),
                                                           SNIPPET_NAME))
    for path in (output, snippet):  # before any question: do not waste the admin's time
        if os.path.exists(path) and not args.force:
            raise WallwatchError(f"{path} exists; not overwritten",
                                 "<wallwatch init>", hint="--force replaces it, or "
                                 "--output/--snippet write elsewhere")
    paths = HostPaths(smb_conf, args.group_file, args.samba_log, args.samba_auth_log,
                      args.ssh_log, args.auditd_log)
    facts = discover(paths)
    asker = Asker(out, args.yes, sys.stdin.isatty())
    _describe(facts, asker)
    if not facts.shares:
        raise WallwatchError(facts.smb_conf_error or "no file share found in smb.conf",
                             smb_conf, hint="pass --smb-conf with the smb.conf smbd uses "
                             "(`smbd -b | grep CONFIGFILE`)")
    defaults = Defaults(
        shares=tuple(args.share), timezone=args.timezone, store=args.store,
        group_pattern=args.group_pattern, staff_group=args.staff_group, email=args.email,
        smtp=args.smtp, language=args.language,
        rules_dir=args.rules or _rules_dir(output), metrics_listen=args.metrics_listen)
    answers = ask_all(facts, asker, defaults)
    include = f"include = {snippet}"
    valid, origin = valid_ops()
    config_text = render_config(facts, answers, snippet)
    snippet_text = render_snippet(facts, answers, valid, origin, include)
    needed, problems = _check(config_text, snippet_text, smb_conf, answers)
    _write(output, config_text, 0o640, group="wallwatch")
    _write(snippet, snippet_text, 0o644)
    asker.say(f"\nwrote {output}\nwrote {snippet}")
    for finding in problems:
        asker.say(f"  snippet check: {finding.line()}")
    _next_steps(facts, answers, asker, smb_conf, include if needed else None, output)
    asker.say(f"\n$ wallwatch -c {output} doctor --smb-conf {smb_conf}")
    findings = run_doctor(DoctorOptions(config=output, smb_conf=smb_conf))
    text, code = report(findings)
    out.write(text)
    if code:
        failed = [f.check for f in findings if f.status is Status.FAIL]
        asker.say(f"\ninit: the config was written; doctor reports {len(failed)} failure(s) "
                  f"({', '.join(dict.fromkeys(failed))}): the FAIL lines above say what to do, "
                  "then run `wallwatch doctor` again")
    return 0


def _rules_dir(output: str) -> str | None:
    """Installed from a wheel, Wallwatch has no rules/ of its own: the quick start copies
    the pack next to the config. A checkout (or an editable install) has it."""
    beside = os.path.join(os.path.dirname(output), "rules")
    if os.path.isdir(beside) or not SHIPPED_RULES.is_dir():
        return beside
    return None


def _describe(facts: HostFacts, asker: Asker) -> None:
    version = facts.samba_version or "not found"
    asker.say(f"Samba {version}; {facts.paths.smb_conf}: "
              f"{facts.smb_conf_error or f'{len(facts.shares)} file share(s)'}")
    for share in facts.shares:
        audited = "audited" if share.audited else "not audited yet"
        folders = ", ".join(share.folders[:8]) + (" …" if len(share.folders) > 8 else "")
        asker.say(f"  [{share.name}] {share.path}: {len(share.folders)} folder(s)"
                  f"{': ' + folders if folders else ''} ({audited})"
                  f"{'; ' + share.problem if share.problem else ''}")
    for name, why in facts.skipped_shares:
        asker.say(f"  [{name}] skipped: {why}")
    for log, what in ((facts.audit_log, "Samba audit"), (facts.auth_log, "Samba logons"),
                      (facts.ssh_log, "SSH logins"), (facts.auditd_log, "Linux audit")):
        state = "present" if log.exists else "not there yet"
        asker.say(f"  {what}: {log.path} ({state})")
    if facts.syslog_audit:
        asker.say(f"  note: full_audit sends its records to syslog today; the snippet writes "
                  f"them to {facts.audit_log.path} instead (drop the rsyslog rule if nothing "
                  "else reads them)")
    if not facts.auditd_installed:
        asker.say("  auditd is not installed (apt-get install auditd)")
    if facts.groups_error:
        asker.say(f"  groups: {facts.groups_error}")
    for note in facts.notes:
        asker.say(f"  note: {note}")


def _check(config_text: str, snippet_text: str, smb_conf: str,
           answers: Answers) -> tuple[bool, list[Finding]]:
    """Load the config as the daemon would (one that does not load is our bug: raise),
    and run doctor's smb.conf checks on smb.conf alone and with the snippet included.
    Returns whether smb.conf needs the snippet, and the snippet's warnings and failures."""
    chosen = {f"smb.conf [{root.share}]" for root in answers.roots}

    def judged(findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if f.status in (Status.WARN, Status.FAIL)
                and (f.check in chosen or f.check == "smb.conf")]

    with tempfile.TemporaryDirectory(prefix="wallwatch-init-") as tmp:
        config_path = Path(tmp) / "wallwatch.yaml"  # every path in it is absolute
        config_path.write_text(config_text, encoding="utf-8")
        config = load_config(config_path)
        parse_assignments(config)
        parse_notify(config)
        snippet = Path(tmp) / "snippet.conf"
        snippet.write_text(snippet_text, encoding="utf-8")
        combined = Path(tmp) / "smb.conf"
        combined.write_text(f"include = {smb_conf}\ninclude = {snippet}\n", encoding="utf-8")
        after = check_smb_conf(str(combined), config)
        before = check_smb_conf(smb_conf, config) if os.path.exists(smb_conf) else []
    syntax = [f for f in after if f.check == "smb.conf syntax" and f.status is Status.FAIL]
    audited = {f.check for f in before if f.status is Status.OK and f.check in chosen}
    needed = bool(judged(before)) or audited != chosen
    return needed, syntax + judged(after)


def _write(path: str, text: str, mode: int, group: str | None = None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    if group and os.geteuid() == 0:  # the daemon's group reads it; root alone writes
        with contextlib.suppress(KeyError):
            os.chown(tmp, 0, grp.getgrnam(group).gr_gid)
    os.replace(tmp, path)


def _next_steps(facts: HostFacts, answers: Answers, asker: Asker, smb_conf: str,
                include: str | None, output: str) -> None:
    if include is None:
        steps = [f"smb.conf already audits {', '.join(f'[{r.share}]' for r in answers.roots)}"
                 " as Wallwatch needs: the snippet is only for reference"]
    else:
        steps = [f"add the snippet to Samba:  echo '{include}' >> {smb_conf}\n"
                 "     then:  testparm -s > /dev/null && smbcontrol smbd reload-config"]
    if answers.rules_dir and not os.path.isdir(answers.rules_dir):
        steps.append(f"copy the rule pack:  install -d {answers.rules_dir} && "
                     f"cp rules/*.yaml {answers.rules_dir}/   (from the Wallwatch source)")
    if not facts.auditd_log.exists:
        steps.append("Linux audit (optional): deploy/auditd/wallwatch.rules, start auditd, "
                     f"then uncomment the auditd source in {output}")
    steps.append("start it:  systemctl enable --now wallwatch   (systemd/wallwatch.service)")
    asker.say("\nNext:")
    for number, step in enumerate(steps, 1):
        asker.say(f"  {number}. {step}")
