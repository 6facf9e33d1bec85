"""`wallwatch report access` on a real directory tree: a wrong ACL (bob given read on acme
with setfacl), a world-readable folder (chmod o+rx) and an Everyone entry Samba logged in a
Windows ACL are found; assignments nobody used for 90 days are stale; exit code 2 for cron."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from monitor.event import Event, event_id
from monitor.store import Store
from tests.fixtures.smbd import _ensure_unix_user
from tests.reports.firm import wallwatch

EVERYONE_READS = "O:S-1-22-1-0G:S-1-22-2-0D:P(A;;FA;;;S-1-22-1-0)(A;;0x1200a9;;;WD)"


def file_event(n: int, user: str, client: str, path: Path, age: timedelta,
               action: str = "read", **extra: object) -> Event:
    return Event(id=event_id("access-test", n), timestamp=datetime.now(UTC) - age,
                 dataset="samba.audit", category="file", type="access", action=action,
                 user_name=user, client=client, file_path=str(path), extra=extra)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """clients/{acme,globex,initech} owned by root, 0770; the config; a store."""
    for user in ("alice", "bob"):
        _ensure_unix_user(user)
    clients = tmp_path / "clients"
    for name in ("acme", "globex", "initech"):
        (clients / name).mkdir(parents=True)
        (clients / name).chmod(0o770)
    subprocess.run(["setfacl", "-m", "u:bob:rx", str(clients / "acme")], check=True)  # wrong
    (clients / "globex").chmod(0o775)  # o+rx: world-readable
    store = Store(tmp_path / "w.db")
    store.commit_source_batch("test", [
        file_event(1, "alice", "acme", clients / "acme" / "a.xlsx", timedelta(days=3)),
        file_event(2, "bob", "globex", clients / "globex" / "b.xlsx", timedelta(days=100)),
        # Samba logged an ACL that lets Everyone read initech
        file_event(3, "alice", "initech", clients / "initech", timedelta(days=1),
                   action="changed-file-acl-of", **{"samba.sddl": EVERYONE_READS}),
    ], [], {})
    store.close()
    config = tmp_path / "w.yaml"
    config.write_text(f"store: {{path: {tmp_path / 'w.db'}}}\n"
                      f'clients: {{paths: ["{clients}/{{client}}/**"]}}\n'
                      "staff: {alice: [acme, globex], bob: [globex]}\n"
                      'metrics: {listen: "127.0.0.1:0"}\n')
    return config, clients


def test_the_wrong_acl_world_folder_and_everyone_entry_are_found_exit_2(
        tree: tuple[Path, Path]) -> None:
    config, clients = tree
    result = wallwatch(config, "report", "access", "--json")
    assert result.returncode == 2, result.stderr
    audit = orjson.loads(result.stdout)
    excess = {(e["user"], e["client"], e["read"], e["write"]): e["via"] for e in audit["excess"]}
    assert excess == {
        ("bob", "acme", True, False): ["acl user:bob r-x"],
        ("alice", "initech", True, False): ["sddl WD"],
        ("bob", "initech", True, False): ["sddl WD"],
    }
    world = {w["client"]: w["via"] for w in audit["world"]}
    assert world == {"globex": ["mode other r-x"], "initech": ["sddl WD"]}
    stale = {(s["user"], s["client"]): s["last_access"] for s in audit["stale"]}
    assert set(stale) == {("alice", "globex"), ("bob", "globex")}
    assert stale[("alice", "globex")] is None
    last = datetime.fromisoformat(stale[("bob", "globex")])
    assert abs(last - (datetime.now(UTC) - timedelta(days=100))) < timedelta(minutes=5)
    folders = {f["client"]: f for f in audit["folders"]}
    assert folders["acme"]["path"] == str(clients / "acme")
    # setfacl recomputed the mask from the group class: group::rwx keeps it rwx
    assert folders["acme"]["acl"] == "user:bob:r-x,mask::rwx"
    assert folders["acme"]["mode"] == "drwxrwx---"
    assert {(s["user"], s["status"]) for s in folders["acme"]["staff"]} == {
        ("bob", "not assigned")}
    assert folders["initech"]["sddl"] == EVERYONE_READS


def test_table_and_html_show_the_same_findings(tree: tuple[Path, Path], tmp_path: Path) -> None:
    config, _clients = tree
    result = wallwatch(config, "report", "access")
    assert result.returncode == 2
    text = result.stdout
    assert "EXCESS ACCESS (3)" in text
    assert "  bob  acme  read  not assigned  via acl user:bob r-x" in text
    assert "WORLD / EVERYONE ACCESS (2)" in text
    assert "STALE ASSIGNMENTS, no access in 90 days (2)" in text
    page = tmp_path / "audit.html"
    assert wallwatch(config, "report", "access", "--html", str(page)).returncode == 2
    html = page.read_text(encoding="utf-8")
    assert "3 excess access(es), 2 folder(s) open to everyone, 2 stale assignment(s)." in html
    assert "acl user:bob r-x" in html
    assert oct(os.stat(page).st_mode & 0o777) == "0o600"


def test_one_client_without_excess_exits_0_and_still_shows_world_access(
        tree: tuple[Path, Path]) -> None:
    config, _clients = tree
    result = wallwatch(config, "report", "access", "--client", "globex", "--json")
    assert result.returncode == 0, result.stderr
    audit = orjson.loads(result.stdout)
    assert [f["client"] for f in audit["folders"]] == ["globex"]
    assert audit["excess"] == [] and [w["client"] for w in audit["world"]] == ["globex"]


def test_removing_the_wrong_acl_clears_the_excess(tree: tuple[Path, Path]) -> None:
    config, clients = tree
    subprocess.run(["setfacl", "-x", "u:bob", str(clients / "acme")], check=True)
    result = wallwatch(config, "report", "access", "--client", "acme", "--json")
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["excess"] == []


def test_root_option_scans_the_folders_under_a_given_path(tree: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    config, clients = tree
    moved = config.read_text().replace(str(clients), "/nonexistent/share")
    other = tmp_path / "other.yaml"
    other.write_text(moved)
    result = wallwatch(other, "report", "access", "--root", str(clients), "--json")
    assert result.returncode == 2
    assert sorted(f["client"] for f in orjson.loads(result.stdout)["folders"]) == [
        "acme", "globex", "initech"]
    assert wallwatch(other, "report", "access", "--json").stdout.count('"path"') == 0


def test_a_broken_config_exits_1_not_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("staff: [\n")
    result = wallwatch(config, "report", "access")
    assert result.returncode == 1 and "wallwatch:" in result.stderr
