"""/var/log/audit/audit.log (auditd 3.0.9, log_format = RAW) of the file server, with
`auditctl -w /srv/share/clients -p rwa -k clients`: smbd opening, writing, renaming
and deleting files for the staff (their winbind uids, which this machine cannot name),
a nightly rsync backup as root, and cron's PAM records. Each event is its records
(SYSCALL, CWD, PATH…, PROCTITLE) under one `audit(TIME:SERIAL)`; names with non-ASCII
bytes or spaces are hex, as auditd writes them (tests/data/auditd/raw.log).
"""

from __future__ import annotations

import heapq
import itertools
import posixpath
import random
from typing import TextIO

from bench.firm import CLIENTS, SHARE_ROOT, Member, client_files
from bench.timeline import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    Action,
    Budget,
    Merger,
    OfficeClock,
    Span,
    seconds,
)

STAMP = "\x00"  # replaced by TIME:SERIAL when the event is written: serials follow time
_SAFE = frozenset(chr(c) for c in range(0x21, 0x7f)) - {'"'}
UID_BASE = 11001  # winbind's idmap range: the staff have no local passwd entry
CAPS = "cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"


def enc(value: str) -> str:
    """A field as auditd logs it: quoted when plain ASCII, else hex."""
    if value and all(c in _SAFE for c in value):
        return f'"{value}"'
    return value.encode().hex().upper()


class AuditdGenerator:
    def __init__(self, span: Span, staff: dict[str, Member], rng: random.Random,
                 workdays: list[int]) -> None:
        self.span, self.staff, self.rng = span, staff, rng
        self.clock = OfficeClock(span, workdays)
        self.files = {c: client_files(c) for c in CLIENTS}
        self.members = [m for m in staff.values() if not m.all_clients]
        self.serial = rng.randint(1000, 9000)
        self.pids = itertools.count(rng.randint(3000, 9000))
        self.inodes = itertools.count(2_200_000)
        self.seq = itertools.count()
        self.scheduled: list[Action] = []
        self.ses = itertools.count(800)

    def render(self, t: int, event: str) -> str:
        self.serial += 1
        sec = self.span.epoch(t)
        return event.replace(STAMP, f"{sec:.3f}:{self.serial}")

    def write(self, out: TextIO, lines: int) -> int:
        rng = self.rng
        self._schedule(lines)
        merger = Merger(out, self.render, lines)
        pending = sum(r[1].count("\n") for a in self.scheduled for r in a.records)
        activity, avg, done, done_lines = 0.0, 4.5, 0, 0
        total = self.clock.total
        try:
            while activity < total:
                left = max(1.0, (merger.left - pending) / avg)
                activity += rng.expovariate(left / max(1.0, total - activity) / 0.97)
                t = self.clock.wall(min(activity, total - 1))
                while self.scheduled and self.scheduled[0].start <= t:
                    action = heapq.heappop(self.scheduled)
                    pending -= sum(r[1].count("\n") for r in action.records)
                    merger.add(action)
                action = self._smbd(t)
                merger.add(action)
                done += 1
                done_lines += sum(r[1].count("\n") for r in action.records)
                avg = done_lines / done
            while self.scheduled:
                merger.add(heapq.heappop(self.scheduled))
            merger.flush()
        except Budget:
            pass
        return merger.lines

    # -- records ---------------------------------------------------------------
    def _syscall(self, nr: int, a: tuple[str, str, str, str], items: int, uid: int,
                 comm: str, exe: str, auid: int | None = None, ses: int | None = None,
                 exit_code: int = 0, success: bool = True) -> str:
        ppid, pid = next(self.pids), next(self.pids)
        au = 4294967295 if auid is None else auid
        se = 4294967295 if ses is None else ses
        return (f"type=SYSCALL msg=audit({STAMP}): arch=c000003e syscall={nr}"
                f" success={'yes' if success else 'no'} exit={exit_code} a0={a[0]} a1={a[1]}"
                f" a2={a[2]} a3={a[3]} items={items} ppid={ppid} pid={pid} auid={au} uid={uid}"
                f" gid={uid} euid={uid} suid={uid} fsuid={uid} egid={uid} sgid={uid}"
                f" fsgid={uid} tty=(none) ses={se} comm={enc(comm)} exe={enc(exe)}"
                ' key="clients"\n')

    def _path(self, item: int, name: str, mode: str, uid: int, nametype: str) -> str:
        return (f"type=PATH msg=audit({STAMP}): item={item} name={enc(name)}"
                f" inode={next(self.inodes)} dev=fe:01 mode={mode} ouid={uid} ogid={uid}"
                f" rdev=00:00 nametype={nametype} {CAPS}\n")

    @staticmethod
    def _cwd(cwd: str) -> str:
        return f"type=CWD msg=audit({STAMP}): cwd={enc(cwd)}\n"

    @staticmethod
    def _title(*argv: str) -> str:
        return f"type=PROCTITLE msg=audit({STAMP}): proctitle={enc(chr(0).join(argv))}\n"

    def _addr(self) -> str:
        return f"{self.rng.randrange(0x55d000000000, 0x55dfffffffff):x}"

    # -- events ------------------------------------------------------------------
    def _smbd(self, t: int) -> Action:
        """smbd acting for a member of staff, on a path relative to the share."""
        rng = self.rng
        m = rng.choice(self.members)
        uid = UID_BASE + (m.uid - 1001)
        client = rng.choice(m.workable())
        path = rng.choice(self.files[client])
        rel = path[len(SHARE_ROOT) + 1:]
        title = self._title(f"smbd: client [{m.ip}]")
        smbd = ("smbd", "/usr/sbin/smbd")
        kind = rng.choices(("read", "write", "delete", "rename", "mkdir"), (70, 18, 5, 5, 2))[0]
        if kind in ("read", "write"):
            flags = "0" if kind == "read" else "241"
            event = (self._syscall(257, ("ffffff9c", self._addr(), flags, "0"), 1, uid, *smbd,
                                   exit_code=rng.randint(20, 60))
                     + self._cwd(SHARE_ROOT) + self._path(0, rel, "0100644", uid, "NORMAL")
                     + title)
        elif kind == "delete":
            parent = posixpath.dirname(rel)
            event = (self._syscall(263, ("ffffff9c", self._addr(), "0", "0"), 2, uid, *smbd)
                     + self._cwd(SHARE_ROOT) + self._path(0, parent, "040755", uid, "PARENT")
                     + self._path(1, rel + ".tmp", "0100644", uid, "DELETE") + title)
        elif kind == "rename":
            parent = posixpath.dirname(rel)
            stem, ext = posixpath.splitext(rel)
            a = ("ffffff9c", self._addr(), "ffffff9c", self._addr())
            event = (self._syscall(316, a, 4, uid, *smbd) + self._cwd(SHARE_ROOT)
                     + self._path(0, parent, "040755", uid, "PARENT")
                     + self._path(1, parent, "040755", uid, "PARENT")
                     + self._path(2, rel, "0100644", uid, "DELETE")
                     + self._path(3, f"{stem}-v2{ext}", "0100644", uid, "CREATE") + title)
        else:
            d = posixpath.join(posixpath.dirname(rel), f"新建文件夹-{rng.randint(1, 999)}")
            event = (self._syscall(83, (self._addr(), "1ff", "0", "0"), 2, uid, *smbd)
                     + self._cwd(SHARE_ROOT)
                     + self._path(0, posixpath.dirname(d), "040755", uid, "PARENT")
                     + self._path(1, d, "040755", uid, "CREATE") + title)
        return Action(t, next(self.seq), [(t, event)])

    def _backup_read(self, t: int, path: str, ses: int) -> Action:
        event = (self._syscall(257, ("ffffff9c", self._addr(), "0", "0"), 1, 0, "rsync",
                                "/usr/bin/rsync", auid=0, ses=ses, exit_code=3)
                 + self._cwd("/") + self._path(0, path, "0100644", 0, "NORMAL")
                 + self._title("rsync", "-a", "--delete", f"{SHARE_ROOT}/", "/backup/clients/"))
        return Action(t, next(self.seq), [(t, event)])

    def _cron(self, t: int) -> Action:
        """cron's PAM session: six user-space records, each its own event."""
        pid, ses = next(self.pids), next(self.ses)
        acct = ('acct="root" exe="/usr/sbin/cron" hostname=? addr=? terminal=cron'
                " res=success'")
        head = f"pid={pid} uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:"
        inner = f"pid={pid} uid=0 auid=0 ses={ses} msg='op=PAM:"
        texts = [
            f"type=USER_ACCT msg=audit({STAMP}): {head}accounting grantors=pam_permit {acct}",
            f"type=CRED_ACQ msg=audit({STAMP}): {head}setcred grantors=pam_permit {acct}",
            f"type=LOGIN msg=audit({STAMP}): pid={pid} uid=0 old-auid=4294967295 auid=0"
            f" tty=(none) old-ses=4294967295 ses={ses} res=1",
            f"type=USER_START msg=audit({STAMP}): {inner}session_open"
            f" grantors=pam_loginuid,pam_env,pam_permit,pam_unix {acct}",
            f"type=CRED_DISP msg=audit({STAMP}): {inner}setcred grantors=pam_permit {acct}",
            f"type=USER_END msg=audit({STAMP}): {inner}session_close"
            f" grantors=pam_loginuid,pam_env,pam_permit,pam_unix {acct}",
        ]
        gaps = (0, 200, 900, 2_000, SECOND, SECOND + 600)
        return Action(t, next(self.seq), [(t + g, text + "\n") for g, text in
                                          zip(gaps, texts, strict=True)])

    def _schedule(self, lines: int) -> None:
        rng, span = self.rng, self.span
        every = max(5 * MINUTE, int(5 * MINUTE * 1_000_000 / max(lines, 1)))
        for t in range(2 * MINUTE, span.length, every):
            heapq.heappush(self.scheduled, self._cron(t))
        per_night = max(10, lines // 100)  # about a fifth of the file
        for day in range(span.days):
            t = day * DAY + 1 * HOUR + seconds(rng, 0, 600)
            ses = next(self.ses)
            for client in CLIENTS:
                files = self.files[client]
                for path in rng.sample(files, min(len(files), max(1, per_night // 200))):
                    t += rng.randint(2_000, 60_000)
                    heapq.heappush(self.scheduled, self._backup_read(t, path, ses))
