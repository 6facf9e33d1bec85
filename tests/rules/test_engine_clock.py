"""Log clocks that misbehave. An event dated far past the host's clock (a clock that
jumped to 2099, a forged line) is evaluated at once as of the newest event time and
counted; it does not move event time on, so later events are not late and windows
keep sliding. A clock stepped back by more than a window starts the group's window
over, so a burst on the new clock alerts and slow activity does not add up."""

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
MANY_CLIENTS = ("id: t.many\ntitle: many clients\nkind: distinct\nwhen: {event.action: read}\n"
                "group_by: user.name\nfield: wallwatch.client\nwindow: 10m\ncount: 5\n")
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


def test_without_a_bound_every_later_event_is_late_but_windows_still_slide(
        tmp_path: Path) -> None:
    # the 2099 event becomes the engine's time: all that follows is late; the delete
    # window of its group starts over on the first (the clock "went back")
    rules = rules_from(tmp_path, MASS_DELETE)
    engine = RuleEngine(rules, timedelta(seconds=10), None, clock)
    assert deletes_with_a_future_line(engine, rules) == []
    assert engine.stats.late == 30 and engine.stats.future == 0


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


def feed(engine: RuleEngine, samples: list[dict[str, object]]) -> list[Alert]:
    out: list[Alert] = []
    for n, fields in enumerate(samples, 1):
        out += engine.process(event_from_fields(fields, n), n)
    return out + engine.flush()


def test_after_a_step_back_slow_deletes_do_not_add_up_to_a_mass_delete(tmp_path: Path) -> None:
    # 4 deletes, the clock goes back two hours, then one delete every two minutes for
    # an hour: the old entries are newer than every new one and must not hold the
    # window (they did: the late ones piled up behind them)
    before = [at(s, event__action="delete", user__name="wang") for s in range(4)]
    after = [at(-7200 + 120 * k, event__action="delete", user__name="wang") for k in range(30)]
    engine = RuleEngine(rules_from(tmp_path, MASS_DELETE), timedelta(seconds=10))
    assert feed(engine, before) == []  # (feed ends as a quiet log: all evaluated)
    assert feed(engine, after) == []
    assert engine.stats.late == 30  # still counted as late: the engine's time is the old one


def test_after_a_step_back_a_burst_of_deletes_still_alerts(tmp_path: Path) -> None:
    before = [at(s, event__action="delete", user__name="wang") for s in range(4)]
    burst = [at(-7200 + k, event__action="delete", user__name="wang") for k in range(5)]
    engine = RuleEngine(rules_from(tmp_path, MASS_DELETE), timedelta(seconds=10))
    assert feed(engine, before) == []
    [alert] = feed(engine, burst)
    assert alert.count == 5 and alert.window_start == BASE_TIME - timedelta(seconds=7200)


def test_after_a_step_back_many_clients_in_a_few_minutes_still_alert(tmp_path: Path) -> None:
    # the late reads used to be dropped from the window as soon as they were added
    before = [at(0, event__action="read", user__name="li", wallwatch__client="acme")]
    burst = [at(-7200 + 10 * k, event__action="read", user__name="li",
                wallwatch__client=f"c{k}") for k in range(5)]
    engine = RuleEngine(rules_from(tmp_path, MANY_CLIENTS), timedelta(seconds=10))
    assert feed(engine, before) == []
    [alert] = feed(engine, burst)
    assert alert.count == 5


def test_a_slightly_late_event_slides_out_of_the_window_in_time_order(tmp_path: Path) -> None:
    # a late delete (ts 10, after ts 200) must leave the 5-minute window when ts 320
    # arrives, not stay behind the newer entries: 4 in the window at the end, not 5
    samples = [at(s, event__action="delete", user__name="wang") for s in (100, 200, 10, 250,
                                                                         320)]
    engine = RuleEngine(rules_from(tmp_path, MASS_DELETE), timedelta(0))
    assert feed(engine, samples) == []


def test_holding_everything_does_not_start_the_sweeps_early(tmp_path: Path) -> None:
    # idle keys are swept every minute of event time from the first real watermark;
    # a watermark of "hold everything" must not set that phase (a late event would
    # then see other state than in an uninterrupted run)
    engine = RuleEngine(rules_from(tmp_path, MASS_DELETE), timedelta(seconds=10))
    engine.holding_unknown = True
    engine.process(event_from_fields(at(0, event__action="delete", user__name="wang"), 1), 1)
    assert engine.swept is None
    engine.holding_unknown = False
    engine.process(event_from_fields(at(30, event__action="delete", user__name="wang"), 2), 2)
    assert engine.swept == engine.watermark()
