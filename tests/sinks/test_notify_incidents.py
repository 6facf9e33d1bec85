"""Incidents, updates and digests, decided on event time by a real consumer over a real
store (the wall clock is passed in, so the watermark is under the test's control)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.event import ts_to_us
from monitor.rules.model import Rule
from monitor.sinks.notify_silences import add_silence
from tests.rules.helpers import rules_from
from tests.sinks.notify_support import T0, Bench, notify_config, read, shipped_rules

MAIL = """  incident: {gap: 10m, update_every: 1h}
  routes:
    - name: mail
      urls: ["mailto://127.0.0.1:25?to=it@firm.example"]
      language: en
"""
# every read of a client one is not assigned to, at most once a minute per user+client
READS = """
rules:
  - id: test.read
    title: A read of another client's file
    severity: high
    when: {event.action: read, wallwatch.assigned: false}
    throttle: {by: [user.name, wallwatch.client], for: 1m}
"""
GAP = 600  # seconds
SETTLE = 15  # the default lateness (10 s) + 5 s


@pytest.fixture
def read_rules(tmp_path: Path) -> list[Rule]:
    return rules_from(tmp_path, READS)


@pytest.fixture
def bench(tmp_path: Path, read_rules: list[Rule]) -> Iterator[Bench]:
    b = Bench(tmp_path, notify_config(tmp_path, MAIL), read_rules)
    yield b
    b.close()


def test_first_alert_is_sent_at_once_and_followups_wait_for_one_update(bench: Bench) -> None:
    bench.ingest([read(0)])
    bench.step(1)
    [first] = bench.outbox()
    assert (first.kind, first.route, first.state) == ("alert", "mail", "pending")
    for t in (90, 180):  # two more alerts of the same rule and group, inside the gap
        assert len(bench.ingest([read(t, n=t)])) == 1
        bench.step(t + 1)
    assert bench.outbox() == [first]  # no new immediate message
    bench.step(180 + GAP + SETTLE - 1)  # not quiet for the whole gap yet
    assert bench.outbox() == [first]
    bench.step(180 + GAP + SETTLE + 1)
    [update] = bench.outbox("update")
    assert update.incident == first.incident
    assert len(update.alerts) == 2
    assert "2 more alert(s)" in update.body and "incident closed" in update.body
    bench.step(180 + GAP + SETTLE + 3600)
    assert len(bench.outbox()) == 2  # told once: a closed incident says no more


def test_reads_a_throttle_swallowed_are_counted_in_the_update(tmp_path: Path) -> None:
    bench = Bench(tmp_path, notify_config(tmp_path, MAIL), shipped_rules())
    alerts = bench.ingest([read(0)] + [read(1 + i * 0.1, name=f"f{i}.xlsx") for i in range(50)])
    assert [a.rule_id for a in alerts] == ["wall.cross-client-access"]  # throttled for 1h
    bench.step(10)
    assert [r.kind for r in bench.outbox()] == ["alert"]
    bench.step(6 + GAP + SETTLE + 1)
    [alert, update] = bench.outbox()
    assert update.kind == "update" and update.incident == alert.incident
    assert "0 more alert(s) and 50 more matching event(s)" in update.body
    assert "read ×50" in update.body
    assert "f0.xlsx" in update.body
    bench.close()


def test_activity_keeps_an_incident_open_until_it_goes_quiet(bench: Bench) -> None:
    # throttled reads every 40 s for 30 minutes: each is within the gap of the last
    bench.ingest([read(0)])
    bench.step(1)
    events = [read(t, name=f"n{t}.txt", n=t) for t in range(20, 1800, 40)]
    bench.ingest(events)
    bench.step(1800)
    assert [r.kind for r in bench.outbox()] == ["alert"]  # ongoing, under update_every
    bench.step(1780 + GAP + SETTLE + 1)
    [_, update] = bench.outbox()
    assert f"{len(events)} more matching event(s)" in update.body


def test_a_long_incident_gets_an_update_every_interval(bench: Bench) -> None:
    for t in range(0, 7200, 60):  # one alert a minute for two hours
        bench.ingest([read(t, n=t)])
        bench.step(t + 1)
    updates = bench.outbox("update")
    assert len(updates) == 1 and "still going on" in updates[0].body
    assert len(bench.outbox("alert")) == 1


def test_an_alert_past_the_gap_in_event_time_opens_a_new_incident(bench: Bench) -> None:
    bench.ingest([read(0), read(GAP + 100, n=1)])  # both arrive together
    bench.step(1)
    first, second = bench.outbox("alert")
    assert first.incident != second.incident


def test_grouping_does_not_depend_on_arrival_order(bench: Bench) -> None:
    late, early = read(300, n=1), read(0)
    bench.ingest([late])
    bench.ingest([early])  # an earlier event's alert arrives after a later one's
    bench.step(400)
    [alert] = bench.outbox("alert")
    bench.step(300 + GAP + SETTLE + 1)
    [update] = bench.outbox("update")
    assert update.incident == alert.incident and "1 more alert(s)" in update.body


def test_an_incident_continues_across_a_restart(bench: Bench) -> None:
    bench.ingest([read(0)])
    bench.step(1)
    bench.consumer = bench.new_consumer()  # the daemon restarted
    bench.ingest([read(90, n=1)])
    bench.step(91)
    assert len(bench.outbox("alert")) == 1
    bench.consumer = bench.new_consumer()
    bench.step(90 + GAP + SETTLE + 1)
    [update] = bench.outbox("update")
    assert "1 more alert(s)" in update.body


HOURLY = """  incident: {gap: 10m}
  routes:
    - name: hourly
      urls: ["json://127.0.0.1:1/hook"]
      mode: hourly
      language: en
"""


def test_an_hourly_route_gets_one_digest_per_local_hour(tmp_path: Path,
                                                        read_rules: list[Rule]) -> None:
    bench = Bench(tmp_path, notify_config(tmp_path, HOURLY), read_rules)
    bench.ingest([read(0), read(1800, user="carol", n=1), read(3900, user="dave", n=2)])
    bench.step(3901)  # 11:05 local: the 10:00 hour is over, the 11:00 one is not
    [digest] = bench.outbox("digest")
    assert len(digest.alerts) == 2 and not bench.outbox("alert")
    assert "2026-11-02 10:00:00" in digest.title and "2 alert(s)" in digest.title
    bench.step(7200 + SETTLE + 1)
    first, second = bench.outbox("digest")
    assert len(first.alerts) == 2 and len(second.alerts) == 1
    # an alert of the 10:00 hour that arrives after its digest went goes into a part 2
    bench.ingest([read(600, user="erin", n=3)])
    bench.step(7300)
    parts = bench.outbox("digest")
    assert len(parts) == 3 and parts[2].subject.endswith("-2")
    assert len({a for d in parts for a in d.alerts}) == 4  # every alert in exactly one
    bench.close()


def test_a_silenced_rule_is_recorded_and_not_sent(tmp_path: Path,
                                                  read_rules: list[Rule]) -> None:
    two = MAIL + """    - name: chat
      urls: ["json://127.0.0.1:1/hook"]
"""
    bench = Bench(tmp_path, notify_config(tmp_path, two), read_rules)
    with bench.store.transaction():
        add_silence(bench.store.db, "test.*", "mail", ts_to_us(T0), ts_to_us(T0) + 7_200_000_000,
                    "root", "maintenance of the NAS")
    bench.ingest([read(0)])
    bench.step(1)
    by_route = {r.route: r for r in bench.outbox()}
    assert by_route["mail"].state == "silenced"
    assert "by root: maintenance of the NAS" in (by_route["mail"].last_error or "")
    assert by_route["chat"].state == "pending"
    bench.close()


def test_a_mute_window_holds_messages_by_the_event_local_time(tmp_path: Path,
                                                             read_rules: list[Rule]) -> None:
    muted = MAIL + '      mute: ["09:30-10:30"]\n'  # T0 is 10:00 in Shanghai
    bench = Bench(tmp_path, notify_config(tmp_path, muted), read_rules)
    bench.ingest([read(0), read(3600, user="carol", n=1)])
    bench.step(3601)
    states = [(r.state, r.last_error) for r in bench.outbox("alert")]
    assert states[0][0] == "muted" and "09:30-10:30" in (states[0][1] or "")
    assert states[1] == ("pending", None)  # 11:00 local: outside the window
    bench.close()


def test_a_line_from_a_clock_years_ahead_does_not_close_incidents_early(
        bench: Bench) -> None:
    bench.ingest([read(0)])
    bench.step(1)
    [first] = bench.outbox()
    years = 73 * 365 * 86400  # 2099: the newest event time in the store, but not believed
    bench.ingest([read(years, user="alice")], alerts=[])
    bench.step(60)
    assert len(bench.ingest([read(120, n=1)])) == 1  # inside the gap: the same incident
    bench.step(121)
    assert bench.outbox() == [first]  # no second immediate message
    bench.step(120 + GAP + SETTLE + 1)  # the wall clock passes the gap: now it closes
    [update] = bench.outbox("update")
    assert update.incident == first.incident and "incident closed" in update.body
