"""A Sigma correlation — many failed logons (4625) from one address in five minutes —
fires on event time: a backtest over the log gives exactly the alerts (same ids) of
the engine fed live in any chunking with snapshots in between, and of the daemon
tailing the log as it grows, killed with SIGKILL half way and restarted."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from monitor.backtest import backtest, file_events
from monitor.config import Config, load_config
from monitor.event import Event
from monitor.rules.engine import RuleEngine
from monitor.rules.loader import load_rules
from monitor.sources.reading import parse_file
from tests.daemon_process import Daemon, query, wait_for, write_config
from tests.rules.sigma.helpers import WINDOWS_EVENTS, corpus_files

BASE = """title: Failed logon
name: failed_logon
id: 3f0c1b7e-9d7a-4b2e-8a51-6c1d2e3f4a01
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
level: low
"""
BRUTE = """title: Many failed logons from one address
id: 3f0c1b7e-9d7a-4b2e-8a51-6c1d2e3f4a02
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [IpAddress]
    timespan: 5m
    condition: {gte: 10}
level: high
tags: [attack.credential-access, attack.t1110.001]
"""
START = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)


def log_lines(seed: int = 11) -> list[bytes]:
    """Real 4625 / 4624 records (corpus lines 17, 18) retimed and readdressed: two
    guessers well over the threshold, one just under it, one too slow, and logons."""
    corpus_files("windows")
    lines = WINDOWS_EVENTS.read_bytes().splitlines()
    failed, ok = orjson.loads(lines[16]), orjson.loads(lines[17])
    rng = random.Random(seed)
    out: list[tuple[datetime, bytes]] = []

    def add(template: dict[str, object], at: datetime, ip: str) -> None:
        doc = dict(template, IpAddress=ip, TimeCreated=at.isoformat().replace("+00:00", "Z"))
        for key in ("EventTime", "EventReceivedTime", "@timestamp"):
            doc.pop(key, None)
        out.append((at, orjson.dumps(doc)))

    for ip, count, spread in (("198.51.100.7", 34, 240), ("203.0.113.9", 21, 290),
                              ("192.0.2.44", 9, 200), ("192.0.2.80", 15, 1800)):
        base = START + timedelta(seconds=rng.randint(0, 600))
        for k in range(count):
            add(failed, base + timedelta(seconds=spread * k / count + rng.random()), ip)
    for k in range(40):
        add(ok, START + timedelta(seconds=rng.randint(0, 2400)), f"10.0.0.{k % 7}")
    out.sort(key=lambda item: item[0])
    return [line for _, line in out]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Config, Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "failed_logon.yml").write_text(BASE)
    (rules / "brute_force.yml").write_text(BRUTE)  # names its rule in another file
    log = tmp_path / "security.jsonl"
    log.write_bytes(b"")
    config_path = write_config(tmp_path / "wallwatch.yaml", tmp_path / "store.db",
                               [{"type": "winlog", "path": str(log)}],
                               extra=f"rules: {{paths: [{rules}], lateness: 1s}}")
    return load_config(config_path), rules, log


def chunked(config: Config, events: list[Event], cuts: list[int]) -> Iterator[str]:
    rules = load_rules(config.rules)
    blob: bytes | None = None
    bounds = [0, *cuts, len(events)]
    for lo, hi in itertools.pairwise(bounds):
        engine = RuleEngine(rules, config.lateness)  # as after a restart
        engine.restore(blob)
        for ev in events[lo:hi]:
            yield from (a.id for a in engine.process(ev))
        blob = engine.snapshot()
    engine = RuleEngine(rules, config.lateness)
    engine.restore(blob)
    yield from (a.id for a in engine.flush())


def backtest_ids(config: Config, log: Path) -> list[str]:
    alerts = backtest(file_events([str(log)], config, None), load_rules(config.rules), config)
    assert {a.rule_id for a in alerts} == {"3f0c1b7e-9d7a-4b2e-8a51-6c1d2e3f4a02"}
    return [a.id for a in alerts]


def test_backtest_equals_the_engine_fed_in_any_chunking_with_snapshots(
        setup: tuple[Config, Path, Path]) -> None:
    config, _, log = setup
    log.write_bytes(b"\n".join(log_lines()) + b"\n")
    expected = backtest_ids(config, log)
    # 34 in 4 minutes: 3 alerts; 21 in under 5: 2; 9: none; 15 over 30 minutes: none
    assert len(expected) == 5
    [src] = config.sources
    events = list(parse_file(src, config))
    rng = random.Random(3)
    for _ in range(8):
        cuts = sorted(rng.sample(range(1, len(events)), rng.randint(1, 6)))
        assert list(chunked(config, events, cuts)) == expected


@pytest.mark.slow
def test_the_daemon_tailing_the_log_gives_the_backtests_alerts(
        setup: tuple[Config, Path, Path], tmp_path: Path) -> None:
    config, _, log = setup
    lines = log_lines()
    db = Path(config.store.path)

    def append(part: list[bytes]) -> None:
        with log.open("ab") as f:
            f.write(b"".join(line + b"\n" for line in part))

    def stored_events() -> int:
        rows = query(db, "SELECT count(*) FROM events")
        return int(rows[0][0]) if rows else 0

    def alert_ids() -> list[str]:
        return [bytes(r[0]).hex() for r in query(db, "SELECT id FROM alerts ORDER BY seq")]

    third = len(lines) // 3
    with Daemon(Path(config.path), tmp_path / "daemon.log") as first:
        append(lines[:third])
        wait_for(lambda: stored_events() == third, 30, "the first third", first)
        append(lines[third:2 * third])
        wait_for(lambda: stored_events() == 2 * third, 30, "the second third", first)
        first.kill()  # SIGKILL: whatever was not committed is replayed
    with Daemon(Path(config.path), tmp_path / "daemon.log") as second:
        append(lines[2 * third:])
        wait_for(lambda: stored_events() == len(lines), 30, "every event", second)
        expected = backtest_ids(load_config(config.path), log)
        wait_for(lambda: len(alert_ids()) >= len(expected), 30, "the alerts", second)
        time.sleep(1.5)  # a lateness more: nothing else may come
        assert sorted(alert_ids()) == sorted(expected)
        assert second.stop() == 0
