"""Schema of `sources:`: the keys every source has, and each source type's options.

A source type registered in monitor/sources/__init__.py gets its options
accepted only when they are documented here (config.py takes the intersection),
and tests/test_config_schema.py fails for a registered option without a line here.
"""

from __future__ import annotations

from monitor.config_schema.model import Key, Section


def _path(doc: str, example: str) -> Key:
    return Key("path", "path", doc, example=example, required=True)


SAMBA = Section("samba", "Samba's `vfs_full_audit` log: file opens, reads, writes, "
                "renames, deletes, permission and owner changes.", (
    _path("The audit log: smbd's debug log (`full_audit:syslog = false` and "
          "`log level = 1 full_audit:1@FILE`) or a syslog file.",
          "/var/log/samba/audit.log"),
    Key("format", "string", "How the log is written; `auto` decides line by line.",
        example="debug", default="auto", choices=("auto", "debug", "syslog")),
    Key("prefix", "string", "Must equal `full_audit:prefix` in smb.conf; `%m|%S` add "
        "the client's machine name and the share.", example="%u|%I|%m|%S", default="%u|%I"),
    Key("tag", "string", "Syslog tag of the audit lines (syslog format).",
        example="smbd_audit", default="smbd_audit"),
))

SAMBA_AUTH = Section("samba_auth", "Samba's authentication audit (`auth_audit`, "
                     "`auth_json_audit`): the only place failed SMB logins appear.", (
    _path("The log Samba writes them to (`log level = 1 auth_audit:3@FILE "
          "auth_json_audit:3@FILE`), or a syslog file.", "/var/log/samba/auth.log"),
    Key("tag", "string or list of strings", "Syslog tag(s) of smbd's lines (syslog form).",
        example=["smbd"], default=["smbd", "samba"]),
))

SSHD = Section("sshd", "OpenSSH logins, failed logins, sessions and disconnects, from "
               "syslog (RFC 3339 or BSD) or `journalctl -o json` lines.", (
    _path("The syslog file sshd and PAM write to.", "/var/log/auth.log"),
    Key("program", "string or list of strings", "Syslog tag(s) of sshd's lines; `sshd` "
        "also takes OpenSSH 9.8's `sshd-session`.", example=["sshd"], default="sshd"),
))

AUDITD = Section("auditd", "The Linux audit log, raw or `ENRICHED`; the records of one "
                 "event are joined and its paths made absolute.", (
    _path("auditd's log file.", "/var/log/audit/audit.log"),
    Key("lag", "whole number", "Records of later events to read before an incomplete "
        "event is given up on and emitted (1 to 10000).", example=128, default=64),
))

WINLOG = Section("winlog", "Windows Security events as JSON lines (Winlogbeat file "
                 "output, EVTX exports): 4624, 4625, 4663, 4670, 5140, 5145 and others.", (
    _path("The JSON-lines file.", "/var/log/winlog/security.ndjson"),
    Key("channels", "list of strings, or \"*\"", "Channels whose events are kept; `\"*\"` "
        "keeps every channel.", example=["Security"], default=["Security"]),
    Key("keep_message", "true/false", "Keep the rendered `Message` text (kilobytes per "
        "event, a rendering of fields that are kept anyway).", example=False, default=False),
))

FSWATCH = Section("fswatch", "A filesystem watcher (inotify plus a stored snapshot): "
                  "permission, owner and ACL changes with before and after, creations, "
                  "deletions and renames.", (
    _path("The folder to watch, with everything below it.", "/srv/share/clients"),
    Key("exclude", "list of strings", "Glob patterns to skip: with a `/` on the path "
        "relative to `path`, without on any single name; a skipped folder hides its tree.",
        example=["~$*", "*.tmp"], default=[]),
    Key("rescan_every", "duration", "How often the whole tree is compared with the "
        "snapshot (inotify has blind spots); `0s` never.", example="12h", default="24h"),
))

TYPES = (SAMBA, SAMBA_AUTH, SSHD, AUDITD, WINLOG, FSWATCH)

SOURCES = Section("sources", "The logs (and folders) this host reads. Each source "
                  "keeps its position in the store: a restart continues where it stopped.", (
    Key("type", "string", "The source type: one of the sections below.",
        example="samba", required=True, choices=tuple(t.name for t in TYPES)),
    Key("path", "path", "What the source reads.", example="/var/log/samba/audit.log",
        required=True),
    Key("name", "string", "Unique name; part of every event id, so keep it once events "
        "are stored.", example="fs01-audit", default_doc="`<type>:<absolute path>`"),
), kind="list", variants=TYPES)
