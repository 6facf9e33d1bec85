"""deploy/auditd/wallwatch.rules: every line is a valid auditctl rule, and loaded into the
kernel (paths moved to a temp tree, with a private auditd, removed again one by one, never
`auditctl -D`) it records what it promises, with its keys, and leaves smbd's accesses to
full_audit. Wallwatch's auditd source then reads the keys as tags."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.sources.reading import parse_file
from tests.daemon_process import write_config

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "deploy" / "auditd" / "wallwatch.rules"
ARCHES = {"b64": "x86_64", "b32": "i386"}
FIELDS = {"arch", "dir", "perm", "exe", "path", "auid", "uid"}
KEYS = {"wallwatch-perm", "wallwatch-acl", "wallwatch-local", "wallwatch-logs",
        "wallwatch-config"}


def rule_lines(text: str | None = None) -> list[list[str]]:
    text = RULES.read_text() if text is None else text
    return [shlex.split(line) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _known_syscall(arch: str, name: str) -> bool:
    if name.isdigit():
        return True
    done = subprocess.run(["ausyscall", ARCHES[arch], name, "--exact"], capture_output=True,
                          text=True)
    return done.returncode == 0 and done.stdout.strip().isdigit()


def test_every_line_is_an_auditctl_rule_with_a_wallwatch_key() -> None:
    if shutil.which("ausyscall") is None:
        pytest.skip("ausyscall not installed (apt-get install auditd)")
    seen_keys = set()
    for args in rule_lines():
        assert args[0] in ("-a", "-w"), args  # no -D (would wipe others' rules), no -e
        if args[0] == "-w":
            assert len(args) == 6 and args[2] == "-p" and args[4] == "-k", args
            assert args[1].startswith("/") and set(args[3]) <= set("rwxa"), args
            seen_keys.add(args[5])
            continue
        assert args[1] in ("always,exit", "never,exit"), args
        arch = None
        i = 2
        while i < len(args):
            flag, value = args[i], args[i + 1]
            if flag == "-F":
                match = re.fullmatch(r"([a-z]+)(!=|=)(.+)", value)
                assert match, value
                name, val = match.group(1), match.group(3)
                assert name in FIELDS, value
                if name == "arch":
                    arch = val
                    assert val in ARCHES
                if name in ("dir", "path", "exe"):
                    assert val.startswith("/"), value
                if name == "perm":
                    assert set(val) <= set("rwxa"), value
            elif flag == "-S":
                assert arch is not None, f"-F arch= must come before -S: {args}"
                for syscall in value.split(","):
                    assert _known_syscall(arch, syscall), (arch, syscall)
            elif flag == "-k":
                assert len(value) <= 31, value  # the kernel's limit for a key
                seen_keys.add(value)
            else:
                raise AssertionError(f"unexpected {flag} in {args}")
            i += 2
        assert arch is not None, args  # without an arch the syscall numbers are ambiguous
        if args[1] == "never,exit":
            assert "-k" not in args
    assert seen_keys == KEYS


def test_every_share_rule_for_64_bit_programs_has_its_32_bit_twin() -> None:
    """Without the b32 rules a 32-bit program (or an int 0x80 call) is not seen."""
    share = [a for a in rule_lines() if a[0] == "-a" and "dir=/srv/share/clients" in a]

    def kind(args: list[str]) -> tuple[str, str | None]:
        return args[1], args[args.index("-k") + 1] if "-k" in args else None

    assert {kind(a) for a in share if "arch=b64" in a} == \
        {kind(a) for a in share if "arch=b32" in a}


@pytest.mark.slow
def test_loaded_rules_record_host_changes_with_their_keys_and_skip_smbd(tmp_path: Path) -> None:
    import smbclient
    from smbclient._os import _set_basic_information
    from smbprotocol.file_info import FileAttributes

    from tests.fixtures.auditd import AuditDaemon, AuditUnavailable
    from tests.fixtures.smbd import SambaServer, connect_user

    etc, logs, alog = tmp_path / "etc", tmp_path / "log-samba", tmp_path / "log-audit"
    for d in (etc / "audit", etc / "wallwatch", logs, alog):
        d.mkdir(parents=True)
    (etc / "smb.conf").write_text("[global]\n")
    (logs / "audit.log").write_text("x\n")
    # read-only attribute as a mode bit: smbd then fchmods, which rule 1 must see
    dos_mode = {"store dos attributes": "no", "map readonly": "yes"}
    with SambaServer(tmp_path / "samba", extra_share_options=dos_mode) as server:
        tree = server.share_root
        text = (RULES.read_text().replace("/srv/share/clients", str(tree))
                .replace("/var/log/samba", str(logs)).replace("/var/log/audit", str(alog))
                .replace("/etc/samba/smb.conf", str(etc / "smb.conf"))
                .replace("/etc/audit/", f"{etc / 'audit'}/")
                .replace("/etc/wallwatch/", f"{etc / 'wallwatch'}/"))
        try:
            auditd = AuditDaemon(tmp_path / "auditd").start()
        except AuditUnavailable as exc:
            pytest.skip(str(exc))
        try:
            rules = rule_lines(text)
            for args in rules:  # in order: the first matching rule wins
                if args[0] == "-a":
                    auditd.add_rule(*args[1:])
                else:
                    auditd.watch(Path(args[1]), args[5], args[3])
            assert len(auditd.rules()) == len(rules)

            alice = connect_user(server, "alice", workstation="ALICE-PC")  # smbd reads
            with smbclient.open_file(alice.unc("acme", "notes.txt"), "rb", **alice.opts) as f:
                f.read()
            with smbclient.open_file(alice.unc("acme", "alice.txt"), "wb", **alice.opts) as f:
                f.write(b"hers\n")
            _set_basic_information(alice.unc("acme", "alice.txt"),
                                   file_attributes=FileAttributes.FILE_ATTRIBUTE_READONLY,
                                   **alice.opts)
            alice.close()
            target = tree / "acme" / "notes.txt"
            subprocess.run(["chmod", "0600", str(target)], check=True)     # perm
            subprocess.run(["cat", str(target)], check=True, capture_output=True)  # local
            if shutil.which("setfacl"):
                subprocess.run(["setfacl", "-m", "u:nobody:r", str(target)], check=True)
            (etc / "wallwatch" / "wallwatch.yaml").write_text("timezone: UTC\n")  # config
            (logs / "audit.log").rename(logs / "audit.log.1")                 # logs
            wanted = KEYS if shutil.which("setfacl") else KEYS - {"wallwatch-acl"}
            log_text = auditd.wait_for(lambda t: all(f'key="{k}"' in t for k in wanted),
                                       what="a record of every key")
        finally:
            auditd.stop()
    smbd_records = [line for line in log_text.splitlines()
                    if 'exe="/usr/sbin/smbd"' in line and "wallwatch-local" in line]
    assert smbd_records == []  # full_audit has smbd's accesses, with user and client IP
    smbd_chmod = [line for line in log_text.splitlines()
                  if 'exe="/usr/sbin/smbd"' in line and 'key="wallwatch-perm"' in line]
    assert smbd_chmod  # rule 1 comes before the never rule: smbd's mode changes are kept
    config = load_config(write_config(tmp_path / "w.yaml", tmp_path / "w.db",
                                      [{"type": "auditd", "name": "audit",
                                        "path": str(auditd.log)}]))
    events = list(parse_file(config.sources[0], config))
    tagged = {tag for e in events for tag in (e.extra.get("tags") or [])}
    assert wanted <= tagged, tagged
    perm = [e for e in events if "wallwatch-perm" in (e.extra.get("tags") or [])]
    assert any(e.file_path == str(target) for e in perm), [e.file_path for e in perm]
