"""Latency from an SMB read to the notification email's arrival.

A real smbd (tests/fixtures/smbd.py) with full_audit, the daemon as a separate process
with the shipped rules, and a real aiosmtpd server (tests/fixtures/smtp.py). bob reads
one file in each of N client folders he is not assigned to, one read every INTERVAL
seconds; each read is a new `wall.cross-client-access` incident and so one immediate
email. Latency = the email's arrival (stamped by the SMTP server process) minus the
moment the read started, on the same clock. The notifier's decision time (the outbox
row's `created`) splits it into read → decision (audit log, tailer, rules, notifier
poll) and decision → arrival (sender, apprise, SMTP).

Peer, in the same process tree: apprise sending straight to the same SMTP server, the
floor any apprise-based notifier has.

The rules' `lateness` (default 10 s) is how long the engine waits for late events
before it evaluates an event for a rule with state; the wall-breach rule is a
`match` rule, evaluated on arrival, so the lateness should not show here — each
run names it to prove that. Samba's records of an access become one event when the
client closes its handle; a stored batch wakes the rules, stored alerts wake the
notifier (its 0.1 s poll is only a safety net).

    .venv/bin/python bench/notify_latency.py [--reads 100] [--lateness 0s 10s]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.sinks.notify_sender import apprise_deliver  # noqa: E402
from tests.daemon_process import Daemon, query, wait_for, write_config  # noqa: E402
from tests.fixtures.smbd import SambaServer, SmbUser, connect_user  # noqa: E402
from tests.fixtures.smtp import SmtpServer  # noqa: E402

ALWAYS_WORKING = ", ".join(f'{d}: "00:00-24:00"' for d in
                           ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
TITLE = "Staff opened a client folder they are not assigned to"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(name: str, ms: list[float]) -> str:
    return (f"{name:<34} n={len(ms):>3}  p50 {pct(ms, 50):8.1f} ms  p95 {pct(ms, 95):8.1f} ms"
            f"  p99 {pct(ms, 99):8.1f} ms  max {max(ms):8.1f} ms")


def read(user: SmbUser, *parts: str) -> None:
    import smbclient  # type: ignore[import-untyped]

    with smbclient.open_file(user.unc(*parts), "rb", **user.opts) as f:
        f.read()


def run(workdir: Path, reads: int, interval: float, lateness: str,
        sequential: bool) -> dict[str, list[float]]:
    with SambaServer(workdir / "samba") as server, SmtpServer(workdir / "smtp") as smtp:
        clients = [f"c{i:03d}" for i in range(reads)]
        for client in clients:
            folder = server.share_root / client
            folder.mkdir()
            folder.chmod(0o777)
            (folder / "ledger.csv").write_bytes(b"date,amount\n")
            (folder / "ledger.csv").chmod(0o666)
        db = workdir / "w.db"
        config = write_config(workdir / "w.yaml", db, [
            {"type": "samba", "name": "smb", "path": str(server.audit_log),
             "prefix": "%u|%I|%m|%S"}], clients=f'["{server.share_root}/{{client}}/**"]',
            extra=f"""rules: {{lateness: {lateness}}}
calendar: {{country: null, hours: {{{ALWAYS_WORKING}}}}}
notify:
  routes:
    - name: mail
      urls: ["{smtp.url()}"]
      language: en
""")
        started: dict[str, int] = {}
        with Daemon(config, workdir / "daemon.log") as daemon:
            time.sleep(2)  # the daemon's imports and first poll
            bob = connect_user(server, "bob", workstation="BOB-PC")
            next_at = time.monotonic()
            for n, client in enumerate(clients):
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
                started[client] = time.time_ns()
                read(bob, client, "ledger.csv")
                if sequential:  # each read alone: wait for its email (+ "many clients")
                    want = n + 1 + (n >= 4)
                    wait_for(lambda w=want: smtp.count() >= w, 60, "the email", daemon)
                    next_at = time.monotonic() + 0.2
            bob.close()

            def arrived() -> int:
                return sum(1 for m in smtp.messages() if str(m["Subject"]).startswith(
                    f"[HIGH] {TITLE}"))

            wait_for(lambda: arrived() >= reads, 120 + 2 * float(lateness.rstrip("s")),
                     "every email", daemon)
            decided = {str(subject): int(created) for subject, created in query(
                db, "SELECT title, created FROM notify_outbox WHERE kind='alert'")}
            daemon.stop()
        out: dict[str, list[float]] = {"total": [], "decision": [], "delivery": []}
        for arrival_ns, msg in smtp.arrivals():
            subject = str(msg["Subject"])
            m = re.search(r"— bob @ (c\d{3})$", subject)
            if not subject.startswith(f"[HIGH] {TITLE}") or m is None:
                continue
            start = started[m.group(1)]
            out["total"].append((arrival_ns - start) / 1e6)
            decision_us = decided[subject]
            out["decision"].append((decision_us * 1000 - start) / 1e6)
            out["delivery"].append((arrival_ns - decision_us * 1000) / 1e6)
        return out


def peer(workdir: Path, n: int) -> list[float]:
    with SmtpServer(workdir / "peer-smtp") as smtp:
        apprise_deliver(smtp.url(), "warm-up", "warm-up")
        out = []
        for i in range(n):
            before = time.time_ns()
            ok, _ = apprise_deliver(smtp.url(), f"peer {i}", "body")
            assert ok
            while smtp.count() < i + 2:
                time.sleep(0.001)
            arrival = smtp.arrivals()[-1][0]
            out.append((arrival - before) / 1e6)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between reads")
    parser.add_argument("--lateness", nargs="+", default=["0s", "10s"])
    parser.add_argument("--sequential", action="store_true",
                        help="wait for each read's email before the next read")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="wallwatch-bench-"))
    base.chmod(0o755)  # smbd serves the share as bob: he must be able to reach it
    floor = peer(base, args.reads)
    print(summary("peer: apprise → SMTP directly", floor))
    for lateness in args.lateness:
        result = run(base / f"lateness-{lateness}", args.reads, args.interval, lateness,
                     args.sequential)
        pace = ("each after the previous email" if args.sequential
                else f"one every {args.interval}s")
        print(f"-- rules.lateness {lateness}, {args.reads} reads, {pace}")
        print(summary("SMB read → email arrival", result["total"]))
        print(summary("  read → notifier decision", result["decision"]))
        print(summary("  decision → email arrival", result["delivery"]))
        print(f"  ratio to peer: p50 {pct(result['total'], 50) / pct(floor, 50):.1f}x, "
              f"p99 {pct(result['total'], 99) / pct(floor, 99):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
