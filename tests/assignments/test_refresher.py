"""The refresher: changes become events, the book swaps, and an unreachable provider
keeps its last good copy — in memory, in the store, and across a restart."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.assignments.events import change_events
from monitor.assignments.refresher import AssignmentRefresher
from monitor.config import Config
from monitor.store import Store
from tests.assignments.helpers import at, make_config

SECTION = """\
staff:
  carol: {clients: ["*"], except: [globex]}
assignments:
  - {type: csv, name: pm, path: pm.csv, refresh: 1s}
"""
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def setup(tmp_path: Path, rows: str = "alice,acme\nbob,globex\n",
          section: str = SECTION) -> Config:
    (tmp_path / "pm.csv").write_text("user,client\n" + rows)
    return make_config(tmp_path, section)


def refresher(config: Config, stop: threading.Event | None = None) -> AssignmentRefresher:
    return AssignmentRefresher(config, config.store.path, stop or threading.Event(),
                               now=Clock())


def changes(config: Config) -> list[tuple[str, str, str | None, str]]:
    store = Store(config.store.path)
    try:
        rows = store.query("SELECT action, user_name, client, dataset FROM events"
                           " WHERE dataset='wallwatch.assignments' ORDER BY seq", ())
        return [(str(a), str(u), c, str(d)) for a, u, c, d in rows]
    finally:
        store.close()


def refresh(r: AssignmentRefresher) -> int:
    store = Store(r.store_path)
    try:
        if not r.loaded:
            r.load(store)
        return r.refresh(store, force=True)
    finally:
        store.close()


def test_the_first_load_records_every_assignment_as_added(tmp_path: Path) -> None:
    config = setup(tmp_path)
    r = refresher(config)
    assert refresh(r) == 1
    assert {(a, u, c) for a, u, c, _d in changes(config)} == {
        ("assignment-added", "carol", "*"),  # the staff table, merged in
        ("assignment-added", "alice", "acme"),
        ("assignment-added", "bob", "globex"),
    }
    book = r.holder.current
    assert book.assigned("alice", "acme", at("2026-11-02")) is True
    assert book.assigned("carol", "globex", at("2026-11-02")) is False


def test_a_change_in_the_export_is_recorded_and_swapped_in(tmp_path: Path) -> None:
    config = setup(tmp_path)
    r = refresher(config)
    refresh(r)
    first = r.holder.current
    (tmp_path / "pm.csv").write_text("user,client,from\nalice,acme,\nalice,globex,2026-11-01\n")
    refresh(r)
    assert changes(config)[3:] == [
        ("assignment-removed", "bob", "globex", "wallwatch.assignments"),
        ("assignment-added", "alice", "globex", "wallwatch.assignments"),
    ]
    assert r.holder.current is not first
    assert r.holder.current.assigned("alice", "globex", at("2026-11-02")) is True
    assert r.holder.current.assigned("bob", "globex", at("2026-11-02")) is None
    store = Store(config.store.path)
    try:
        [(extra,)] = list(store.query(
            "SELECT extra_json(extra) FROM events WHERE action='assignment-added'"
            " AND user_name='alice' AND client='globex'", ()))
    finally:
        store.close()
    assert b'"wallwatch.assignment.from":"2026-11-01"' in extra
    assert b'"wallwatch.assignment.provider":"pm"' in extra


def test_an_unreachable_provider_keeps_its_last_good_copy_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = setup(tmp_path)
    r = refresher(config)
    refresh(r)
    (tmp_path / "pm.csv").unlink()
    with caplog.at_level(logging.ERROR):
        assert refresh(r) == 0
    assert r.holder.current.assigned("alice", "acme", at("2026-11-02")) is True
    assert r.holder.current.assigned("alice", "globex", at("2026-11-02")) is False
    status = r.status()
    assert status["stale"] is True
    pm = status["providers"]["pm"]
    assert (pm["ok"], pm["stale"], pm["has_copy"], pm["users"], pm["grants"]) == (
        False, True, True, 2, 2)
    assert "cannot read" in pm["error"]
    assert "keeping the last good copy" in caplog.text and "'pm' failed" in caplog.text
    assert len(changes(config)) == 3  # an outage is not a change of assignments


def test_a_restart_during_an_outage_still_has_the_last_good_copy(tmp_path: Path) -> None:
    config = setup(tmp_path)
    refresh(refresher(config))
    (tmp_path / "pm.csv").unlink()
    restarted = refresher(config)
    refresh(restarted)  # loads the persisted copy, then fails to read the file
    assert restarted.holder.current.assigned("bob", "globex", at("2026-11-02")) is True
    assert restarted.holder.current.assigned("bob", "acme", at("2026-11-02")) is False
    assert restarted.status()["providers"]["pm"]["stale"] is True
    assert len(changes(config)) == 3  # nothing recorded twice


def test_a_provider_that_never_answered_leaves_its_users_unknown(tmp_path: Path) -> None:
    config = setup(tmp_path)
    (tmp_path / "pm.csv").unlink()
    r = refresher(config)
    refresh(r)
    assert r.holder.current.assigned("alice", "acme", at("2026-11-02")) is None
    assert r.status()["providers"]["pm"]["has_copy"] is False


def test_an_export_that_suddenly_names_nobody_is_not_believed(tmp_path: Path) -> None:
    config = setup(tmp_path)
    r = refresher(config)
    refresh(r)
    (tmp_path / "pm.csv").write_text("user,client\n")
    assert refresh(r) == 0
    assert r.holder.current.assigned("alice", "acme", at("2026-11-02")) is True
    assert "no assignments at all" in r.status()["providers"]["pm"]["error"]


def test_a_staff_table_edit_between_runs_is_recorded(tmp_path: Path) -> None:
    config = setup(tmp_path)
    refresh(refresher(config))
    edited = setup(tmp_path, section=SECTION.replace('clients: ["*"]', "clients: [acme]"))
    refresh(refresher(edited))
    assert [(a, u, c) for a, u, c, _d in changes(edited)][3:] == [
        ("assignment-removed", "carol", "*"), ("assignment-added", "carol", "acme")]


def test_a_provider_removed_from_the_config_has_its_grants_recorded_as_removed(
        tmp_path: Path) -> None:
    config = setup(tmp_path)
    refresh(refresher(config))
    (tmp_path / "group").write_text("client-acme:x:2001:alice\n")
    other = setup(tmp_path, section=SECTION.replace(
        "{type: csv, name: pm, path: pm.csv, refresh: 1s}", "{type: groups, group_file: group}"))
    refresh(refresher(other))
    assert {(a, u, c) for a, u, c, _d in changes(other)[3:]} == {
        ("assignment-removed", "alice", "acme"), ("assignment-removed", "bob", "globex"),
        ("assignment-added", "alice", "acme")}
    store = Store(other.store.path)
    try:
        assert store.source_state("assignments.pm") is None
    finally:
        store.close()


def test_the_same_change_stored_twice_is_kept_once(tmp_path: Path) -> None:
    config = setup(tmp_path)
    r = refresher(config)
    refresh(r)
    snap = r.states["pm"].snapshot
    assert snap is not None
    store = Store(config.store.path)
    try:
        events = change_events("pm", None, snap, T0, "fs01")
        with store.transaction():
            assert store.insert_events(events) == 2
        with store.transaction():
            assert store.insert_events(change_events("pm", None, snap, T0, "fs01")) == 0
    finally:
        store.close()


def test_without_an_assignments_section_nothing_runs_and_nothing_is_recorded(
        tmp_path: Path) -> None:
    config = make_config(tmp_path, "staff: {alice: [acme]}\n")
    r = refresher(config)
    r.start()
    assert not r.is_alive()
    assert r.holder.current.assigned("alice", "acme", at("2026-11-02")) is True
    assert changes(config) == []
    r.join(1)  # a no-op: the daemon joins it like every other thread


@pytest.mark.parametrize(("interval", "request_it"), [("1h", True), ("1s", False)])
def test_the_thread_reloads_on_request_and_on_schedule(
        tmp_path: Path, interval: str, request_it: bool) -> None:
    config = setup(tmp_path, section=SECTION.replace("refresh: 1s", f"refresh: {interval}"))
    stop = threading.Event()
    r = AssignmentRefresher(config, config.store.path, stop)
    r.start()  # loads synchronously, then refreshes in its own thread
    try:
        assert r.holder.current.assigned("alice", "globex", at("2026-11-02")) is False
        (tmp_path / "pm.csv").write_text("user,client\nalice,acme\nalice,globex\n")
        if request_it:
            r.refresh_now()  # what SIGHUP does
        deadline = time.monotonic() + 10
        while (r.holder.current.assigned("alice", "globex", at("2026-11-02")) is not True
               and time.monotonic() < deadline):
            time.sleep(0.02)
        assert r.holder.current.assigned("alice", "globex", at("2026-11-02")) is True
    finally:
        stop.set()
        r.wake.set()
        r.join(5)
    assert not r.is_alive()
