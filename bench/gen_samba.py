"""Samba full_audit debug log (prefix %u|%I|%m|%S) of a week at the firm.

Staff work on the clients they are assigned to, in office hours, sticking to one
client for a while; a few work late. On top of that, injected on fixed schedules
(and listed in the manifest): staff opening clients they are not assigned to, a
night-time bulk read, a mass delete, a ransomware-like rename run, a bait file, an
ACL opened to Everyone, ownership changes, an archived client touched, a departed
member's account used.
"""

from __future__ import annotations

import heapq
import itertools
import posixpath
import random
from collections.abc import Callable
from functools import partial
from typing import Any, TextIO

from bench import samba_ops as ops
from bench.firm import (
    ACCOUNTANTS,
    ARCHIVED,
    BAIT_CLIENTS,
    BAIT_FILES,
    CLIENTS,
    DEPARTED,
    PARTNERS,
    SHARE_NAME,
    SHARE_ROOT,
    Member,
    client_files,
)
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
    Steps,
    seconds,
)

HEADER = "../../source3/modules/vfs_full_audit.c:643(do_log)"
WIDE_ACL = "D:(A;;0x001f01ff;;;S-1-22-1-{uid})(A;;0x001200a9;;;WD)"
TEAM_ACL = "D:(A;;0x001f01ff;;;S-1-22-1-{uid})(A;;0x001301bf;;;S-1-22-2-1000)"
# normal work: action kind -> weight
KINDS = {"read": 50, "list": 14, "modify": 8, "overwrite": 6, "create": 7, "rename": 4,
         "delete": 4, "mkdir": 1, "copy": 2, "readonly": 1, "missing": 2, "acl": 0.5}
Build = Callable[[Steps], None]


class SambaGenerator:
    def __init__(self, span: Span, staff: dict[str, Member], rng: random.Random,
                 workdays: list[int]) -> None:
        self.span, self.staff, self.rng = span, staff, rng
        self.clock = OfficeClock(span, workdays)
        self.workdays = workdays
        self.files = {c: client_files(c) for c in CLIENTS}
        self.connected_until: dict[str, int] = {}
        self.current: dict[str, str] = {}
        self.scheduled: list[Action] = []
        self.seq = itertools.count()
        self.injected: list[dict[str, Any]] = []
        self.new_files = itertools.count(1)
        dates = [span.local(d * DAY).strftime("%Y/%m/%d") for d in range(span.days + 2)]
        self._dates = dates

    # -- output -----------------------------------------------------------
    def render(self, t: int, body: str) -> str:
        day, rem = divmod(t, DAY)
        h, rem = divmod(rem, HOUR)
        m, rem = divmod(rem, MINUTE)
        s, us = divmod(rem, SECOND)
        return (f"[{self._dates[day]} {h:02d}:{m:02d}:{s:02d}.{us:06d},  1] {HEADER}\n"
                f"  {body}\n")

    def write(self, out: TextIO, lines: int) -> int:
        merger = Merger(out, self.render, lines - lines % 2)
        self._inject(lines)
        pending = sum(len(a.records) * 2 for a in self.scheduled)
        activity, avg = 0.0, 24.0
        normal_lines = normal_actions = 0
        try:
            while True:
                # spread what the budget leaves for normal work over the remaining office
                # time, a little faster, so the file fills before Friday evening ends
                left = max(1.0, (merger.left - pending) / avg)
                activity += self.rng.expovariate(left / max(1.0, self.clock.total - activity)
                                                 / 0.97)
                t = self.clock.wall(min(activity, self.clock.total - 1))
                while self.scheduled and self.scheduled[0].start <= t:
                    action = heapq.heappop(self.scheduled)
                    pending -= len(action.records) * 2
                    merger.add(action)
                action = self._work(t)
                merger.add(action)
                normal_actions += 1
                normal_lines += len(action.records) * 2
                avg = normal_lines / normal_actions
                if activity >= self.clock.total:
                    while self.scheduled:
                        merger.add(heapq.heappop(self.scheduled))
                    merger.flush()
                    break
        except Budget:
            pass
        return merger.lines

    # -- sessions -----------------------------------------------------------
    def _action(self, m: Member, t: int, build: Build, connect: bool | None = None) -> Action:
        """One action of `m` at `t`. Normal work (`connect` None) opens a session when the
        member has none, and schedules its disconnect (end of the office day, or half an
        hour later); an incident says itself whether it connects."""
        s = Steps(self.rng, t)
        prefix = self._prefix(m)
        if connect is None and self.connected_until.get(m.name, -1) < t:
            connect = True
            day_end = (t // DAY) * DAY + 18 * HOUR + seconds(self.rng, 0, 2400)
            until = day_end if t < day_end - 20 * MINUTE else t + seconds(self.rng, 1200, 2400)
            self.connected_until[m.name] = until
            self._disconnect(m, until)
        if connect:
            s.add(f"connect|ok|{SHARE_NAME}")
        build(s)
        return Action(t, next(self.seq), [(ts, prefix + body) for ts, body in s.records])

    def _disconnect(self, m: Member, t: int) -> None:
        heapq.heappush(self.scheduled, Action(
            t, next(self.seq), [(t, f"{self._prefix(m)}disconnect|ok|{SHARE_NAME}")]))

    @staticmethod
    def _prefix(m: Member) -> str:
        return f"{m.name}|{m.ip}|{m.machine}|{SHARE_NAME}|"

    # -- normal work ----------------------------------------------------------
    def _work(self, t: int) -> Action:
        rng = self.rng
        name = rng.choice(PARTNERS) if rng.random() < 0.04 else rng.choice(
            [a for a in ACCOUNTANTS])
        m = self.staff[name]
        client = self.current.get(name)
        if client is None or rng.random() < 0.12:
            client = self.current[name] = rng.choice(m.workable())
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        return self._action(m, t, self._build(kind, m, client))

    def _build(self, kind: str, m: Member, client: str) -> Build:
        rng, files = self.rng, self.files[client]
        p = rng.choice(files)
        folder = posixpath.dirname(p)
        if kind == "read":
            reads = rng.choice((1, 1, 2, 2, 3, 4, 6, 12))
            return lambda s: ops.read(s, p, reads)
        if kind == "list":
            names = sorted({posixpath.basename(f) for f in files
                            if posixpath.dirname(f) == folder})
            return lambda s: ops.listing(s, folder, names[:14])
        if kind in ("modify", "overwrite"):
            writes = rng.choice((1, 1, 2, 3, 5))
            fn = ops.modify if kind == "modify" else ops.overwrite
            return lambda s: fn(s, p, writes)
        if kind == "create":
            new = f"{folder}/新建文件-{next(self.new_files)}.xlsx"
            return lambda s: ops.create(s, new, rng.choice((1, 2, 4)))
        if kind == "rename":
            stem, ext = posixpath.splitext(p)
            return lambda s: ops.rename(s, p, f"{stem}-终版{ext}")
        if kind == "delete":
            stem, ext = posixpath.splitext(p)
            return lambda s: ops.delete(s, f"{stem}-副本{ext}")
        if kind == "mkdir":
            return lambda s: ops.mkdir(s, f"{folder}/归档-{next(self.new_files)}")
        if kind == "copy":
            stem, ext = posixpath.splitext(p)
            return lambda s: ops.copy(s, p, f"{stem}-copy{ext}")
        if kind == "readonly":
            return lambda s: ops.set_readonly(s, p)
        if kind == "acl":
            return lambda s: ops.set_acl(s, p, TEAM_ACL.format(uid=m.uid))
        return lambda s: ops.read_missing(s, f"{folder}/missing-{rng.randint(1, 99)}.xlsx")

    # -- injected incidents ---------------------------------------------------
    def _incident(self, m: Member, steps: list[tuple[int, Build]]) -> None:
        """Actions of one incident: its own connect first, a disconnect a while after."""
        for k, (t, build) in enumerate(steps):
            heapq.heappush(self.scheduled, self._action(m, t, build, connect=k == 0))
        self._disconnect(m, steps[-1][0] + seconds(self.rng, 60, 600))

    def _note(self, kind: str, m: Member, client: str, t: int, count: int = 1) -> None:
        self.injected.append({"kind": kind, "user": m.name, "client": client, "count": count,
                              "time": self.span.local(t).isoformat(sep=" ")})

    def _day_time(self, lo_h: float = 10, hi_h: float = 17) -> int:
        day = self.rng.choice(self.workdays[:-1] or self.workdays)
        return day * DAY + seconds(self.rng, lo_h * 3600, hi_h * 3600)

    def _night_time(self) -> int:
        day = self.rng.choice(self.workdays[:-1] or self.workdays)
        return day * DAY + 23 * HOUR + seconds(self.rng, 0, 9000)

    def _accountant(self) -> Member:
        return self.staff[self.rng.choice(ACCOUNTANTS)]

    def _spread(self, t: int, n: int, lo: float, hi: float) -> list[int]:
        """n moments from t on, lo..hi seconds apart."""
        out = [t]
        for _ in range(n - 1):
            out.append(out[-1] + seconds(self.rng, lo, hi))
        return out

    def _inject(self, lines: int) -> None:
        rng = self.rng
        scale = lines / 200_000

        def times(k: float) -> range:
            return range(max(1, round(k * scale)))

        def reads(paths: list[str], when: list[int], n: int) -> list[tuple[int, Build]]:
            return [(w, partial(ops.read, p=p, reads=n))
                    for p, w in zip(paths, when, strict=True)]

        for _ in times(6):  # a member opens a client they are not assigned to
            m, t = self._accountant(), self._day_time()
            foreign = rng.choice([c for c in CLIENTS if not m.assigned(c) and c not in ARCHIVED])
            paths = rng.sample(self.files[foreign], rng.randint(1, 3))
            self._incident(m, reads(paths, self._spread(t, len(paths), 5, 40), 2))
            self._note("cross-client", m, foreign, t, len(paths))
        for _ in times(1):  # night-time bulk read of one client
            m, t = self._accountant(), self._night_time()
            client = max(m.workable(), key=lambda c: len(self.files[c]))
            n = rng.randint(60, 90)
            paths = (self.files[client] * 2)[:n]
            self._incident(m, reads(paths, self._spread(t, n, 3, 6), 3))
            self._note("night-bulk-read", m, client, t, n)
        for _ in times(1):  # mass delete
            m, t = self._accountant(), self._day_time()
            client = rng.choice(m.workable())
            n = rng.randint(60, 80)
            paths = [f"{SHARE_ROOT}/{client}/往来函件/旧函-{k:03d}.pdf" for k in range(n)]
            self._incident(m, [(w, partial(ops.delete, p=p))
                               for p, w in zip(paths, self._spread(t, n, 1, 3), strict=True)])
            self._note("mass-delete", m, client, t, n)
        for _ in times(1):  # ransomware: a hundred files renamed, a note dropped
            m, t = self._accountant(), self._night_time()
            client = rng.choice(m.workable())
            extra = [f"{SHARE_ROOT}/{client}/往来函件/函-{k:03d}.pdf" for k in range(100)]
            paths = (self.files[client] + extra)[:100]
            when = self._spread(t, len(paths) + 1, 0.2, 0.8)
            note = f"{SHARE_ROOT}/{client}/README-DECRYPT.txt"
            steps: list[tuple[int, Build]] = [
                (w, partial(ops.rename, old=p, new=p + ".locked"))
                for p, w in zip(paths, when, strict=False)]
            self._incident(m, [*steps, (when[-1], partial(ops.create, p=note, writes=1))])
            self._note("mass-rename", m, client, t, len(paths))
        for _ in times(1):  # a bait file opened
            m, t = self._accountant(), self._day_time()
            client = rng.choice(BAIT_CLIENTS)
            bait = f"{SHARE_ROOT}/{client}/{rng.choice(BAIT_FILES)}"
            self._incident(m, reads([bait], [t], 1))
            self._note("bait-file", m, client, t)
        for _ in times(1):  # a file opened to Everyone
            m, t = self._accountant(), self._day_time()
            client = rng.choice(m.workable())
            p = rng.choice(self.files[client])
            acl = WIDE_ACL.format(uid=m.uid)
            self._incident(m, [(t, partial(ops.set_acl, p=p, sddl=acl))])
            self._note("acl-everyone", m, client, t)
        for _ in times(2):  # ownership taken
            m, t = self._accountant(), self._day_time()
            client = rng.choice(m.workable())
            p = rng.choice(self.files[client])
            self._incident(m, [(t, partial(ops.take_ownership, p=p, uid=m.uid))])
            self._note("ownership", m, client, t)
        for _ in times(1):  # an archived client's folder opened
            m, t = self._accountant(), self._day_time()
            client = rng.choice(ARCHIVED)
            self._incident(m, reads([rng.choice(self.files[client])], [t], 2))
            self._note("archived", m, client, t)
        for _ in times(1):  # the account of someone who has left is used
            m, t = self.staff[DEPARTED], self._day_time()
            client = rng.choice(m.workable())
            paths = rng.sample(self.files[client], 2)
            self._incident(m, reads(paths, self._spread(t, 2, 10, 30), 1))
            self._note("departed", m, client, t, 2)
