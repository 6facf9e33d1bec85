"""`wallwatch doctor`: the systems around the daemon — the kernel's audit rules,
Elasticsearch, notification URLs, the clock.

The Elasticsearch and notify sections are parsed by their sinks' own parsers, so the doctor
judges exactly what the daemon will use; it never prints a secret (URLs only as
`scheme://host`).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.config import Config
from monitor.doctor_findings import Finding, fail, mask_urls, ok, skip, warn
from monitor.errors import WallwatchError

RULES_FILE = "deploy/auditd/wallwatch.rules"


# ---------------------------------------------------------------------------- auditd

def check_auditd(config: Config) -> list[Finding]:
    if not any(s.type == "auditd" for s in config.sources):
        return []
    name = "auditd rules"
    if shutil.which("auditctl") is None:
        return [fail(name, "an auditd source is configured but auditctl is not installed",
                     "apt-get install auditd")]
    if os.geteuid() != 0:
        return [skip(name, "only root may ask the kernel for its audit rules; run doctor "
                           "as root for this check")]
    status = _auditctl("-s")
    rules = _auditctl("-l")
    if status is None or rules is None:
        return [fail(name, "auditctl failed: the kernel has no audit support here?",
                     "check `auditctl -s` by hand")]
    return [audit_finding(status, rules)]


def _auditctl(arg: str) -> str | None:
    try:
        done = subprocess.run(["auditctl", arg], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def audit_finding(status_text: str, rules_text: str) -> Finding:
    """Judge `auditctl -s` and `auditctl -l` output."""
    name = "auditd rules"
    status = dict(line.split(" ", 1) for line in status_text.splitlines() if " " in line)
    rules = [r for r in rules_text.splitlines() if r.strip() and r.strip() != "No rules"]
    install = (f"install {RULES_FILE} as /etc/audit/rules.d/50-wallwatch.rules (set the share "
               "root) and run `augenrules --load`")
    if not rules:
        return fail(name, "no audit rules are loaded: the kernel records nothing for the "
                          "auditd source", install)
    if status.get("enabled", "0").strip() == "0":
        return fail(name, f"{len(rules)} rule(s) loaded but auditing is disabled (enabled 0)",
                    "start auditd (`systemctl enable --now auditd`) or `auditctl -e 1`")
    if status.get("pid", "0").strip() == "0":
        return fail(name, "rules are loaded but no auditd is running: records go to the "
                          "kernel log, not to the file Wallwatch reads",
                    "systemctl enable --now auditd")
    keys: set[str] = set()
    for rule in rules:  # `-a … -F key=K` lists as key=K, a watch `-w … -k K` as -k K
        parts = rule.split()
        keys.update(p.split("=", 1)[1] for p in parts if p.startswith("key="))
        keys.update(parts[i + 1] for i, p in enumerate(parts[:-1]) if p == "-k")
    shown = ", ".join(sorted(keys)) or "none"
    if not any(k.startswith("wallwatch") for k in keys):
        return ok(name, f"{len(rules)} rule(s) loaded (keys: {shown}); none from {RULES_FILE}")
    return ok(name, f"{len(rules)} rule(s) loaded, auditd pid {status['pid'].strip()}, "
                    f"keys: {shown}")


# --------------------------------------------------------------------- elasticsearch

def check_elasticsearch(config: Config) -> list[Finding]:
    """Reachable with these credentials, and of the client's major version (the 9.x client
    sends compatible-with=9 and an 8.x cluster refuses it)."""
    from monitor.sinks.es_client import CLIENT_MAJOR, describe, make_client
    from monitor.sinks.es_config import parse_es_config

    name = "elasticsearch"
    try:
        cfg = parse_es_config(config)
    except WallwatchError as exc:
        return [fail(name, str(exc), exc.hint or f"correct {exc.location}")]
    if cfg is None:
        return [skip(name, "not configured")]
    cfg = replace(cfg, timeout=min(cfg.timeout, 10.0))
    shown = ", ".join(mask_host(u) for u in cfg.urls)
    try:
        client = make_client(cfg)
        try:
            info = client.info()
        finally:
            client.close()
    except Exception as exc:  # any failure to reach it is the finding; never the secret
        return [fail(name, f"{shown} does not answer: {describe(exc, cfg.auth)}",
                     "check url, ca_file, the API key or password (auth:) and the firewall")]
    version = str(info.get("version", {}).get("number", "?"))
    major = int(version.split(".")[0]) if version[:1].isdigit() else -1
    if major != CLIENT_MAJOR:
        return [fail(name, f"{shown} runs Elasticsearch {version}; this Wallwatch's client "
                           f"speaks only to {CLIENT_MAJOR}.x (compatible-with={CLIENT_MAJOR})",
                     f"use a {CLIENT_MAJOR}.x cluster, or install the elasticsearch "
                     f"{major}.x Python client in Wallwatch's venv")]
    return [ok(name, f"{shown}: Elasticsearch {version}, cluster "
                     f"{info.get('cluster_name', '?')}, auth {cfg.auth.origin}")]


def mask_host(url: str) -> str:
    """https://user:pw@host:9200/x → https://host:9200 (no userinfo, no path)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}" if scheme else host


# ---------------------------------------------------------------------- notifications

def check_notify(config: Config) -> list[Finding]:
    """Every route's URLs parse with apprise (the notify sink's own parser checks each one
    and names the failing route and URL number, never the URL)."""
    from monitor.sinks.notify_config import parse_notify

    name = "notify"
    try:
        cfg = parse_notify(config)
    except WallwatchError as exc:
        return [fail(name, mask_urls(str(exc)), exc.hint or f"correct {exc.location}; Teams "
                     "is workflows:// since apprise 2.3 (msteams:// is gone)")]
    if cfg is None:
        return [skip(name, "not configured")]
    urls = [u for r in cfg.routes for u in r.urls]
    schemes = sorted({u.split("://", 1)[0] for u in urls if "://" in u})
    return [ok(name, f"{len(cfg.routes)} route(s), {len(urls)} URL(s) parse with apprise "
                     f"(schemes: {', '.join(schemes)})")]


# --------------------------------------------------------------------------- clock

def host_timezone() -> str | None:
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return os.environ.get("TZ") or None
    return target.split("zoneinfo/", 1)[-1]


def check_timezone(config: Config) -> list[Finding]:
    name = "timezone"
    host = host_timezone()
    configured = str(config.timezone.key)
    if host is None:
        return [warn(name, f"config says {configured}; the host's zone is unknown",
                     "timedatectl set-timezone " + configured)]
    try:
        host_zone = ZoneInfo(host)
    except Exception:
        return [warn(name, f"the host's zone {host!r} is not in tzdata",
                     "apt-get install tzdata; timedatectl set-timezone " + configured)]
    now = datetime.now(UTC)
    if now.astimezone(host_zone).utcoffset() != now.astimezone(config.timezone).utcoffset():
        # a warning, not a failure: smbd may run with its own TZ= (then the logs are right);
        # the newest-record check catches a shift that puts events in the future
        return [warn(name, f"the host runs in {host} but wallwatch.yaml says {configured}: "
                           "Samba's debug log and classic syslog lines carry the host's local "
                           f"time without a zone and would be read as {configured}",
                     f"make them agree: `timezone: {host}` or "
                     f"`timedatectl set-timezone {configured}` (then restart smbd)")]
    return [ok(name, f"{configured}, the same as the host's ({host})")]


def check_ntp() -> Finding:
    """NTP synchronisation: timedatectl where systemd runs, else the kernel's own flag."""
    name = "clock sync"
    if shutil.which("timedatectl"):
        try:
            done = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                                  capture_output=True, text=True, timeout=10)
            if done.returncode == 0 and done.stdout.strip() in ("yes", "no"):
                if done.stdout.strip() == "yes":
                    return ok(name, "NTP synchronized (timedatectl)")
                return warn(name, "the clock is not NTP-synchronized (timedatectl): event "
                                  "times from different hosts will not line up",
                            "timedatectl set-ntp true (systemd-timesyncd or chrony)")
        except (OSError, subprocess.SubprocessError):
            pass
    state = _adjtimex_state()
    if state is None:
        return skip(name, "cannot tell (no timedatectl answer, no adjtimex)")
    if state == 5:  # TIME_ERROR: the kernel clock is not synchronized
        return warn(name, "the kernel says the clock is not synchronized (adjtimex "
                          "TIME_ERROR)", "run an NTP client: systemd-timesyncd or chrony")
    return ok(name, "synchronized (kernel adjtimex state)")


def _adjtimex_state() -> int | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex (208 bytes on x86_64); modes=0
        state = int(libc.adjtimex(buf))
    except (OSError, AttributeError):
        return None
    return None if state < 0 else state
