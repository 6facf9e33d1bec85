"""Sigma rules against equivalent native rules on the rules-only path.

50 Sigma rules (five shapes taken from the corpus's Windows Security rules: share
access with a machine-account filter, sensitive extensions on a share, failed
logons from outside the private ranges, object access with a process filter,
writes to an admin share) and the same 50 written as Wallwatch rules, each set
run by RuleEngine.process over the same events: half Windows Security events as
our winlog source makes them, half Samba file access (which the Windows rules
must cost nothing on). Both sets must give the same alerts (exit 1 if not; the
time ratio is printed, never judged: tests/rules/sigma runs this small).

    .venv/bin/python bench/sigma_rules.py [--events N] [--repeat R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.event import Event, event_id
from monitor.rules.engine import RuleEngine
from monitor.rules.loader import load_rules
from monitor.rules.model import Rule
from tests.workloads.events import stream

PER_SHAPE = 10
PRIVATE = ["10.0.0.0/8", "127.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128",
           "fe80::/10"]


def sigma_rule(n: int, title: str, detection: str) -> str:
    return (f"title: {title}\nid: 00000000-0000-4000-8000-{n:012d}\n"
            "logsource: {product: windows, service: security}\nlevel: medium\n"
            f"detection:\n{detection}")


def native_rule(n: int, title: str, when: str) -> str:
    return f"  - id: native.{n}\n    title: {title}\n    when:\n{when}"


def rules_text(i: int) -> list[tuple[str, str]]:
    """(Sigma, native) for the five shapes, variant i."""
    ev = "      event.dataset: windows.security\n      winlog.event_id: {eid}\n"
    d = "      winlog.event_data."
    return [
        (f"    selection: {{EventID: 5140, ShareName: 'Share{i}$'}}\n"
         "    filter_main: {SubjectUserName|endswith: '$'}\n"
         "    condition: selection and not 1 of filter_*\n",
         ev.format(eid=5140) + f"{d}ShareName: 'Share{i}$'\n"
         f"      not: {{winlog.event_data.SubjectUserName|endswith: '$'}}\n"),
        ("    selection:\n        EventID: 5145\n        RelativeTargetName|endswith:"
         f" ['.e{i}a', '.e{i}b', '.bak{i}', '.pst{i}']\n    condition: selection\n",
         ev.format(eid=5145) + f"{d}RelativeTargetName|endswith: ['.e{i}a', '.e{i}b', "
         f"'.bak{i}', '.pst{i}']\n"),
        (f"    selection: {{EventID: 4625, TargetUserName: 'user{i}'}}\n"
         "    filter_main_unknown: {IpAddress|contains: '-'}\n"
         f"    filter_main_local: {{IpAddress|cidr: {PRIVATE}}}\n"
         "    condition: selection and not 1 of filter_main_*\n",
         ev.format(eid=4625) + f"{d}TargetUserName: 'user{i}'\n"
         "      not:\n        any:\n          - {winlog.event_data.IpAddress|contains: '-'}\n"
         f"          - {{winlog.event_data.IpAddress|cidr: {PRIVATE}}}\n"),
        ("    selection:\n        EventID: 4663\n        ObjectName|contains:"
         f" ['\\Secret{i}\\', '\\Keys{i}\\']\n"
         f"    filter: {{ProcessName|contains: '\\Allowed{i}.exe'}}\n"
         "    condition: selection and not filter\n",
         ev.format(eid=4663) + f"{d}ObjectName|contains: ['\\Secret{i}\\', '\\Keys{i}\\']\n"
         f"      not: {{winlog.event_data.ProcessName|contains: '\\Allowed{i}.exe'}}\n"),
        ("    selection:\n        EventID: 5145\n        ShareName|endswith: 'C$'\n"
         f"        AccessMask: '0x2'\n        RelativeTargetName|startswith: 'Dir{i}\\'\n"
         "    filter_main: {SubjectUserName|endswith: '$'}\n"
         "    condition: selection and not 1 of filter_*\n",
         ev.format(eid=5145) + f"{d}ShareName|endswith: 'C$'\n{d}AccessMask: '0x2'\n"
         f"{d}RelativeTargetName|startswith: 'Dir{i}\\'\n"
         "      not: {winlog.event_data.SubjectUserName|endswith: '$'}\n"),
    ]


def write_rules(folder: Path) -> tuple[list[Rule], list[Rule]]:
    sigma_dir, native_dir = folder / "sigma", folder / "native"
    sigma_dir.mkdir()
    native_dir.mkdir()
    native = ["rules:"]
    n = 0
    for i in range(PER_SHAPE):
        for sigma, when in rules_text(i):
            (sigma_dir / f"r{n:02d}.yml").write_text(sigma_rule(n, f"rule {n}", sigma))
            native.append(native_rule(n, f"rule {n}", when))
            n += 1
    (native_dir / "rules.yaml").write_text("\n".join(native) + "\n")
    return load_rules([sigma_dir]), load_rules([native_dir])


def windows_events(count: int, seed: int) -> list[Event]:
    rng = random.Random(seed)
    ts = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    out = []
    for n in range(count):
        ts += timedelta(milliseconds=rng.randint(5, 60))
        eid = rng.choice([4624, 4625, 4663, 5140, 5145, 5145])
        k = rng.randint(0, 99)  # the rules name 0-9: about one event in ten is close
        user = rng.choice([f"user{k}", "WS01$", "svc_backup"])
        data = {"winlog.event_id": eid, "winlog.channel": "Security",
                "winlog.event_data.SubjectUserName": user,
                "winlog.event_data.IpAddress": rng.choice(
                    ["10.1.2.3", "203.0.113.9", "-", "::1", "198.51.100.4"])}
        if eid in (5140, 5145):
            data["winlog.event_data.ShareName"] = rng.choice([f"\\\\*\\Share{k}$", "\\\\*\\C$",
                                                              f"Share{k}$", "\\\\*\\IPC$"])
            data["winlog.event_data.RelativeTargetName"] = rng.choice(
                [f"Dir{k}\\a.docx", f"x\\report.e{k}a", f"y\\mail.pst{k}", "ProgramData\\x"])
            data["winlog.event_data.AccessMask"] = rng.choice(["0x1", "0x2", "0x17019f"])
        if eid == 4663:
            data["winlog.event_data.ObjectName"] = rng.choice(
                [f"C:\\Secret{k}\\a.txt", f"C:\\Data\\Keys{k}\\k", "C:\\Windows\\x.dll"])
            data["winlog.event_data.ProcessName"] = rng.choice(
                [f"C:\\Tools\\Allowed{k}.exe", "C:\\Windows\\explorer.exe"])
        if eid in (4624, 4625):
            data["winlog.event_data.TargetUserName"] = f"user{k}"
        out.append(Event(id=event_id("bench", seed, n), timestamp=ts, dataset="windows.security",
                         category="file", type="access", action="accessed-object",
                         user_name=user, extra=data))
    return out


def run(rules: list[Rule], events: list[Event]) -> tuple[float, int]:
    engine = RuleEngine(rules, timedelta(seconds=10))
    start = time.perf_counter()
    alerts = 0
    for ev in events:
        alerts += len(engine.process(ev))
    alerts += len(engine.flush())
    return time.perf_counter() - start, alerts


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sigma, native = write_rules(Path(tmp))
    assert len(sigma) == len(native) == 5 * PER_SHAPE
    half = args.events // 2
    events = sorted(windows_events(half, 1) + list(stream(half, seed=2)),
                    key=lambda e: (e.timestamp, e.id))
    times: dict[str, list[float]] = {"native": [], "sigma": []}
    counts: dict[str, int] = {}
    for _ in range(args.repeat):  # interleaved, so both see the same machine state
        for name, rules in (("native", native), ("sigma", sigma)):
            seconds, alerts = run(rules, events)
            times[name].append(seconds)
            counts[name] = alerts
    best = {name: statistics.median(t) for name, t in times.items()}
    if counts["sigma"] != counts["native"]:
        print(f"MISMATCH: sigma {counts['sigma']} alerts, native {counts['native']}")
        return 1
    for name in ("native", "sigma"):
        print(f"{name:7s} 50 rules: {len(events) / best[name]:>10,.0f} events/s "
              f"({best[name]:.2f} s for {len(events):,} events, {counts[name]} alerts)")
    ratio = best["sigma"] / best["native"]
    print(f"sigma / native time: {ratio:.2f}x (target: within 2x; medians of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
