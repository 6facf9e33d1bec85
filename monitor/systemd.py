"""A dependency-free sd_notify(3) client: tell systemd we are ready, alive, reloading,
stopping, and what we are doing.

systemd passes `NOTIFY_SOCKET` (an absolute path, or `@name` for a socket in the
abstract namespace) to a `Type=notify` service; each message is one datagram of
newline-separated `KEY=VALUE` assignments. Without `NOTIFY_SOCKET` (run by hand,
in tests, under another supervisor) every call is a no-op, so the daemon can
call these unconditionally. A failed send is logged once and never raised:
losing a status line must not stop the audit.

The watchdog: `WatchdogSec=` in the unit becomes `WATCHDOG_USEC` (and
`WATCHDOG_PID`, the PID it is meant for) in our environment; the daemon sends
`WATCHDOG=1` well inside that interval while it is healthy, and stops sending
when it is not, so systemd restarts it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


def _address(value: str | None) -> str | bytes | None:
    """The sendto() address for a NOTIFY_SOCKET value, or None when we cannot use it."""
    if not value:
        return None
    if value.startswith("@"):  # abstract namespace: a leading NUL byte instead of '@'
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    # `vsock:CID:PORT` (systemd 254, for VMs) and anything else we do not speak
    log.warning("systemd: NOTIFY_SOCKET %r is not a unix socket path; not notifying", value)
    return None


def _monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def _one_line(text: str) -> str:
    # a newline would start a new assignment: STATUS=… must stay one field
    return " ".join(text.split())


class Notifier:
    """Sends notifications to one socket; a no-op when `address` is None."""

    def __init__(self, address: str | bytes | None) -> None:
        self.address = address
        self._sock: socket.socket | None = None
        # reentrant: a signal handler in the main thread may notify while it is mid-send
        self._lock = threading.RLock()
        self._warned = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(_address(env.get("NOTIFY_SOCKET")))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=VALUE` assignments in one datagram; True when systemd got it."""
        if self.address is None:
            return False
        message = "\n".join(assignments).encode()
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sock.sendto(message, self.address)
            except OSError as exc:
                if not self._warned:  # systemd gone or socket full: say so once, go on
                    log.warning("systemd: cannot notify (%s); going on without it",
                                exc.strerror or exc)
                    self._warned = True
                self._close()
                return False
        self._warned = False
        return True

    def ready(self, status: str | None = None) -> bool:
        extra = (f"STATUS={_one_line(status)}",) if status else ()
        return self.notify("READY=1", *extra)

    def reloading(self) -> bool:
        # systemd 253's Type=notify-reload wants the monotonic time with RELOADING=1 to tell
        # this reload from an earlier one; older versions ignore the extra field.
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={_monotonic_usec()}")

    def stopping(self, status: str | None = None) -> bool:
        extra = (f"STATUS={_one_line(status)}",) if status else ()
        return self.notify("STOPPING=1", *extra)

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={_one_line(text)}")

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for more time to start or stop (e.g. a long first scan of a share)."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        with self._lock:
            self._close()


def watchdog_interval(env: Mapping[str, str] | None = None,
                      pid: int | None = None) -> float | None:
    """Seconds within which systemd expects WATCHDOG=1, or None when no watchdog is set
    (or it is set for another process: `WATCHDOG_PID` names the one it is meant for)."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    target = env.get("WATCHDOG_PID")
    if target:
        if not target.isdigit():
            return None
        if int(target) != (os.getpid() if pid is None else pid):
            return None
    return int(usec) / 1_000_000


class StatusMeter:
    """Turns running totals into the one-line STATUS= text (events/s, lag)."""

    def __init__(self, events_total: int = 0, now: float | None = None) -> None:
        self._last_time = time.monotonic() if now is None else now
        self._last_total = events_total

    def line(self, events_total: int, tail_lag_bytes: int, rule_lag_events: int,
             now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = now - self._last_time
        rate = max(0, events_total - self._last_total) / elapsed if elapsed > 0 else 0.0
        self._last_time, self._last_total = now, events_total
        return (f"{rate:.1f} events/s, {events_total} stored since start, "
                f"{tail_lag_bytes} bytes of log unread, rules {rule_lag_events} events behind")


_default: Notifier | None = None
_default_lock = threading.Lock()


def default() -> Notifier:
    """The notifier for this process's NOTIFY_SOCKET (read once)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Notifier.from_env()
        return _default


def ready(status: str | None = None) -> bool:
    return default().ready(status)


def reloading() -> bool:
    return default().reloading()


def stopping(status: str | None = None) -> bool:
    return default().stopping(status)


def watchdog() -> bool:
    return default().watchdog()


def status(text: str) -> bool:
    return default().status(text)
