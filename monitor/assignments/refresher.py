"""Keeps the assignment book current: providers reloaded on their schedule and on
demand (SIGHUP), the last good copy kept through outages, changes recorded.

Each provider's last good snapshot is persisted in the store (source_state
`assignments.<name>`) in the same transaction as the change events it caused,
so a restart during a directory outage still has it, and a crash between the
two can neither lose a change event nor record one twice. A provider that
fails (unreachable, bad file) keeps serving its last good copy and says so in
the log and in status(); a provider that has never answered contributes
nothing, so its users are unknown — not judged — rather than all in breach.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.assignments.book import BookHolder, Snapshot
from monitor.assignments.csvfile import read_csv
from monitor.assignments.events import change_events
from monitor.assignments.groups import ProviderError, fetch_local_groups
from monitor.assignments.settings import (
    CsvConfig,
    GroupsConfig,
    LdapConfig,
    ProviderConfig,
    parse_assignments,
)
from monitor.assignments.staff import STAFF, make_book, staff_snapshot
from monitor.config import Config
from monitor.event import format_ts, ts_to_us, us_to_ts
from monitor.store import Store

log = logging.getLogger(__name__)

STATE_PREFIX = "assignments."
RETRY = timedelta(minutes=1)  # an outage is retried at least this often


def fetch(cfg: ProviderConfig) -> Snapshot:
    """One provider's current answer, or ProviderError."""
    if isinstance(cfg, LdapConfig):
        from monitor.assignments.ldap import fetch_ldap  # ldap3 only where it is used

        return fetch_ldap(cfg)
    if isinstance(cfg, GroupsConfig):
        return fetch_local_groups(cfg)
    assert isinstance(cfg, CsvConfig)
    return read_csv(cfg)


@dataclass
class ProviderState:
    cfg: ProviderConfig
    snapshot: Snapshot | None = None  # the last good copy
    fetched: datetime | None = None  # when it was fetched
    error: str | None = None  # why the last attempt failed; None when it worked
    failed: datetime | None = None
    due: float = 0.0  # monotonic time of the next attempt

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.cfg.type,
            "snapshot": self.snapshot.to_json() if self.snapshot is not None else None,
            "fetched": ts_to_us(self.fetched) if self.fetched else None,
            "error": self.error,
            "failed": ts_to_us(self.failed) if self.failed else None,
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        snap = data.get("snapshot")
        self.snapshot = Snapshot.from_json(snap) if snap is not None else None
        self.fetched = us_to_ts(data["fetched"]) if data.get("fetched") else None
        self.error = data.get("error")
        self.failed = us_to_ts(data["failed"]) if data.get("failed") else None


class AssignmentRefresher(threading.Thread):
    """Owns the BookHolder the Enricher reads; the only writer of assignment state."""

    def __init__(self, config: Config, store_path: str, stop: threading.Event,
                 providers: tuple[ProviderConfig, ...] | None = None,
                 fetcher: Callable[[ProviderConfig], Snapshot] = fetch,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(name="assignments", daemon=True)
        self.config, self.store_path, self.stop_flag = config, store_path, stop
        self.fetcher, self.now = fetcher, now
        if providers is None:
            providers = parse_assignments(config)
        self.states = {p.name: ProviderState(p) for p in providers}
        self.holder = BookHolder(make_book(config, {}))
        self.wake = threading.Event()
        self._lock = threading.Lock()  # guards states for status() readers
        self._requested = False
        self._reported: dict[str, str] = {}  # the failure last logged, per provider
        self.loaded = False

    # -- the daemon's side ------------------------------------------------
    def start(self) -> None:
        """Load the last good copies and try every provider once, then refresh in the
        background; so the first event is already judged by the best book we have."""
        if not self.states:
            # no `assignments:` section: the staff table alone, as before, with no
            # thread and no assignment events (turning the feature on records them)
            return
        store = Store(self.store_path)
        try:
            self.load(store)
            self.refresh(store, force=True)
        finally:
            store.close()
        super().start()

    def refresh_now(self) -> None:
        """Reload every provider soon (SIGHUP). Safe to call from a signal handler."""
        self._requested = True
        self.wake.set()

    def join(self, timeout: float | None = None) -> None:
        if self.is_alive() or self.ident is not None:
            super().join(timeout)

    def status(self) -> dict[str, Any]:
        """For metrics, /healthz and doctor: is any provider serving a stale copy?"""
        book = self.holder.current
        with self._lock:
            providers = {name: {
                "type": st.cfg.type,
                "ok": st.error is None and st.snapshot is not None,
                "stale": st.error is not None,
                "has_copy": st.snapshot is not None,
                "users": len(st.snapshot.known) if st.snapshot else 0,
                "grants": len(st.snapshot) if st.snapshot else 0,
                "last_success": format_ts(st.fetched) if st.fetched else None,
                "last_failure": format_ts(st.failed) if st.failed else None,
                "error": st.error,
            } for name, st in self.states.items()}
        return {
            "stale": any(p["stale"] for p in providers.values()),
            "users": len(book.known),
            "swaps": self.holder.swaps,
            "providers": providers,
        }

    # -- the work ---------------------------------------------------------
    def load(self, store: Store) -> None:
        """Persisted copies back; the staff table compared with the one last seen;
        providers gone from the config retired (their grants recorded as removed)."""
        now = self.now()
        for name, st in self.states.items():
            data = store.source_state(STATE_PREFIX + name)
            if data is not None:
                st.restore(data)
        staff = staff_snapshot(self.config)
        persisted = store.source_state(STATE_PREFIX + STAFF)
        old_staff = (Snapshot.from_json(persisted["snapshot"])
                     if persisted and persisted.get("snapshot") is not None else None)
        retired = [str(row[0]) for row in store.query(
            "SELECT name FROM source_state WHERE name LIKE ?", (STATE_PREFIX + "%",))
            if str(row[0])[len(STATE_PREFIX):] not in (*self.states, STAFF)]
        with store.transaction():
            if old_staff != staff:
                store.insert_events(change_events(STAFF, old_staff, staff, now,
                                                  self.config.host_name))
                store.set_source_state(STATE_PREFIX + STAFF, {
                    "type": STAFF, "snapshot": staff.to_json(), "fetched": ts_to_us(now)})
            for key in retired:
                gone = store.source_state(key) or {}
                if gone.get("snapshot") is not None:
                    store.insert_events(change_events(
                        key[len(STATE_PREFIX):], Snapshot.from_json(gone["snapshot"]),
                        Snapshot(), now, self.config.host_name))
                store.db.execute("DELETE FROM source_state WHERE name=?", (key,))
                log.info("assignments: provider %r is no longer configured; its grants "
                         "are recorded as removed", key[len(STATE_PREFIX):])
        self._swap()
        self.loaded = True

    def _swap(self) -> None:
        with self._lock:
            snaps = {n: s.snapshot for n, s in self.states.items() if s.snapshot is not None}
        self.holder.swap(make_book(self.config, snaps))

    def refresh(self, store: Store, force: bool = False) -> int:
        """Fetch the providers that are due (all with force); how many answered."""
        answered = 0
        for name, st in self.states.items():
            if self.stop_flag.is_set():
                break
            if not force and st.due > time.monotonic():
                continue
            if self._refresh_one(store, name, st):
                answered += 1
        self._swap()
        return answered

    def _refresh_one(self, store: Store, name: str, st: ProviderState) -> bool:
        started = self.now()
        try:
            snap = self.fetcher(st.cfg)
            if not snap.grants and st.snapshot is not None and st.snapshot.grants:
                raise ProviderError("answered with no assignments at all; a directory or "
                                    "export that forgets everyone is not believed",
                                    name, hint="remove the provider to drop its assignments")
        except Exception as exc:  # a provider bug must not stop the refresher either
            self._failed(store, name, st, exc, started)
            return False
        events = change_events(name, st.snapshot, snap, started, self.config.host_name)
        recovered = st.error is not None
        self._reported.pop(name, None)
        update = ProviderState(st.cfg, snap, started, None, None)
        try:
            with store.transaction():
                store.insert_events(events)
                store.set_source_state(STATE_PREFIX + name, update.to_json())
        except Exception as exc:  # disk full, locked: keep the old copy, try again later
            self._failed(store, name, st, exc, started, persist=False)
            return False
        with self._lock:
            st.snapshot, st.fetched, st.error, st.failed = snap, started, None, None
            st.due = time.monotonic() + st.cfg.refresh.total_seconds()
        added = sum(1 for ev in events if ev.action.endswith("added"))
        if recovered:
            log.info("assignments: %r answers again", name)
        log.log(logging.INFO if events else logging.DEBUG,
                "assignments: %r: %d users, %d grants (+%d -%d)", name, len(snap.known),
                len(snap), added, len(events) - added)
        return True

    def _failed(self, store: Store, name: str, st: ProviderState, exc: Exception,
                at: datetime, persist: bool = True) -> None:
        text = str(exc) if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
        first = self._reported.get(name) != text  # once per outage and process, not per retry
        self._reported[name] = text
        with self._lock:
            st.error, st.failed = text, at
            st.due = time.monotonic() + min(st.cfg.refresh, RETRY).total_seconds()
        if st.snapshot is not None:
            kept = (f"keeping the last good copy from {format_ts(st.fetched)}"
                    if st.fetched else "keeping the last good copy")
            kept += f" ({len(st.snapshot.known)} users, {len(st.snapshot)} grants)"
        else:
            kept = "no copy yet: its users are unknown, so their access is not judged"
        log.log(logging.ERROR if first else logging.DEBUG,
                "assignments: %r failed: %s; %s", name, text, kept)
        if persist:  # so `doctor` and a restart see the outage too
            try:
                with store.transaction():
                    store.set_source_state(STATE_PREFIX + name, st.to_json())
            except Exception as err:
                log.debug("assignments: cannot record the failure of %r: %s", name, err)

    def run(self) -> None:
        store = Store(self.store_path)
        try:
            while not self.stop_flag.is_set():
                if self._requested:
                    self._requested = False
                    log.info("assignments: refresh requested")
                    self.refresh(store, force=True)
                else:
                    self.refresh(store)
                with self._lock:
                    next_due = min(st.due for st in self.states.values())
                self.wake.wait(max(0.05, next_due - time.monotonic()))
                self.wake.clear()
        finally:
            store.close()
