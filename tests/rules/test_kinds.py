"""Each rule kind on event time, including the edges of its window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.rules.helpers import at, rules_from, run

THRESHOLD = """\
id: t.mass-delete
title: mass delete
kind: threshold
when: {event.action: delete}
group_by: user.name
window: 60s
count: 3
"""


def deletes(*seconds: float, user: str = "bob") -> list[dict[str, object]]:
    return [at(s, event__action="delete", user__name=user) for s in seconds]


def test_threshold_fires_at_exactly_n_inside_the_window(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, THRESHOLD)
    [alert] = run(rules, deletes(0, 30, 60))          # 0 and 60 are exactly one window apart
    assert alert.count == 3 and alert.group == (("user.name", "bob"),)
    assert alert.window_start.second == 0 and alert.timestamp.second == 0
    assert run(rules, deletes(0, 30, 60.001)) == []   # just outside: only two inside


def test_threshold_counts_each_group_on_its_own_and_starts_over_after_firing(
        tmp_path: Path) -> None:
    rules = rules_from(tmp_path, THRESHOLD)
    samples = deletes(0, 1, 2, 3, 4, 5) + deletes(0, 1, user="alice")
    alerts = run(rules, sorted(samples, key=lambda s: str(s["@timestamp"])))
    assert [a.group for a in alerts] == [(("user.name", "bob"),)] * 2


def test_threshold_sum_of_a_field(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, THRESHOLD.replace("count: 3", "count: 100\nsum: wallwatch.count"))
    samples = [at(i, event__action="delete", user__name="bob", wallwatch__count=40)
               for i in range(3)]
    [alert] = run(rules, samples)
    assert alert.count == 120


def test_late_event_within_lateness_is_evaluated_in_time_order(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SEQUENCE)
    # the third failure reaches us after the success, though it happened before it
    arrival = [auth(0, "failure"), auth(1, "failure"), auth(10, "success"), auth(2, "failure")]
    [alert] = run(rules, arrival, lateness=timedelta(seconds=60))
    assert alert.window_start.second == 0 and alert.timestamp.second == 10
    assert run(rules, arrival, lateness=timedelta(0)) == []  # in arrival order: no sequence


def test_event_later_than_lateness_is_still_evaluated_and_counted(tmp_path: Path) -> None:
    from monitor.rules.engine import RuleEngine
    from monitor.rules.samples import event_from_fields
    rules = rules_from(tmp_path, THRESHOLD)
    engine = RuleEngine(rules, timedelta(seconds=5))
    alerts = []
    for n, sample in enumerate(deletes(100, 110, 120, 101)):  # 101 arrives 19s late
        alerts += engine.process(event_from_fields(sample, n))
    alerts += engine.flush()
    assert engine.stats.late == 1
    assert engine.stats.matches["t.mass-delete"] == 4
    assert len(alerts) == 1


def test_clock_going_backwards_in_the_log_does_not_crash_or_double_count(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, THRESHOLD)
    alerts = run(rules, deletes(3600, 3601, 0, 1, 3602))  # 0 and 1 belong to an hour earlier
    assert len(alerts) == 1 and alerts[0].window_start.minute == 0
    assert alerts[0].count == 3


DISTINCT = """\
id: t.many-clients
title: many clients
kind: distinct
when: {event.category: file}
group_by: user.name
field: wallwatch.client
window: 10m
count: 3
"""


def test_distinct_counts_different_values_only(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, DISTINCT)
    same = [at(i, user__name="bob", wallwatch__client="acme") for i in range(10)]
    assert run(rules, same) == []
    spread = [at(i * 60, user__name="bob", wallwatch__client=c)
              for i, c in enumerate(["acme", "acme", "globex", "initech"])]
    [alert] = run(rules, spread)
    assert alert.count == 3


def test_distinct_forgets_values_outside_the_window(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, DISTINCT)
    spread = [at(s, user__name="bob", wallwatch__client=c)
              for s, c in [(0, "acme"), (300, "globex"), (601, "initech")]]
    assert run(rules, spread) == []  # acme left the window at 600


SEQUENCE = """\
id: t.guess-then-success
title: guessing then success
kind: sequence
group_by: source.ip
window: 10m
steps:
  - when: {event.category: authentication, event.outcome: failure}
    count: 3
  - when: {event.category: authentication, event.outcome: success}
"""


def auth(s: float, outcome: str, ip: str = "203.0.113.9") -> dict[str, object]:
    return at(s, event__category="authentication", event__outcome=outcome, source__ip=ip)


def test_sequence_needs_the_steps_in_order(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SEQUENCE)
    [alert] = run(rules, [auth(0, "failure"), auth(1, "failure"), auth(2, "failure"),
                          auth(3, "success")])
    assert alert.count == 4 and alert.group == (("source.ip", "203.0.113.9"),)
    assert run(rules, [auth(0, "success"), auth(1, "failure"), auth(2, "failure"),
                       auth(3, "failure")]) == []


def test_sequence_success_too_late_for_the_window_does_not_fire(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SEQUENCE)
    assert run(rules, [auth(0, "failure"), auth(1, "failure"), auth(2, "failure"),
                       auth(603, "success")]) == []


def test_sequence_restarts_from_recent_failures(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SEQUENCE)
    samples = [auth(0, "failure")] + [auth(500 + i, "failure") for i in range(3)] + \
        [auth(700, "success")]
    [alert] = run(rules, samples)
    assert alert.window_start.minute == 8  # 10:08:20, the first of the three recent failures


def test_sequence_groups_are_separate(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SEQUENCE)
    samples = [auth(0, "failure", "10.0.0.1"), auth(1, "failure", "10.0.0.2"),
               auth(2, "failure", "10.0.0.1"), auth(3, "success", "10.0.0.1")]
    assert run(rules, samples) == []


NEW_VALUE = """\
id: t.first-touch
title: first time a user touches a client
kind: new_value
when: {event.category: file}
fields: [user.name, wallwatch.client]
learn: 1h
"""


def test_new_value_is_silent_while_learning_then_fires_once_per_new_tuple(
        tmp_path: Path) -> None:
    rules = rules_from(tmp_path, NEW_VALUE)
    samples = [at(0, user__name="bob", wallwatch__client="globex"),
               at(1800, user__name="bob", wallwatch__client="acme"),    # learning
               at(3600, user__name="bob", wallwatch__client="initech"),  # learn ends: new
               at(3700, user__name="bob", wallwatch__client="acme"),    # seen while learning
               at(3800, user__name="bob", wallwatch__client="initech")]  # seen now
    [alert] = run(rules, samples)
    assert alert.group == (("user.name", "bob"), ("wallwatch.client", "initech"))


def test_throttle_suppresses_repeats_per_key_for_its_duration(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, """\
id: t.cross
title: cross client
when: {wallwatch.assigned: false}
throttle: {by: [user.name, wallwatch.client], for: 1h}
""")
    samples = [at(s, user__name="bob", wallwatch__client="acme", wallwatch__assigned=False)
               for s in (0, 60, 3599)] + \
              [at(100, user__name="bob", wallwatch__client="initech", wallwatch__assigned=False),
               at(3600, user__name="bob", wallwatch__client="acme", wallwatch__assigned=False)]
    alerts = run(rules, sorted(samples, key=lambda s: str(s["@timestamp"])))
    assert [(a.client, a.timestamp.minute) for a in alerts] == [
        (None, 0), (None, 1), (None, 0)] or len(alerts) == 3
    assert len({a.id for a in alerts}) == 3


def test_alert_ids_are_rule_group_and_window_start(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, THRESHOLD)
    first = run(rules, deletes(0, 1, 2))
    again = run(rules, deletes(0, 1, 2))
    assert [a.id for a in first] == [a.id for a in again]
    moved = run(rules, deletes(5, 6, 7))
    assert first[0].id != moved[0].id


def test_idle_keys_expire_and_memory_is_bounded(tmp_path: Path) -> None:
    from monitor.rules.engine import RuleEngine
    from monitor.rules.samples import event_from_fields
    rules = rules_from(tmp_path, THRESHOLD.replace("count: 3", "count: 1000"))
    engine = RuleEngine(rules, timedelta(0))
    for i in range(20_000):
        engine.process(event_from_fields(at(i, event__action="delete", user__name=f"u{i}"), i))
    assert engine.state_size() < 200  # only the last minute's users are kept
