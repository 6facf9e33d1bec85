"""`wallwatch init`, the questions: each shows its default in brackets; Enter (or `--yes`,
or the end of the input) takes it. A wrong answer is explained and asked again, except
when nobody is there to answer (then it is an error)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import WallwatchError
from monitor.init_host import (
    HostFacts,
    client_groups,
    effective_prefix,
    folders_of,
    not_client_looking,
)
from monitor.init_writer import Answers, ClientRoot

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_HOSTPORT = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$")

# What a validator returns: (value, None) or (None, why it is wrong).
Check = Callable[[str], tuple[str | None, str | None]]


@dataclass(frozen=True)
class Defaults:
    """Defaults a script can set with flags; None means: decide from the host."""

    shares: tuple[str, ...] = ()
    timezone: str | None = None
    store: str = "/var/lib/wallwatch/wallwatch.db"
    group_pattern: str = "client-{client}"
    staff_group: str | None = None
    email: str = ""
    smtp: str = "localhost:25"
    language: str = "zh-CN"
    rules_dir: str | None = None
    metrics_listen: str = "127.0.0.1:9108"


class Asker:
    def __init__(self, out: TextIO, assume_yes: bool, tty: bool,
                 read: Callable[[str], str] = input) -> None:
        self.out, self.assume_yes, self.tty, self.read = out, assume_yes, tty, read
        self.eof = False

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def ask(self, question: str, default: str, check: Check | None = None) -> str:
        while True:
            prompt = f"{question} [{default}]: "
            if self.assume_yes or self.eof:
                answer = default
                self.say(prompt + default)
            else:
                try:
                    typed = self.read(prompt).strip()
                    if not self.tty:  # piped: show the answer, so the output reads as a dialogue
                        self.say(typed)
                    answer = typed or default
                except EOFError:  # piped answers ran out: the rest are defaults
                    self.eof = True
                    answer = default
                    self.say(default)
            if check is None:
                return answer
            value, problem = check(answer)
            if value is not None:
                return value
            if self.assume_yes or self.eof:
                raise WallwatchError(f"{question}: {problem}", "<wallwatch init>")
            self.say(f"  {problem}")

    def yes_no(self, question: str, default: bool) -> bool:
        def check(text: str) -> tuple[str | None, str | None]:
            word = text.lower()
            if word in ("y", "yes", "是"):
                return "y", None
            if word in ("n", "no", "否"):
                return "n", None
            return None, "answer y or n"

        return self.ask(question, "Y/n" if default else "y/N", _bool_default(check, default)) == "y"


def _bool_default(check: Check, default: bool) -> Check:
    def inner(text: str) -> tuple[str | None, str | None]:
        if text in ("Y/n", "y/N"):
            return ("y" if default else "n"), None
        return check(text)
    return inner


def _timezone(text: str) -> tuple[str | None, str | None]:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None, f"{text!r} is not a timezone tzdata knows (e.g. Asia/Shanghai)"
    return text, None


def _absolute(text: str) -> tuple[str | None, str | None]:
    if not os.path.isabs(text):
        return None, "give an absolute path"
    return os.path.normpath(text), None


def _pattern(text: str) -> tuple[str | None, str | None]:
    if text.lower() == "none" or text.count("{client}") == 1:
        return text, None
    return None, "a pattern needs one {client}, e.g. client-{client}; or answer none"


def _email(text: str) -> tuple[str | None, str | None]:
    if text in ("", "none") or _EMAIL.match(text):
        return ("" if text == "none" else text), None
    return None, f"{text!r} does not look like an email address"


def _hostport(text: str) -> tuple[str | None, str | None]:
    if _HOSTPORT.match(text):
        return text, None
    return None, "give host:port, e.g. mail.firm.lan:25"


def ask_all(facts: HostFacts, asker: Asker, defaults: Defaults) -> Answers:
    names = [s.name for s in facts.shares]
    default_shares = defaults.shares or facts.default_shares()

    def share_list(text: str) -> tuple[str | None, str | None]:
        chosen = [n.strip() for n in re.split(r"[,\s]+", text) if n.strip()]
        unknown = [n for n in chosen if n not in names]
        if unknown or not chosen:
            return None, f"unknown share(s) {', '.join(unknown) or '(none)'}; " \
                         f"choose from {', '.join(names)}"
        return ",".join(dict.fromkeys(chosen)), None

    shares = asker.ask("Shares that hold client folders", ",".join(default_shares),
                       share_list).split(",")
    roots = tuple(_root(facts, asker, name) for name in shares)
    timezone = asker.ask("Timezone of this host's logs and working hours",
                         defaults.timezone or facts.timezone, _timezone)
    store = asker.ask("Where to keep the event store", defaults.store, _absolute)
    pattern: str | None = asker.ask("Local groups that name a client (or none)",
                                    defaults.group_pattern, _pattern)
    staff_group = None
    if pattern and pattern.lower() != "none":
        found = client_groups(facts.groups, pattern)
        asker.say(f"  {len(found)} group(s) in {facts.paths.group_file}: " + (", ".join(
            f"{g} → {c} ({' '.join(m) or 'no members'})" for g, (c, m) in found.items())
            or "none yet (add them later; Wallwatch re-reads them every 15 minutes)"))
        staff_default = defaults.staff_group or facts.staff_group(tuple(shares)) or "none"
        staff = asker.ask("Group every member of staff is in (or none)", staff_default)
        staff_group = None if staff.lower() == "none" else staff
    else:
        pattern = None
    read_ssh = facts.ssh_log.exists and asker.yes_no(
        f"Read SSH logins from {facts.ssh_log.path}?", True)
    read_auditd = facts.auditd_log.exists and asker.yes_no(
        f"Read the Linux audit log {facts.auditd_log.path}?", True)
    email = asker.ask("Email address for alerts (none for no mail)", defaults.email or "none",
                      _email)
    smtp, language = defaults.smtp, defaults.language
    if email:
        smtp = asker.ask("Mail relay (host:port)", defaults.smtp, _hostport)
        language = asker.ask("Language of alert messages (zh-CN or en)", defaults.language,
                             lambda t: (t, None) if t in ("zh-CN", "en")
                             else (None, "zh-CN or en"))
    return Answers(
        roots=roots, prefix=effective_prefix(tuple(s for s in facts.shares if s.name in shares)),
        timezone=timezone, store=store, group_pattern=pattern,
        group_file=None if facts.paths.group_file == "/etc/group" else facts.paths.group_file,
        staff_group=staff_group, read_ssh=read_ssh, read_auditd=read_auditd,
        email=email or None, smtp=smtp, language=language, rules_dir=defaults.rules_dir,
        metrics_listen=defaults.metrics_listen)


def _root(facts: HostFacts, asker: Asker, name: str) -> ClientRoot:
    share = facts.share(name)
    assert share is not None

    def inside(text: str) -> tuple[str | None, str | None]:
        path, problem = _absolute(text)
        if path is None:
            return None, problem
        if path != share.path and not path.startswith(share.path.rstrip("/") + "/"):
            return None, f"{path} is not in the share [{name}] ({share.path})"
        if not os.path.isdir(path):
            return None, f"{path} is not a folder"
        return path, None

    if share.problem:
        asker.say(f"  [{name}]: {share.problem}")
    directory = asker.ask(f"[{name}] folder that holds one folder per client",
                          share.clients_dir(), None if share.problem else inside)
    clients = folders_of(directory)
    asker.say(f"  {len(clients)} client folder(s): {', '.join(clients) or 'none yet'}")
    odd = not_client_looking(clients)
    if odd:
        asker.say(f"  note: {', '.join(odd)} do not look like clients: the config lists them"
                  " under clients.ignore (take out any that is a client)")
    return ClientRoot(name, directory, clients)
