"""An event dated far past the host's clock (a clock that jumped to 2099, a forged
line) is evaluated at once as of the newest event time and counted; it does not
move event time on, so later events are not late and windows keep sliding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.event import Alert
from monitor.rules.engine import RuleEngine
from monitor.rules.model import Rule
from monitor.rules.samples import BASE_TIME, event_from_fields
from tests.rules.helpers import at, rules_from

FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
MASS_DELETE = ("id: t.mass-delete\ntitle: mass delete\nkind: threshold\n"
               "when: {event.action: delete}\ngroup_by: user.name\nwindow: 5m\ncount: 5\n")
WALL = "id: t.wall\ntitle: wall\nwhen: {wallwatch.assigned: false}\n"


def clock() -> float:
    """The host's clock: a day after the samples' day."""
    return (BASE_TIME + timedelta(days=1)).timestamp()


def deletes_with_a_future_line(engine: RuleEngine, rules: list[Rule]) -> list[Alert]:
    """Ordinary deletes, one line from 2099 by the same user, the log goes quiet, then
    one delete every two minutes for an hour: no five minutes ever hold five of them."""
    out: list[Alert] = []
    n = 0
    for s in range(0, 60, 20):
        out += engine.process(event_from_fields(at(s, event__action="delete",
                                                   user__name="wang"), n := n + 1), n)
    out += engine.process(event_from_fields(
        {"@timestamp": FUTURE.isoformat(), "event.action": "delete", "user.name": "wang"},
        n := n + 1), n)
    out += engine.flush()  # quiet: what the engine held back is evaluated
    for k in range(30):
        out += engine.process(event_from_fields(at(600 + 120 * k, event__action="delete",
                                                   user__name="wang"), n := n + 1), n)
    return out + engine.flush()


def test_a_future_line_leaves_event_time_alone_and_windows_keep_sliding(
        tmp_path: Path) -> None:
    rules = rules_from(tmp_path, MASS_DELETE)
    engine = RuleEngine(rules, timedelta(seconds=10), timedelta(hours=1), clock)
    assert deletes_with_a_future_line(engine, rules) == []
    assert engine.stats.future == 1
    assert engine.stats.late == 0
    assert engine.max_ts is not None and engine.max_ts < int(FUTURE.timestamp() * 1e6)


def test_without_a_bound_the_future_line_holds_the_window_open(tmp_path: Path) -> None:
    # the defect the bound mends: every later delete is late, the window never slides
    rules = rules_from(tmp_path, MASS_DELETE)
    engine = RuleEngine(rules, timedelta(seconds=10), None, clock)
    alerts = deletes_with_a_future_line(engine, rules)
    assert [a.rule_id for a in alerts] == ["t.mass-delete"]
    assert engine.stats.late == 30


def test_a_future_line_is_still_evaluated_as_of_the_newest_event_time(
        tmp_path: Path) -> None:
    engine = RuleEngine(rules_from(tmp_path, WALL), timedelta(seconds=10),
                        timedelta(hours=1), clock)
    assert engine.process(event_from_fields(at(0, wallwatch__assigned=True), 1), 1) == []
    [alert] = engine.process(event_from_fields(
        {"@timestamp": FUTURE.isoformat(), "wallwatch.assigned": False}, 2), 2)
    assert alert.timestamp == BASE_TIME
    assert engine.stats.future == 1


def test_before_any_event_a_future_line_is_evaluated_as_of_the_clock(tmp_path: Path) -> None:
    engine = RuleEngine(rules_from(tmp_path, WALL), timedelta(seconds=10),
                        timedelta(hours=1), clock)
    [alert] = engine.process(event_from_fields(
        {"@timestamp": FUTURE.isoformat(), "wallwatch.assigned": False}, 1), 1)
    assert alert.timestamp == BASE_TIME + timedelta(days=1)
    assert engine.max_ts is None


def test_an_event_within_the_bound_is_an_ordinary_event(tmp_path: Path) -> None:
    engine = RuleEngine(rules_from(tmp_path, WALL), timedelta(seconds=10),
                        timedelta(hours=1), clock)
    soon = BASE_TIME + timedelta(days=1, minutes=59)
    [alert] = engine.process(event_from_fields(
        {"@timestamp": soon.isoformat(), "wallwatch.assigned": False}, 1), 1)
    assert alert.timestamp == soon
    assert engine.stats.future == 0 and engine.max_ts is not None
