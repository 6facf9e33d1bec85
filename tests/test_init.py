"""`wallwatch init` against a real smbd: the config it writes loads, names the share's client
folders, and a daemon started on it records bob's real SMB read in a client folder he is not
assigned to; the Samba snippet it writes turns the audit on in that smbd. Also: piped
answers (wrong ones asked again, the rest taken from the defaults when the input ends),
refusing to overwrite, a share with no folders yet, and Chinese folder names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import smbclient  # type: ignore[import-untyped]

from monitor.assignments.groups import fetch_local_groups
from monitor.assignments.settings import GroupsConfig, parse_assignments
from monitor.config import load_config
from monitor.enrich import Enricher
from monitor.sinks.notify_config import parse_notify
from tests.daemon_process import REPO, Daemon, caught_up, wait_for
from tests.fixtures.smbd import SambaServer, connect_user

GROUPS = "client-acme:x:3001:alice\nclient-globex:x:3002:bob\nstaff:x:3003:alice,bob\n"


def init(tmp: Path, *args: str, answers: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    """`wallwatch init` with every host path pointed into `tmp` unless given."""
    given = set(args)
    defaults = {"--output": tmp / "w.yaml", "--group-file": tmp / "group",
                "--store": tmp / "w.db", "--ssh-log": tmp / "no-auth.log",
                "--auditd-log": tmp / "no-audit.log", "--metrics-listen": "127.0.0.1:0"}
    if not (tmp / "group").exists():
        (tmp / "group").write_text(GROUPS)
    extra = [str(x) for k, v in defaults.items() if k not in given for x in (k, v)]
    return subprocess.run([sys.executable, "-m", "monitor", "init", *extra, *args], cwd=REPO,
                          input=answers if answers is not None else "", capture_output=True,
                          text=True, timeout=120)


def wallwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def snippet_value(text: str, section: str, key: str) -> str:
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.split("=")[0].strip() == key:
            return line.partition("=")[2].strip()
    raise AssertionError(f"no {key} in [{section}]")


def test_yes_on_a_real_smbd_gives_a_config_whose_daemon_records_bobs_read(
        tmp_path: Path) -> None:
    # A share that is not audited yet (another VFS module already on it), as on a fresh host.
    server = SambaServer(tmp_path / "samba", audit_ops=(),
                         extra_share_options={"vfs objects": "acl_xattr"})
    with server:
        done = init(tmp_path, "--yes", "--smb-conf", str(server.conf))
        assert done.returncode == 0, done.stdout + done.stderr
        config = load_config(tmp_path / "w.yaml")
        root = str(server.share_root)
        assert config.client_paths == (f"{root}/{{client}}/**",)
        assert f"# [clients] {root}: acme, globex" in (tmp_path / "w.yaml").read_text()
        enrich = Enricher(config)
        assert enrich.client_of(f"{root}/acme/notes.txt") == "acme"
        assert enrich.client_of(f"{root}/globex/ledger.csv") == "globex"
        assert dict(config.shares) == {"clients": root}
        # the snippet keeps the share's module, adds full_audit, and smbd takes it
        snippet = (server.conf.parent / "wallwatch-audit.conf").read_text()
        assert snippet_value(snippet, "clients", "vfs objects") == "acl_xattr full_audit"
        assert f"echo 'include = {server.conf.parent / 'wallwatch-audit.conf'}'" in done.stdout
        assert "doctor:" in done.stdout and "FAIL  smb.conf" in done.stdout  # not included yet
        with server.conf.open("a") as f:
            f.write(f"include = {server.conf.parent / 'wallwatch-audit.conf'}\n")

        with Daemon(tmp_path / "w.yaml", tmp_path / "daemon.log") as daemon:
            bob = connect_user(server, "bob", workstation="BOB-PC")
            with smbclient.open_file(bob.unc("acme", "notes.txt"), "rb", **bob.opts) as f:
                assert f.read().startswith(b"acme")
            bob.close()
            server.wait_for_audit(lambda r: r.startswith("bob|") and "|disconnect|" in r)
            wait_for(lambda: caught_up(Path(config.store.path), "samba",
                                       server.audit_log), 30, "ingest", daemon)
            wait_for(lambda: "wall.cross-client-access" in wallwatch(
                tmp_path / "w.yaml", "alerts").stdout, 30, "the alert", daemon)
            assert daemon.stop() == 0
    found = wallwatch(tmp_path / "w.yaml", "search", "user.name:bob AND event.action:read",
                      "--json")
    docs = [orjson.loads(line) for line in found.stdout.splitlines()]
    assert [d["file"]["path"] for d in docs] == [f"{root}/acme/notes.txt"]
    assert docs[0]["wallwatch"]["client"] == "acme"
    assert docs[0]["wallwatch"]["assigned"] is False  # bob is in client-globex only
    assert docs[0]["wallwatch"]["share"] == "clients"


def test_an_smb_conf_that_already_audits_is_kept_as_it_is(tmp_path: Path) -> None:
    with SambaServer(tmp_path / "samba", prefix="%u|%I|%m") as server:
        done = init(tmp_path, "--yes", "--smb-conf", str(server.conf))
    assert done.returncode == 0, done.stdout + done.stderr
    config = load_config(tmp_path / "w.yaml")
    [samba] = [s for s in config.sources if s.type == "samba"]
    assert samba.path == str(server.audit_log)  # the file smb.conf already names
    assert samba.options["prefix"] == "%u|%I|%m"  # and its prefix, which others may parse
    [auth] = [s for s in config.sources if s.type == "samba_auth"]
    assert auth.path == str(server.auth_log)
    assert "already audits [clients]" in done.stdout
    assert "0 failure(s)" in done.stdout


def smb_conf(tmp: Path, share_options: str = "") -> Path:
    clients, scans = tmp / "srv" / "clients", tmp / "srv" / "scans"
    for folder in ("甲公司", "乙公司", "_模板"):
        (clients / folder).mkdir(parents=True)
    scans.mkdir(parents=True)
    conf = tmp / "smb.conf"
    conf.write_text(f"[global]\n  workgroup = FIRM\n  log level = 2 passdb:5\n"
                    f"[clients]\n  path = {clients}\n  valid users = @staff\n{share_options}"
                    f"[scans]\n  path = {scans}\n[homes]\n  browseable = no\n"
                    f"[printers]\n  path = /var/spool/samba\n  printable = yes\n"
                    f"[profiles]\n  path = /srv/profiles/%U\n", encoding="utf-8")
    return conf


def test_piped_answers_are_asked_again_when_wrong_and_the_end_of_input_takes_defaults(
        tmp_path: Path) -> None:
    conf = smb_conf(tmp_path)
    (tmp_path / "group").write_text("client-甲公司:x:3001:alice\nstaff:x:3003:alice,bob\n",
                                    encoding="utf-8")
    (tmp_path / "auth.log").write_text("")
    answers = "\n".join([
        "nosuch",               # shares: unknown, asked again
        "clients",
        "",                     # the clients folder: the share itself
        "Mars/Base",            # timezone: unknown, asked again
        "Asia/Shanghai",
        str(tmp_path / "s" / "w.db"),
        "",                     # group pattern: client-{client}
        "",                     # staff group: @staff of the share's valid users
        "n",                    # no SSH logins
        "it@firm.lan",          # then the input ends: relay and language are defaults
    ]) + "\n"
    done = init(tmp_path, "--smb-conf", str(conf), "--ssh-log", str(tmp_path / "auth.log"),
                answers=answers)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unknown share(s) nosuch; choose from clients, scans" in done.stdout
    assert "'Mars/Base' is not a timezone" in done.stdout
    assert "[homes] skipped" in done.stdout and "[profiles] skipped" in done.stdout
    assert "_模板 do not look like clients" in done.stdout
    assert "Mail relay (host:port) [localhost:25]: localhost:25" in done.stdout
    config = load_config(tmp_path / "w.yaml")
    assert str(config.timezone) == "Asia/Shanghai"
    assert config.store.path == str(tmp_path / "s" / "w.db")
    assert {s.type for s in config.sources} == {"samba", "samba_auth"}
    assert Enricher(config).client_of(f"{tmp_path}/srv/clients/甲公司/工资表.xlsx") == "甲公司"
    text = (tmp_path / "w.yaml").read_text(encoding="utf-8")
    assert "_模板, 乙公司, 甲公司" in text
    assert config.ignored_clients == ("_模板",)
    assert Enricher(config).client_of(f"{tmp_path}/srv/clients/_模板/凭证.xlsx") is None
    [groups] = parse_assignments(config)
    assert isinstance(groups, GroupsConfig) and groups.staff_groups == {"staff"}
    book = fetch_local_groups(groups)
    assert {(u, g.client) for u, gs in book.grants.items() for g in gs} == {("alice", "甲公司")}
    assert "bob" in book.known  # staff without a client group is judged, not ignored
    notify = parse_notify(config)
    assert notify is not None
    [route] = notify.routes
    assert route.language == "zh-CN" and route.match.min_severity == "medium"
    assert route.urls[0].startswith("mailto://localhost:25?") and "to=it@firm.lan" in \
        route.urls[0]


def test_a_share_with_no_folders_yet_still_gets_its_client_pattern(tmp_path: Path) -> None:
    conf = smb_conf(tmp_path)
    done = init(tmp_path, "--yes", "--smb-conf", str(conf), "--share", "scans")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 client folder(s): none yet" in done.stdout
    config = load_config(tmp_path / "w.yaml")
    assert config.client_paths == (f"{tmp_path}/srv/scans/{{client}}/**",)
    assert f"# [scans] {tmp_path}/srv/scans: none yet" in (tmp_path / "w.yaml").read_text()
    # a folder made later is a client at once: the pattern, not a list, decides
    assert Enricher(config).client_of(f"{tmp_path}/srv/scans/initech/a.pdf") == "initech"


def test_existing_files_are_not_overwritten_without_force(tmp_path: Path) -> None:
    conf = smb_conf(tmp_path)
    (tmp_path / "w.yaml").write_text("keep: me\n")
    refused = init(tmp_path, "--yes", "--smb-conf", str(conf))
    assert refused.returncode == 2
    assert f"{tmp_path / 'w.yaml'} exists; not overwritten" in refused.stderr
    assert "--force" in refused.stderr
    assert (tmp_path / "w.yaml").read_text() == "keep: me\n"
    assert not (tmp_path / "wallwatch-audit.conf").exists()  # nothing half-written
    assert "Shares that hold" not in refused.stdout  # refused before any question

    (tmp_path / "w.yaml").unlink()
    (tmp_path / "wallwatch-audit.conf").write_text("# mine\n")
    refused = init(tmp_path, "--yes", "--smb-conf", str(conf))
    assert refused.returncode == 2 and "wallwatch-audit.conf exists" in refused.stderr
    assert not (tmp_path / "w.yaml").exists()

    forced = init(tmp_path, "--yes", "--smb-conf", str(conf), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    load_config(tmp_path / "w.yaml")
    assert "full_audit:success" in (tmp_path / "wallwatch-audit.conf").read_text()


def test_no_smb_conf_is_a_clear_error(tmp_path: Path) -> None:
    done = init(tmp_path, "--yes", "--smb-conf", str(tmp_path / "missing.conf"))
    assert done.returncode == 2
    assert "cannot read" in done.stderr and "--smb-conf" in done.stderr
    assert not (tmp_path / "w.yaml").exists()


def test_debians_own_staff_group_is_not_taken_for_all_staff(tmp_path: Path) -> None:
    from monitor.init_host import HostPaths, discover

    conf = tmp_path / "smb.conf"
    conf.write_text(f"[clients]\n  path = {tmp_path}\n")
    group = tmp_path / "group"
    group.write_text("staff:x:50:\nclient-acme:x:3001:alice\n")
    facts = discover(HostPaths(smb_conf=str(conf), group_file=str(group)))
    assert facts.staff_group(("clients",)) is None  # gid 50, no members: /usr/local's
    group.write_text("staff:x:50:\nemployees:x:1005:alice,bob\n")
    facts = discover(HostPaths(smb_conf=str(conf), group_file=str(group)))
    assert facts.staff_group(("clients",)) == "employees"
    conf.write_text(f"[clients]\n  path = {tmp_path}\n  valid users = @staff\n")
    facts = discover(HostPaths(smb_conf=str(conf), group_file=str(group)))
    assert facts.staff_group(("clients",)) == "staff"  # the share says so
