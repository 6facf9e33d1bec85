"""One failed SSH login attempt = one event, although sshd and PAM log it in pieces.

What a real OpenSSH 9.2 + Linux-PAM writes for one attempt (see tests/sources/test_sshd.py):
- wrong password: `pam_unix(sshd:auth): authentication failure; … user=U` then,
  about 2 s later (PAM's fail delay), `Failed password for U from IP port N ssh2`,
  both from the connection's sshd process. Further attempts on the same
  connection log only `Failed password` (pam_unix reports once per PAM handle, and
  sums up the rest as `PAM 2 more authentication failures` at the end).
- unknown user: `Invalid user U from IP port N`, the PAM failure (without `user=`),
  then `Failed password for invalid user U …`.
- wrong keyboard-interactive answer: the PAM failure comes from PAM's helper
  process (another pid), then sshd logs `error: PAM: Authentication failure for U
  from IP`; a `Failed keyboard-interactive/pam` line follows only for unknown users
  (for known users sshd logs it at VERBOSE).
Counting each of those lines as a failure would make a threshold rule on failed
logins fire two or three times too early. So the lines that precede the verdict
(`Invalid user`, the PAM failure, `error: PAM:`) are held as a pending *attempt*
and folded into the `Failed …` line that concludes it:
- same sshd pid first; else (PAM's helper pid) a pending attempt from PAM alone
  with the same address and a compatible user;
- an attempt still pending when its sshd process logs anything else (the client
  gave up: `Connection closed by …`, or retried and got in), or when event time
  has moved WINDOW past it, is a failure on its own (a client that only probed a
  user name is a failed login too).
The event takes the id, time and offset of the attempt's first line (the rule
for multi-line records), and keeps what every line said. WINDOW is above
sshd's default LoginGraceTime (120 s), the longest an attempt can take.
`flush()` (the file went quiet) releases only attempts older than WINDOW by the
clock: the verdict of a young one is typically still 2 s away, and releasing it
early would count that attempt twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.event import Event, event_id, us_to_ts
from monitor.sources.sshd_messages import SshMessage

WINDOW_US = 150_000_000
MAX_PENDING = 10_000  # a flood of PAM failures must not grow memory without bound


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a message came from: its line and its envelope."""

    file_id: str
    offset: int
    ts_us: int
    host: str | None
    program: str
    pid: int | None


@dataclass
class Attempt:
    file_id: str
    offset: int
    ts_us: int
    host: str | None
    program: str
    pid: int | None
    by_sshd: bool  # pid is the connection's sshd process (not PAM's helper)
    ip: str | None = None
    port: int | None = None
    user: str | None = None
    invalid_user: bool = False
    method: str | None = None
    pam_error: bool = False
    lines: list[str] = field(default_factory=list)  # what was folded in, in order
    fields: dict[str, Any] = field(default_factory=dict)

    def absorb(self, msg: SshMessage, label: str) -> None:
        self.lines.append(label)
        self.user = self.user or msg.user or None
        self.ip = self.ip or msg.ip
        self.port = self.port or msg.port
        self.invalid_user = self.invalid_user or msg.invalid_user
        self.method = msg.method or self.method
        for key, value in msg.fields.items():
            self.fields.setdefault(key, value)


def login_event(source: str, origin: Origin | Attempt, msg: SshMessage | None,
                outcome: str, attempt: Attempt | None = None) -> Event:
    """An `ssh_login` event from one line, or from an attempt folded into it."""
    base: Origin | Attempt = attempt or origin
    extra: dict[str, Any] = {"process.name": base.program}
    user, ip, port = None, None, None
    method, invalid = None, False
    lines: list[str] = []
    if attempt is not None:
        extra.update(attempt.fields)
        user, ip, port = attempt.user, attempt.ip, attempt.port
        method, invalid, lines = attempt.method, attempt.invalid_user, list(attempt.lines)
    if msg is not None:
        extra.update(msg.fields)
        user, ip, port = msg.user or user, msg.ip or ip, msg.port or port
        method, invalid = msg.method or method, msg.invalid_user or invalid
        lines.append("Accepted" if msg.kind == "accepted" else "Failed")
    if base.pid is not None:
        extra["process.pid"] = base.pid
    if method:
        extra["system.auth.ssh.method"] = method
    if invalid:
        extra["system.auth.ssh.invalid_user"] = True
    extra["system.auth.ssh.event"] = lines[-1] if lines else "Failed"
    if len(lines) > 1:
        extra["system.auth.lines"] = lines
    return Event(id=event_id(source, base.file_id, base.offset), timestamp=us_to_ts(base.ts_us),
                 dataset="system.auth", category="authentication", type="start",
                 action="ssh_login", outcome=outcome, user_name=user or None, source_ip=ip,
                 source_port=port, host_name=base.host, log_offset=base.offset, extra=extra)


class AttemptTracker:
    """Holds the first lines of failed attempts until their verdict is logged."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pending: list[Attempt] = []  # oldest first

    # -- lines that open or extend an attempt ----------------------------
    def opening(self, origin: Origin, msg: SshMessage, out: list[Event]) -> None:
        """`Invalid user`, a PAM failure or `error: PAM:`: the start of an attempt."""
        pid = origin.pid
        attempt: Attempt | None = None
        if msg.kind == "invalid":  # the first line of a connection's attempts
            self.release_pid(pid, out)
            label = "Invalid"
        elif msg.kind == "pam_failure":
            label = "pam_failure"
            attempt = self._same_pid(pid, lambda a: label not in a.lines, out)
        else:
            label = "PAM error"
            attempt = self._same_pid(pid, lambda a: not a.pam_error, out) or self._by_address(msg)
        if attempt is None:
            # pam_unix may log from PAM's helper process: its pid is not sshd's
            attempt = Attempt(origin.file_id, origin.offset, origin.ts_us, origin.host,
                              origin.program, pid, by_sshd=msg.kind != "pam_failure")
            self.pending.append(attempt)
            while len(self.pending) > MAX_PENDING:
                out.append(self._event(self.pending.pop(0)))
        elif msg.kind == "pam_error" and not attempt.by_sshd:
            attempt.pid, attempt.by_sshd, attempt.program = pid, True, origin.program
        attempt.absorb(msg, label)
        if msg.kind == "pam_error":
            attempt.pam_error = True
            attempt.method = attempt.method or "keyboard-interactive/pam"

    def failed(self, origin: Origin, msg: SshMessage, out: list[Event]) -> None:
        """The verdict: one event, with the attempt it concludes folded in."""
        attempt = self._same_pid(origin.pid, lambda a: True, out) or self._by_address(msg)
        if attempt is not None:
            self.pending.remove(attempt)
        out.append(login_event(self.source, origin, msg, "failure", attempt))

    def _same_pid(self, pid: int | None, fits: Callable[[Attempt], bool],
                  out: list[Event]) -> Attempt | None:
        """The attempt pending for this sshd process, if the new line fits it; one
        that does not fit (a second PAM failure on one connection) failed on its own."""
        for attempt in self.pending:
            if attempt.pid == pid:
                if fits(attempt):
                    return attempt
                self.pending.remove(attempt)
                out.append(self._event(attempt))
                return None
        return None

    def _by_address(self, msg: SshMessage) -> Attempt | None:
        """An attempt that only PAM's helper process has logged so far."""
        for attempt in self.pending:
            if (not attempt.by_sshd and attempt.ip is not None and attempt.ip == msg.ip
                    and (attempt.user is None or not msg.user or attempt.user == msg.user)):
                return attempt
        return None

    # -- releasing ---------------------------------------------------------
    def release_pid(self, pid: int | None, out: list[Event],
                    closing: SshMessage | None = None) -> None:
        """The connection's sshd moved on: its pending attempt failed on its own. The
        line that says so may name the client's port, which PAM's lines lack."""
        keep = []
        for attempt in self.pending:
            if attempt.pid == pid:
                if closing is not None and closing.ip == attempt.ip:
                    attempt.port = attempt.port or closing.port
                    attempt.user = attempt.user or closing.user or None
                out.append(self._event(attempt))
            else:
                keep.append(attempt)
        self.pending = keep

    def expire(self, now_us: int, out: list[Event]) -> None:
        keep = []
        for attempt in self.pending:
            if attempt.ts_us < now_us - WINDOW_US:
                out.append(self._event(attempt))
            else:
                keep.append(attempt)
        self.pending = keep

    def _event(self, attempt: Attempt) -> Event:
        return login_event(self.source, attempt, None, "failure", attempt)

    # -- state -------------------------------------------------------------
    def snapshot(self) -> list[dict[str, Any]]:
        return [asdict(a) for a in self.pending]

    def restore(self, state: list[dict[str, Any]] | None) -> None:
        self.pending = [Attempt(**dict(item)) for item in state or []]
