"""sd_notify client against a real datagram socket, as systemd would listen on it."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.systemd import Notifier, StatusMeter, watchdog_interval
from tests.daemon_process import Daemon, write_config


class Listener:
    """A SOCK_DGRAM unix socket standing where systemd's notify socket would be."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(5)

    def receive(self) -> list[str]:
        return self.sock.recv(65536).decode().split("\n")

    def receive_until(self, key: str, timeout: float) -> list[list[str]]:
        """Every message up to and including the first that has `key`."""
        seen: list[list[str]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                message = self.receive()
            except TimeoutError:
                break
            seen.append(message)
            if key in message:
                return seen
        raise AssertionError(f"no {key} within {timeout}s; got {seen}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[Listener, str]]:
    path = str(tmp_path / "notify.sock")
    lst = Listener(path)
    yield lst, path
    lst.close()


def test_ready_reaches_the_socket_named_by_notify_socket(
        listener: tuple[Listener, str]) -> None:
    lst, path = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.ready("watching 3 sources")
    assert lst.receive() == ["READY=1", "STATUS=watching 3 sources"]


def test_each_message_kind_has_the_assignments_systemd_expects(
        listener: tuple[Listener, str]) -> None:
    lst, path = listener
    notifier = Notifier(path)
    notifier.watchdog()
    assert lst.receive() == ["WATCHDOG=1"]
    notifier.stopping()
    assert lst.receive() == ["STOPPING=1"]
    notifier.status("12.5 events/s")
    assert lst.receive() == ["STATUS=12.5 events/s"]
    notifier.extend_timeout(30)
    assert lst.receive() == ["EXTEND_TIMEOUT_USEC=30000000"]


def test_reloading_carries_the_current_monotonic_time_in_microseconds(
        listener: tuple[Listener, str]) -> None:
    lst, path = listener
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    Notifier(path).reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = lst.receive()
    assert first == "RELOADING=1"
    key, _, value = second.partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_a_status_with_newlines_stays_one_assignment(listener: tuple[Listener, str]) -> None:
    lst, path = listener
    Notifier(path).status("line one\nREADY=1\tand more")
    assert lst.receive() == ["STATUS=line one READY=1 and more"]


def test_an_abstract_namespace_socket_is_reached_through_its_at_sign_name() -> None:
    name = f"wallwatch-test-{os.getpid()}-{time.monotonic_ns()}"
    lst = Listener(b"\0" + name.encode())
    try:
        assert Notifier.from_env({"NOTIFY_SOCKET": "@" + name}).ready()
        assert lst.receive() == ["READY=1"]
    finally:
        lst.close()


def test_without_notify_socket_every_call_is_a_quiet_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()
    assert not notifier.reloading()
    assert not notifier.status("x")
    assert not notifier.stopping()


def test_an_address_that_is_not_a_unix_socket_path_is_not_used() -> None:
    assert not Notifier.from_env({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled
    assert not Notifier.from_env({"NOTIFY_SOCKET": "relative/notify.sock"}).enabled


def test_a_vanished_socket_returns_false_instead_of_raising_and_recovers(
        tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    notifier = Notifier(path)
    assert not notifier.watchdog()  # nobody listens (systemd restarted, socket gone)
    lst = Listener(path)
    try:
        assert notifier.watchdog()  # the next send reconnects
        assert lst.receive() == ["WATCHDOG=1"]
    finally:
        lst.close()
        notifier.close()


def test_watchdog_interval_comes_from_watchdog_usec() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None


def test_watchdog_interval_is_none_when_meant_for_another_process() -> None:
    env = {"WATCHDOG_USEC": "5000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(env) == 5.0
    assert watchdog_interval(env, pid=os.getpid() + 1) is None
    assert watchdog_interval({**env, "WATCHDOG_PID": "x"}) is None


def test_status_meter_reports_the_event_rate_since_the_previous_line() -> None:
    meter = StatusMeter(events_total=100, now=0.0)
    text = meter.line(events_total=350, tail_lag_bytes=4096, rule_lag_events=7, now=10.0)
    assert text == ("25.0 events/s, 350 stored since start, 4096 bytes of log unread, "
                    "rules 7 events behind")
    assert meter.line(350, 0, 0, now=20.0).startswith("0.0 events/s")


@pytest.mark.slow
def test_the_daemon_notifies_ready_watchdog_reload_status_and_stopping(
        tmp_path: Path, listener: tuple[Listener, str], monkeypatch: pytest.MonkeyPatch) -> None:
    lst, path = listener
    log_file = tmp_path / "audit.log"
    log_file.touch()
    config = write_config(tmp_path / "w.yaml", tmp_path / "w.db",
                          [{"type": "samba", "path": str(log_file)}])
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "3000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    with Daemon(config, tmp_path / "daemon.log") as daemon:
        lst.receive_until("READY=1", timeout=30)
        lst.receive_until("WATCHDOG=1", timeout=5)
        daemon.signal(signal.SIGHUP)
        after_hup = lst.receive_until("READY=1", timeout=10)
        assert any("RELOADING=1" in m for m in after_hup), after_hup
        reloading = next(m for m in after_hup if "RELOADING=1" in m)
        assert any(a.startswith("MONOTONIC_USEC=") for a in reloading)
        status: list[str] = []  # STATUS= comes every ~10 s, between WATCHDOG=1 pings
        deadline = time.monotonic() + 15
        while not status and time.monotonic() < deadline:
            status = [a for a in lst.receive() if a.startswith("STATUS=")]
        assert status and "events/s" in status[0], status
        daemon.signal(signal.SIGTERM)
        lst.receive_until("STOPPING=1", timeout=10)
        assert daemon.wait(15) == 0
