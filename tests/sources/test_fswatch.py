"""The filesystem watcher on real temp trees with real inotify, run as the daemon
runs it (own thread, real Store): permission changes with before and after,
creation/deletion/rename, baseline, restart diff, exactly-once, a big tree."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from monitor.sources import fswatch, fswatch_inotify
from monitor.store import Store
from tests.daemon_process import REPO, Daemon, count, query, wait_for, write_config
from tests.sources.fswatch_helpers import Watcher, build_tree, by_path

PERMS = "changed-file-permissions-of"
OWNER = "changed-file-ownership-of"
ACL = "changed-file-acl-of"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "clients"
    for client in ("acme", "globex"):
        (root / client / "2025").mkdir(parents=True)
        (root / client).chmod(0o750)
        (root / client / "ledger.csv").write_text("a,b\n")
        (root / client / "2025" / "q1.xlsx").write_bytes(b"PK")
    return root


@pytest.fixture
def watcher(tmp_path: Path, tree: Path) -> Iterator[Watcher]:
    w = Watcher(tmp_path, tree)
    yield w
    w.close()


def test_chmod_o_plus_r_on_a_client_folder_is_stored_within_one_second(
        watcher: Watcher, tree: Path) -> None:
    watcher.start()
    acme = tree / "acme"
    changed = time.monotonic()
    subprocess.run(["chmod", "o+r", str(acme)], check=True)
    [ev] = watcher.wait_for(lambda e: e.action == PERMS, timeout=1.0)
    assert time.monotonic() - changed <= 1.0  # the spec's one timing bound
    assert (ev.file_path, ev.file_mode, ev.extra["file.mode_before"]) == (
        str(acme), "0754", "0750")
    assert (ev.category, ev.type, ev.dataset, ev.file_type) == ("file", "change", "fswatch", "dir")
    assert ev.extra["wallwatch.widened"] is True
    assert ev.extra["fswatch.detected"] == "live"
    assert ev.user_name is None  # inotify does not know who did it
    assert ev.client == "acme"  # enriched like every other event
    acme.chmod(0o750)  # narrowing is a change too, but not a widening
    narrowed = watcher.wait_for(lambda e: e.action == PERMS, count=2)[1]
    assert (narrowed.file_mode, narrowed.extra["file.mode_before"]) == ("0750", "0754")
    assert narrowed.extra["wallwatch.widened"] is False


def test_chown_reports_owner_and_group_before_and_after(watcher: Watcher, tree: Path) -> None:
    watcher.start()
    ledger = tree / "acme" / "ledger.csv"
    nobody = pwd.getpwnam("nobody")
    os.chown(ledger, nobody.pw_uid, nobody.pw_gid)
    [ev] = watcher.wait_for(lambda e: e.action == OWNER)
    assert ev.file_path == str(ledger)
    assert (ev.extra["file.uid"], ev.extra["file.gid"]) == (str(nobody.pw_uid), str(nobody.pw_gid))
    assert (ev.extra["file.uid_before"], ev.extra["file.gid_before"]) == ("0", "0")
    assert (ev.file_owner, ev.file_group) == ("nobody", grp.getgrgid(nobody.pw_gid).gr_name)
    assert (ev.extra["file.owner_before"], ev.extra["file.group_before"]) == ("root", "root")
    assert ev.extra["wallwatch.widened"] is True  # nobody now holds the owner's rw-
    os.chown(ledger, 54321, -1)  # an id without an account stays a number
    ev = watcher.wait_for(lambda e: e.action == OWNER, count=2)[1]
    assert (ev.extra["file.uid"], ev.extra["file.uid_before"]) == ("54321", str(nobody.pw_uid))
    assert ev.file_owner is None and ev.extra["file.owner_before"] == "nobody"


def test_setfacl_shows_the_acl_before_and_after(watcher: Watcher, tree: Path) -> None:
    watcher.start()
    acme = tree / "acme"
    subprocess.run(["setfacl", "-m", "u:nobody:r", str(acme)], check=True)
    [ev] = watcher.wait_for(lambda e: e.action == ACL)
    assert ev.file_path == str(acme)
    assert (ev.extra["file.acl_before"], ev.extra["file.acl"]) == ("", "user:nobody:r--")
    assert ev.extra["wallwatch.widened"] is True
    subprocess.run(["setfacl", "-d", "-m", "g:nogroup:rx", str(acme)], check=True)
    ev = watcher.wait_for(lambda e: e.action == ACL, count=2)[1]
    assert ev.extra["file.acl_default_before"] == ""
    assert "group:nogroup:r-x" in ev.extra["file.acl_default"].split(",")
    assert ev.extra["file.acl"] == ev.extra["file.acl_before"] == "user:nobody:r--"
    subprocess.run(["setfacl", "-x", "u:nobody", str(acme)], check=True)
    ev = watcher.wait_for(lambda e: e.action == ACL, count=3)[2]
    assert (ev.extra["file.acl_before"], ev.extra["file.acl"]) == ("user:nobody:r--", "")
    assert ev.extra["wallwatch.widened"] is False
    assert not [e for e in watcher.events() if e.action == PERMS]  # the mask stayed r-x


def test_create_write_rename_and_delete_are_reported(watcher: Watcher, tree: Path) -> None:
    watcher.start()
    acme = tree / "acme"
    (acme / "new.txt").write_text("hello")
    watcher.wait_for(lambda e: e.action == "create")
    (acme / "new.txt").rename(acme / "renamed.txt")
    (acme / "2025").rename(acme / "2025-archive")
    (acme / "ledger.csv").write_text("a,b\n1,2\n")
    (tree / "globex" / "ledger.csv").unlink()
    events = watcher.quiet()
    assert by_path(events, acme / "new.txt") == [("create", None),
                                                 ("rename", str(acme / "renamed.txt"))]
    # a renamed directory is one event; what is inside follows it silently
    assert by_path(events, acme / "2025") == [("rename", str(acme / "2025-archive"))]
    assert by_path(events, acme / "2025" / "q1.xlsx") == []
    assert by_path(events, acme / "ledger.csv") == [("modify", None)]
    assert by_path(events, tree / "globex" / "ledger.csv") == [("delete", None)]
    [new] = [e for e in events if e.action == "create"]
    assert (new.type, new.extra["file.size"], new.file_type) == ("creation", 5, "file")
    # the snapshot followed the rename: a chmod inside the renamed tree has the new path
    (acme / "2025-archive" / "q1.xlsx").chmod(0o600)
    [ev] = watcher.wait_for(lambda e: e.action == PERMS)
    assert ev.file_path == str(acme / "2025-archive" / "q1.xlsx")
    shutil.rmtree(acme / "2025-archive")
    events = watcher.wait_for(lambda e: e.file_path == str(acme / "2025-archive"))
    assert [e.type for e in events] == ["deletion"]
    # root, acme, its ledger and renamed.txt, globex and its 2025 with q1.xlsx
    assert watcher.snapshot_rows() == 7


def test_a_directory_created_later_is_watched_and_its_content_scanned(
        watcher: Watcher, tree: Path) -> None:
    watcher.start()
    deep = tree / "acme" / "2026" / "q1" / "payroll"
    deep.mkdir(parents=True)
    (deep / "salaries.xlsx").write_bytes(b"PK\x03\x04")
    events = watcher.wait_for(lambda e: e.file_path == str(deep / "salaries.xlsx"))
    assert events[0].action == "create"
    mkdirs = {e.file_path for e in watcher.events() if e.action == "mkdir"}
    assert mkdirs == {str(tree / "acme" / "2026"), str(tree / "acme" / "2026" / "q1"), str(deep)}
    (deep / "salaries.xlsx").chmod(0o666)
    [ev] = watcher.wait_for(lambda e: e.action == PERMS)
    assert (ev.file_path, ev.file_mode) == (str(deep / "salaries.xlsx"), "0666")


def test_the_baseline_records_every_entry_and_emits_nothing(watcher: Watcher) -> None:
    thread = watcher.start()
    assert watcher.quiet(0.5) == []
    assert watcher.snapshot_rows() == 9  # root, 2 clients, 2 subfolders, 4 files
    assert watcher.state()["baseline"]["entries"] == 9
    assert thread.stats.events == 0


def test_changes_made_while_stopped_are_reported_after_restart_exactly_once(
        watcher: Watcher, tree: Path) -> None:
    watcher.start()
    watcher.stop()
    acme, globex = tree / "acme", tree / "globex"
    acme.chmod(0o755)
    os.chown(globex / "ledger.csv", 54321, 54321)
    subprocess.run(["setfacl", "-m", "u:nobody:rx", str(globex)], check=True)
    (acme / "ledger.csv").rename(acme / "ledger-old.csv")
    (globex / "2025").rename(tree / "globex-2025")
    (acme / "2025" / "q1.xlsx").write_bytes(b"PK and more")
    (acme / "added").mkdir()
    (acme / "added" / "x.txt").write_text("x")
    shutil.rmtree(tree / "globex-2025")
    watcher.start()
    events = watcher.events()
    summary = sorted((e.action, e.file_path, e.file_target_path) for e in events)
    assert summary == sorted([
        (PERMS, str(acme), None),
        (OWNER, str(globex / "ledger.csv"), None),
        (ACL, str(globex), None),
        ("rename", str(acme / "ledger.csv"), str(acme / "ledger-old.csv")),
        ("delete", str(globex / "2025"), None),  # moved out, then removed: gone
        ("modify", str(acme / "2025" / "q1.xlsx"), None),
        ("mkdir", str(acme / "added"), None),
        ("create", str(acme / "added" / "x.txt"), None),
    ])
    assert {e.extra["fswatch.detected"] for e in events} == {"rescan"}
    [perm] = [e for e in events if e.action == PERMS]
    assert (perm.extra["file.mode_before"], perm.file_mode) == ("0750", "0755")
    assert perm.extra["wallwatch.widened"] is True
    [gone] = [e for e in events if e.action == "delete"]
    assert gone.extra["fswatch.entries_removed"] == 1  # q1.xlsx went with its folder
    watcher.stop()
    watcher.start()  # nothing changed since: nothing new, and nothing twice
    assert watcher.quiet(0.5) == events


def test_a_restart_without_changes_emits_nothing(watcher: Watcher) -> None:
    watcher.start()
    watcher.stop()
    watcher.start()
    assert watcher.quiet(0.5) == []
    assert watcher.thread is not None and watcher.thread.stats.rescans == 1


def test_a_failed_commit_loses_nothing_and_duplicates_nothing(
        watcher: Watcher, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fswatch, "RETRY_SECONDS", 0.2)
    real = Store.insert_events
    failures: list[int] = []

    def disk_full_once(store: Store, events: list[object]) -> int:
        if events and not failures:
            failures.append(len(events))
            raise OSError("disk full (injected)")
        return real(store, events)  # type: ignore[arg-type]

    watcher.start()
    monkeypatch.setattr(Store, "insert_events", disk_full_once)
    (tree / "acme").chmod(0o777)
    [ev] = watcher.wait_for(lambda e: e.action == PERMS)
    assert failures == [1]  # the live attempt was rolled back ...
    assert ev.extra["fswatch.detected"] == "rescan"  # ... and the rescan found it again
    assert (ev.extra["file.mode_before"], ev.file_mode) == ("0750", "0777")
    assert len(watcher.quiet(1)) == 1


def test_a_change_inotify_cannot_see_is_found_by_a_rescan(
        tmp_path: Path, watcher: Watcher, tree: Path) -> None:
    # a hard link outside the root: chmod through it reaches no watch on the root
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.link(tree / "acme" / "ledger.csv", outside / "link.csv")
    thread = watcher.start()
    (outside / "link.csv").chmod(0o604)
    assert watcher.quiet(1) == []
    thread.request_rescan()  # what an inotify overflow (or rescan_every) does
    [ev] = watcher.wait_for(lambda e: e.action == PERMS)
    assert (ev.file_path, ev.file_mode, ev.extra["fswatch.detected"]) == (
        str(tree / "acme" / "ledger.csv"), "0604", "rescan")


def test_excluded_paths_are_neither_recorded_nor_reported(tmp_path: Path, tree: Path) -> None:
    w = Watcher(tmp_path, tree, exclude=["~$*", "globex/2025"])
    try:
        w.start()
        assert w.snapshot_rows() == 9 - 2  # globex/2025 and its file
        (tree / "acme" / "~$ledger.csv").write_text("lock")
        (tree / "globex" / "2025").chmod(0o777)
        (tree / "globex" / "2025" / "q1.xlsx").unlink()
        (tree / "acme" / "seen.txt").write_text("x")
        w.wait_for(lambda e: e.file_path == str(tree / "acme" / "seen.txt"))
        assert [e.file_path for e in w.quiet(1)] == [str(tree / "acme" / "seen.txt")]
    finally:
        w.close()


def test_a_store_inside_the_watched_tree_does_not_report_its_own_writes(
        tmp_path: Path, tree: Path) -> None:
    w = Watcher(tmp_path, tree, db=tree / "wallwatch.db")
    try:
        w.start()
        assert w.snapshot_rows() == 9  # the store's files are not part of the tree
        (tree / "acme").chmod(0o700)  # each commit writes the store: no loop of events
        w.wait_for(lambda e: e.action == PERMS)
        assert [e.action for e in w.quiet(1.5)] == [PERMS]
    finally:
        w.close()


def test_too_few_inotify_watches_for_the_tree_is_reported(
        watcher: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = tmp_path / "max_user_watches"
    limit.write_text("3\n")
    monkeypatch.setattr(fswatch_inotify, "MAX_WATCHES", str(limit))
    thread = watcher.start()
    assert thread.stats.error is not None
    assert "5 directories" in thread.stats.error and "max_user_watches" in thread.stats.error


def test_the_root_going_away_is_one_deletion(watcher: Watcher, tree: Path) -> None:
    watcher.start()
    shutil.rmtree(tree)
    ev = watcher.wait_for(lambda e: e.file_path == str(tree))[0]
    assert ev.action == "delete"
    events = watcher.quiet(1)
    assert sum(1 + e.extra.get("fswatch.entries_removed", 0) for e in events) == 9


def test_the_daemon_stores_a_chmod_that_search_finds(tmp_path: Path, tree: Path) -> None:
    db = tmp_path / "d.db"
    config = write_config(tmp_path / "d.yaml", db,
                          [{"type": "fswatch", "name": "shares", "path": str(tree)}],
                          clients=f'["{tree}/{{client}}/**"]')

    def baseline_stored() -> bool:
        rows = query(db, "SELECT state FROM source_state WHERE name='shares'")
        return bool(rows and orjson.loads(rows[0][0]).get("baseline"))

    with Daemon(config, tmp_path / "daemon.log") as daemon:
        wait_for(baseline_stored, 30, "the baseline", daemon)
        assert count(db) == 0
        (tree / "globex").chmod(0o757)
        wait_for(lambda: count(db) == 1, 10, "the chmod event", daemon)
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "-c", str(config), "search",
             "event.action:changed-file-permissions-of", "--json"],
            cwd=REPO, capture_output=True, text=True, timeout=60)
        assert daemon.stop() == 0
    assert result.returncode == 0, result.stderr
    [doc] = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert doc["file"]["path"] == str(tree / "globex")
    assert (doc["file"]["mode"], doc["file"]["mode_before"]) == ("0757", "0750")
    assert doc["wallwatch"]["client"] == "globex" and doc["wallwatch"]["widened"] is True
    assert doc["event"]["dataset"] == "fswatch" and "user" not in doc


@pytest.mark.slow
def test_a_tree_of_5000_directories_and_50000_files_starts_and_stays_live(
        tmp_path: Path) -> None:
    root = tmp_path / "clients"
    started = time.monotonic()
    # 50 clients x 9 years x 10 folders: 50 + 450 + 4500 directories; 11 files per
    # folder, an index per year, a README per client: 50,000 files
    entries = build_tree(root, clients=50, folders=9, subfolders=10, files=11)
    assert entries == 1 + 5000 + 50_000
    built = time.monotonic() - started
    w = Watcher(tmp_path, root)
    try:
        started = time.monotonic()
        thread = w.start()
        live = time.monotonic() - started
        assert w.state()["baseline"]["entries"] == 1 + 5000 + 50_000
        print(f"\nbuilt in {built:.1f} s; baseline {w.state()['baseline']['seconds']:.1f} s,"
              f" live after {live:.1f} s")
        deep = root / "client49" / "folder08" / "sub09" / "doc10.pdf"
        deep.chmod(0o646)
        [ev] = w.wait_for(lambda e: e.action == PERMS, timeout=30)
        assert (ev.file_path, ev.file_mode, ev.extra["file.mode_before"]) == (
            str(deep), "0646", "0644")
        assert thread.stats.rescans == 0  # no inotify overflow on the way
    finally:
        w.close()


@pytest.mark.slow
def test_a_burst_with_an_inotify_overflow_is_reported_once_per_entry(tmp_path: Path) -> None:
    # `chmod -R` makes 21,441 attribute events in about a second, more than the kernel
    # queue holds (fs.inotify.max_queued_events, 16384 here) whenever the watcher falls
    # behind. Whether the kernel overflows depends on the machine's load, so the test
    # also delivers the overflow notice itself, the way watchdog's reader thread does.
    root = tmp_path / "clients"
    total = build_tree(root, clients=20, folders=10, subfolders=5, files=20)
    w = Watcher(tmp_path, root)
    try:
        thread = w.start()
        subprocess.run(["chmod", "-R", "g+w", str(root)], check=True)
        assert thread.observer is not None
        for emitter in thread.observer.emitters:
            emitter._inotify.on_queue_overflow()  # type: ignore[attr-defined]
        w.wait_for(lambda e: e.action == PERMS, timeout=120, count=total)
        events = w.quiet(1)
        assert len(events) == total
        assert len({e.file_path for e in events}) == total
        assert {e.file_mode for e in events} == {"0664", "0775"}
        assert thread.stats.rescans >= 1
        assert "rescan" in {e.extra["fswatch.detected"] for e in events}
        # watchdog re-added its watches and the watcher is still live
        (root / "client19" / "folder09" / "sub04" / "doc19.pdf").chmod(0o600)
        ev = w.wait_for(lambda e: e.action == PERMS, count=total + 1)[-1]
        assert (ev.file_mode, ev.extra["fswatch.detected"]) == ("0600", "live")
    finally:
        w.close()
