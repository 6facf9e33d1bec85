"""/var/log/auth.log of an sshd on the internet (BSD syslog form, as Debian's rsyslog
writes it): mostly password guessing from a few thousand addresses, a few of them
bursting, plus the staff's own logins and cron's PAM sessions. Line shapes are those
of OpenSSH 9.2 with Linux-PAM (tests/sources/test_sshd.py holds real ones).
"""

from __future__ import annotations

import heapq
import itertools
import random
import string
from typing import Any, TextIO

from bench.firm import HOST
from bench.timeline import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    Action,
    Budget,
    Merger,
    Span,
    seconds,
)

INVALID_USERS = ("admin", "test", "user", "oracle", "postgres", "ubuntu", "git", "ftpuser",
                 "guest", "support", "deploy", "hadoop", "mysql", "pi", "administrator",
                 "jenkins", "minecraft", "es", "steam", "centos", "www", "dev", "tomcat")
VALID_TARGETS = ("root", "root", "root", "backup")
ADMINS = (("it.admin", "10.0.1.5", 1000), ("wang.wei", "10.0.1.10", 1001),
          ("zhang.na", "10.0.1.32", 1023))
_FIRST_OCTETS = (1, 5, 14, 27, 36, 42, 45, 46, 58, 59, 61, 77, 80, 91, 92, 101, 103, 106, 109,
                 111, 112, 113, 114, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 139,
                 141, 144, 150, 154, 159, 164, 167, 170, 175, 180, 182, 183, 185, 188, 190, 193,
                 194, 195, 197, 201, 202, 203, 210, 211, 212, 218, 219, 220, 221, 222, 223)


class SshdGenerator:
    def __init__(self, span: Span, rng: random.Random) -> None:
        self.span, self.rng = span, rng
        self.pids = itertools.count(rng.randint(20_000, 40_000))
        self.seq = itertools.count()
        self.scheduled: list[Action] = []
        self.injected: list[dict[str, Any]] = []
        self._months = [span.local(d * DAY).strftime("%b %e") for d in range(span.days + 1)]

    def render(self, t: int, body: str) -> str:
        day, rem = divmod(t, DAY)
        h, rem = divmod(rem, HOUR)
        m, rem = divmod(rem, MINUTE)
        return f"{self._months[day]} {h:02d}:{m:02d}:{rem // SECOND:02d} {HOST} {body}\n"

    def write(self, out: TextIO, lines: int) -> int:
        rng = self.rng
        n_ips = min(3000, max(30, lines // 330))
        ips = self._addresses(n_ips)
        weights = [1 / (rank + 1) ** 0.8 for rank in range(n_ips)]
        self._inject(lines, ips)
        merger = Merger(out, self.render, lines)
        pending = sum(len(a.records) for a in self.scheduled)
        t, avg, done_lines, done = 0.0, 8.0, 0, 0
        length = self.span.length
        try:
            while t < length:
                left = max(1.0, (merger.left - pending) / avg)
                t += rng.expovariate(left / max(1.0, length - t) / 0.97)
                now = int(min(t, length - 1))
                while self.scheduled and self.scheduled[0].start <= now:
                    action = heapq.heappop(self.scheduled)
                    pending -= len(action.records)
                    merger.add(action)
                ip = rng.choices(ips, weights)[0]
                action = self._scan(now, ip) if rng.random() < 0.12 else self._guess(now, ip)
                merger.add(action)
                done += 1
                done_lines += len(action.records)
                avg = done_lines / done
            while self.scheduled:
                merger.add(heapq.heappop(self.scheduled))
            merger.flush()
        except Budget:
            pass
        return merger.lines

    def _addresses(self, n: int) -> list[str]:
        rng, out = self.rng, set[str]()
        while len(out) < n:
            out.add(f"{rng.choice(_FIRST_OCTETS)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                    f"{rng.randint(1, 254)}")
        return sorted(out, key=lambda _: rng.random())

    # -- one connection -------------------------------------------------------
    def _conn(self, t: int, lines: list[tuple[int, str]]) -> Action:
        return Action(t, next(self.seq), lines)

    def _guess(self, t: int, ip: str, user: str | None = None, attempts: int | None = None,
               ) -> Action:
        """One connection that tries passwords and fails."""
        rng = self.rng
        pid, port = next(self.pids), rng.randint(1024, 65535)
        tag = f"sshd[{pid}]: "
        if user is None:
            user = rng.choice(VALID_TARGETS) if rng.random() < 0.4 else rng.choice(INVALID_USERS)
        invalid = user not in VALID_TARGETS and user not in {a[0] for a in ADMINS}
        k = attempts or rng.choice((1, 1, 2, 3, 6, 6))
        who = f"invalid user {user}" if invalid else user
        rhost = f"logname= uid=0 euid=0 tty=ssh ruser= rhost={ip} " + ("" if invalid else
                                                                       f" user={user}")
        out: list[tuple[int, str]] = []
        now = t
        if invalid:
            out.append((now, f"{tag}Invalid user {user} from {ip} port {port}"))
            now += rng.randint(2_000, 9_000)
            out.append((now, f"{tag}pam_unix(sshd:auth): check pass; user unknown"))
        out.append((now + 40, f"{tag}pam_unix(sshd:auth): authentication failure; {rhost}"))
        for i in range(k):
            now += seconds(rng, 1.8, 3.5)
            if i and invalid:
                out.append((now - 200_000, f"{tag}pam_unix(sshd:auth): check pass; user unknown"))
            out.append((now, f"{tag}Failed password for {who} from {ip} port {port} ssh2"))
        now += seconds(rng, 0.1, 1.5)
        closing = "invalid user" if invalid else "authenticating user"
        if k >= 6:
            out.append((now, f"{tag}error: maximum authentication attempts exceeded for {who}"
                             f" from {ip} port {port} ssh2 [preauth]"))
            out.append((now + 30, f"{tag}Disconnecting {closing} {user} {ip} port {port}:"
                                  " Too many authentication failures [preauth]"))
        else:
            out.append((now, f"{tag}Connection closed by {closing} {user} {ip} port {port}"
                             " [preauth]"))
        if k > 1:
            out.append((now + 900, f"{tag}PAM {k - 1} more authentication failures; {rhost}"))
        return self._conn(t, out)

    def _scan(self, t: int, ip: str) -> Action:
        """A probe that never tries a password."""
        rng = self.rng
        tag, port = f"sshd[{next(self.pids)}]: ", rng.randint(1024, 65535)
        text = rng.choice((
            f"Connection closed by {ip} port {port} [preauth]",
            f"Connection reset by {ip} port {port} [preauth]",
            f"Received disconnect from {ip} port {port}:11: Bye Bye [preauth]",
            f"Disconnected from authenticating user root {ip} port {port} [preauth]",
            f"banner exchange: Connection from {ip} port {port}: invalid format",
            "error: kex_exchange_identification: Connection closed by remote host",
        ))
        return self._conn(t, [(t, tag + text)])

    def _login(self, t: int, user: str, ip: str, uid: int, method: str = "publickey") -> Action:
        rng = self.rng
        pid, port = next(self.pids), rng.randint(1024, 65535)
        tag = f"sshd[{pid}]: "
        key = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(43))
        accepted = f"Accepted {method} for {user} from {ip} port {port} ssh2"
        if method == "publickey":
            accepted += f": ED25519 SHA256:{key}"
        end = t + seconds(rng, 30, 3600)
        child = f"sshd[{next(self.pids)}]: "
        return self._conn(t, [
            (t, tag + accepted),
            (t + 3_000, f"{tag}pam_unix(sshd:session): session opened for user {user}(uid={uid})"
                        " by (uid=0)"),
            (end, f"{child}Received disconnect from {ip} port {port}:11: disconnected by user"),
            (end + 300, f"{child}Disconnected from user {user} {ip} port {port}"),
            (end + 1_200, f"{tag}pam_unix(sshd:session): session closed for user {user}"),
        ])

    # -- schedules ---------------------------------------------------------------
    def _push(self, action: Action) -> None:
        heapq.heappush(self.scheduled, action)

    def _inject(self, lines: int, ips: list[str]) -> None:
        rng, length = self.rng, self.span.length
        scale = lines / 200_000
        for t in range(0, length, 15 * MINUTE):  # cron's PAM session, every quarter hour
            pid = next(self.pids)
            self._push(self._conn(t + SECOND, [
                (t + SECOND, f"CRON[{pid}]: pam_unix(cron:session): session opened for user"
                             " root(uid=0) by (uid=0)"),
                (t + 2 * SECOND, f"CRON[{pid}]: pam_unix(cron:session): session closed for"
                                 " user root")]))
        for day in range(self.span.days):  # the staff's own logins, mostly in office hours
            for _ in range(max(2, round(6 * scale))):
                user, ip, uid = rng.choice(ADMINS)
                hour = rng.uniform(9, 18) if rng.random() < 0.9 else rng.uniform(0, 24)
                self._push(self._login(day * DAY + int(hour * HOUR), user, ip, uid))
        for _ in range(max(2, round(len(ips) / 300))):  # bursting addresses
            ip, t = rng.choice(ips), seconds(rng, 0, length / SECOND - 7200)
            n = max(5, int(rng.randint(150, 400) * min(1.0, scale)))
            for k in range(n):
                self._push(self._guess(t + k * seconds(rng, 0.5, 3), ip, attempts=6))
            self.injected.append({"kind": "ssh-burst", "ip": ip, "connections": n,
                                  "time": self.span.local(t).isoformat(sep=" ")})
        for _ in range(max(1, round(scale))):  # guessed, then got in
            user, _, uid = rng.choice(ADMINS)
            ip = f"198.51.100.{rng.randint(2, 250)}"
            t = seconds(rng, 3600, length / SECOND - 7200)
            first = self._guess(t, ip, user=user, attempts=6)
            self._push(first)
            self._push(self._login(first.records[-1][0] + seconds(rng, 5, 60), user, ip, uid,
                                   "password"))
            self.injected.append({"kind": "guess-then-success", "ip": ip, "user": user,
                                  "time": self.span.local(t).isoformat(sep=" ")})
