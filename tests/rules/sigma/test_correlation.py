"""Sigma correlation rules on event time: the corpus's four schema examples, given
small base rules of our own (the ones they name are not in the corpus), plus
aliases, and/or conditions, `generate`, chains and what is skipped."""

from __future__ import annotations

import itertools
import logging
import random
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.event import Alert, Event
from monitor.rules.engine import RuleEngine, rule_fingerprint
from monitor.rules.loader import load_rule_files, load_rules
from monitor.rules.model import Distinct, Temporal, Threshold
from tests.daemon_process import REPO
from tests.rules.sigma.helpers import CORPUS, T0, corpus_files, run, winlog_events, winlog_line

FAILED_LOGON = "5638f7c0-ac70-491d-8465-2a65075e0d86"
BASES = f"""title: Failed logon
id: {FAILED_LOGON}
logsource: {{product: windows, service: security}}
detection:
    selection: {{EventID: 4625}}
    condition: selection
level: low
---
title: whoami
name: recon_cmd_a
logsource: {{product: windows, service: security}}
detection:
    selection: {{EventID: 4688, NewProcessName|endswith: '\\whoami.exe'}}
    condition: selection
---
title: ipconfig
name: recon_cmd_b
logsource: {{product: windows, service: security}}
detection:
    selection: {{EventID: 4688, NewProcessName|endswith: '\\ipconfig.exe'}}
    condition: selection
---
title: net
name: recon_cmd_c
logsource: {{product: windows, service: security}}
detection:
    selection: {{EventID: 4688, NewProcessName|endswith: '\\net.exe'}}
    condition: selection
"""


@pytest.fixture
def corpus_set(tmp_path: Path) -> Path:
    corpus_files("correlation")
    folder = tmp_path / "rules"
    shutil.copytree(CORPUS / "correlation", folder)
    (folder / "bases.yml").write_text(BASES)
    return folder


def failures(n: int, start: float = 0, step: float = 1, computer: str = "DC1",
             workstation: str = "WS1", users: int = 1) -> list[bytes]:
    return [winlog_line(4625, T0 + timedelta(seconds=start + i * step), computer=computer,
                        WorkstationName=workstation, User=f"user{i % users}",
                        IpAddress="203.0.113.7") for i in range(n)]


def recon(order: str, start: float = 0, step: float = 30, user: str = "bob",
          computer: str = "WS7") -> list[bytes]:
    exe = {"a": "whoami", "b": "ipconfig", "c": "net"}
    return [winlog_line(4688, T0 + timedelta(seconds=start + i * step), computer=computer,
                        User=user, NewProcessName=f"C:\\Windows\\System32\\{exe[k]}.exe")
            for i, k in enumerate(order)]


def alerts_of(folder: Path, lines: list[bytes], rule_file: str) -> list[Alert]:
    rules = load_rules([folder])
    [rule] = [r for r in rules if Path(r.path).name == rule_file]
    return [a for a in run(rules, winlog_events(sorted(lines, key=_time))) if a.rule_id == rule.id]


def _time(line: bytes) -> bytes:
    return line.split(b'"@timestamp":"')[1][:30]


def test_the_corpus_correlations_load_with_base_rules_of_our_own(corpus_set: Path) -> None:
    rules, errors = load_rule_files([corpus_set])
    assert errors == []
    by_file = {Path(r.path).name: r for r in rules if r.kind != "match"}
    assert isinstance(by_file["event_count.yml"].params, Threshold)
    assert by_file["event_count.yml"].params.group_by == ("winlog.computer_name",)
    assert by_file["event_count.yml"].params.count == 100
    assert isinstance(by_file["value_count.yml"].params, Distinct)
    assert by_file["value_count.yml"].params.field == "winlog.event_data.User"
    temporal = by_file["temporal.yml"].params
    assert isinstance(temporal, Temporal) and not temporal.ordered and len(temporal.steps) == 3
    ordered = by_file["temporal_ordered.yml"].params
    assert isinstance(ordered, Temporal) and ordered.ordered
    assert ordered.labels == ("winlog.computer_name", "winlog.event_data.User")
    # the base rules are building blocks now: no alerts of their own (generate: false)
    assert [r.enabled for r in rules if r.kind == "match"] == [False] * 4
    assert by_file["temporal.yml"].id == "temporal"  # no id or name: the file's name


def test_event_count_fires_at_the_hundredth_failure_in_an_hour(corpus_set: Path) -> None:
    [alert] = alerts_of(corpus_set, failures(100, step=30), "event_count.yml")
    assert alert.count == 100 and alert.group == (("winlog.computer_name", "DC1"),)
    assert alert.window_start == T0 and alert.timestamp == T0 + timedelta(seconds=99 * 30)
    assert alert.severity == "low"  # no level of its own: its rule's
    assert alerts_of(corpus_set, failures(99, step=30), "event_count.yml") == []
    assert alerts_of(corpus_set, failures(100, step=40), "event_count.yml") == []  # > 1h
    split = failures(50, computer="DC1") + failures(50, computer="DC2")
    assert alerts_of(corpus_set, split, "event_count.yml") == []


def test_value_count_counts_distinct_users_per_computer_and_workstation(
        corpus_set: Path) -> None:
    [alert] = alerts_of(corpus_set, failures(100, users=100), "value_count.yml")
    assert alert.count == 100
    assert dict(alert.group) == {"winlog.computer_name": "DC1",
                                 "winlog.event_data.WorkstationName": "WS1"}
    assert alerts_of(corpus_set, failures(300, users=99), "value_count.yml") == []
    two = failures(50, users=50, workstation="A") + failures(50, users=50, workstation="B")
    assert alerts_of(corpus_set, two, "value_count.yml") == []


def test_temporal_needs_all_three_in_any_order_within_five_minutes(corpus_set: Path) -> None:
    [alert] = alerts_of(corpus_set, recon("cab"), "temporal.yml")
    assert alert.group == (("winlog.computer_name", "WS7"), ("winlog.event_data.User", "bob"))
    assert alert.count == 3 and alert.window_start == T0
    assert alerts_of(corpus_set, recon("ab"), "temporal.yml") == []
    assert alerts_of(corpus_set, recon("abc", step=200), "temporal.yml") == []  # 400 s > 5 m
    mixed = recon("ab") + recon("c", start=60, user="alice")
    assert alerts_of(corpus_set, mixed, "temporal.yml") == []


def test_temporal_ordered_needs_the_order_of_its_rules(corpus_set: Path) -> None:
    assert len(alerts_of(corpus_set, recon("abc"), "temporal_ordered.yml")) == 1
    assert alerts_of(corpus_set, recon("cba"), "temporal_ordered.yml") == []
    assert alerts_of(corpus_set, recon("acb"), "temporal_ordered.yml") == []
    # a late start can still complete once the early one has left the window
    [late] = alerts_of(corpus_set, recon("a") + recon("abc", start=250), "temporal_ordered.yml")
    assert late.window_start == T0 + timedelta(seconds=250)



ALIASES = """title: Scan then login
correlation:
    type: temporal_ordered
    rules: [share_probe, logon]
    group-by: [ip]
    aliases:
        ip: {share_probe: IpAddress, logon: ClientAddress}
    timespan: 10m
    generate: true
level: critical
---
title: share probe
name: share_probe
logsource: {product: windows, service: security}
detection:
    sel: {EventID: 5140}
    condition: sel
---
title: kerberos logon
name: logon
logsource: {product: windows, service: security}
detection:
    sel: {EventID: 4768}
    condition: sel
"""


def test_aliases_group_different_fields_of_different_rules(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(ALIASES)
    rules = load_rules([tmp_path])
    lines = [winlog_line(5140, T0, IpAddress="10.0.0.9"),
             winlog_line(4768, T0 + timedelta(minutes=2), ClientAddress="10.0.0.8"),
             winlog_line(4768, T0 + timedelta(minutes=3), ClientAddress="10.0.0.9")]
    alerts = run(rules, winlog_events(lines))
    [corr] = [a for a in alerts if a.rule_id == "r"]
    assert corr.group == (("ip", "10.0.0.9"),) and corr.severity == "critical"
    # generate: true keeps the rules alerting on their own too
    assert sorted(a.rule_name for a in alerts if a.rule_id != "r") == [
        "kerberos logon", "kerberos logon", "share probe"]


def test_an_and_or_condition_on_temporal(tmp_path: Path) -> None:
    text = BASES.split("---\n", 1)[1] + (
        "---\ntitle: any two\nid: 9b5a2b5c-6a1e-4d2e-9f3c-000000000002\ncorrelation:\n"
        "    type: temporal\n    rules: [recon_cmd_a, recon_cmd_b, recon_cmd_c]\n"
        "    group-by: [User]\n    timespan: 5m\n"
        "    condition: 'recon_cmd_a and (recon_cmd_b or recon_cmd_c)'\n")
    (tmp_path / "r.yml").write_text(text)
    rules = load_rules([tmp_path])
    fired = [a for a in run(rules, winlog_events(recon("ca"))) if a.rule_name == "any two"]
    assert len(fired) == 1
    assert [a for a in run(rules, winlog_events(recon("bc"))) if a.rule_name == "any two"] == []


@pytest.mark.parametrize(("correlation", "reason"), [
    ("type: event_count\n    rules: [recon_cmd_a]\n    timespan: 5m\n    condition: {lt: 3}",
     "condition `lt: 3` needs a window that closes"),
    ("type: value_sum\n    rules: [recon_cmd_a]\n    timespan: 5m\n"
     "    condition: {gte: 3, field: X}", "correlation type value_sum is not supported"),
    ("type: temporal\n    rules: [recon_cmd_a, recon_cmd_b]\n    timespan: 5m\n"
     "    condition: 'recon_cmd_a and not recon_cmd_b'", "`not` in a temporal condition"),
    ("type: temporal\n    rules: [recon_cmd_a, chained]\n    timespan: 5m",
     "chains of correlations are not evaluated here"),
    ("type: temporal\n    rules: [recon_cmd_a, recon_cmd_b]\n    timespan: 5m\n"
     "    condition: {gte: 3}", "needs 3 different rules to match but names only 2"),
])
def test_what_cannot_run_as_events_arrive_is_skipped_with_the_reason(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, correlation: str,
        reason: str) -> None:
    chained = ("---\ntitle: inner\nname: chained\ncorrelation:\n    type: event_count\n"
               "    rules: [recon_cmd_b]\n    timespan: 5m\n    condition: {gte: 2}\n")
    (tmp_path / "r.yml").write_text(BASES + chained + f"---\ntitle: outer\ncorrelation:\n"
                                    f"    {correlation}\n")
    with caplog.at_level(logging.WARNING, "monitor.rules.sigma"):
        rules, errors = load_rule_files([tmp_path])
    assert errors == []
    assert reason in caplog.text and "'outer'" in caplog.text
    assert "outer" not in [r.title for r in rules]
    # its rules still do not alert alone: they were written as building blocks
    assert not next(r for r in rules if r.title == "whoami").enabled


def _ids(rules: list, events: list[Event], cuts: list[int]) -> list[str]:  # type: ignore[type-arg]
    """Alert ids with the events fed in chunks, each chunk to a fresh engine that
    restores the previous one's snapshot."""
    out: list[str] = []
    blob: bytes | None = None
    bounds = [0, *cuts, len(events)]
    for lo, hi in itertools.pairwise(bounds):
        engine = RuleEngine(rules, timedelta(seconds=5))
        engine.restore(blob)
        out += [a.id for ev in events[lo:hi] for a in engine.process(ev)]
        blob = engine.snapshot()
    engine = RuleEngine(rules, timedelta(seconds=5))
    engine.restore(blob)
    return out + [a.id for a in engine.flush()]


def test_every_correlation_kind_resumes_from_a_snapshot_to_the_same_alert_ids(
        corpus_set: Path) -> None:
    rules = load_rules([corpus_set])
    rng = random.Random(5)
    lines = failures(140, step=20, users=120) + failures(30, computer="DC2")
    for k in range(12):
        lines += recon(rng.choice(["abc", "cab", "bca", "ab", "ca"]), start=k * 200,
                       user=rng.choice(["bob", "eve"]))
    events = winlog_events(sorted(lines, key=_time))
    whole = _ids(rules, events, [])
    fired = {a.rule_id for a in run(rules, events)}
    assert len(fired) == 4 and len(whole) > 4
    for _ in range(6):
        cuts = sorted(rng.sample(range(1, len(events)), rng.randint(1, 5)))
        assert _ids(rules, events, cuts) == whole


def test_fingerprints_of_sigma_rules_are_the_same_in_another_process(corpus_set: Path) -> None:
    here = [rule_fingerprint(r) for r in load_rules([corpus_set])]
    code = ("from monitor.rules.loader import load_rules;"
            "from monitor.rules.engine import rule_fingerprint;"
            f"print([rule_fingerprint(r) for r in load_rules([{str(corpus_set)!r}])])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.strip() == str(here)
