"""The fault suite at small sizes (the full counts: `make chaos`, tests/chaos/report.py).

Each test runs one scenario against the real daemon (a child process), the
Elasticsearch stand-in and real notification receivers, and checks its counts
against an uninterrupted run of the same log: nothing lost, nothing twice, the
same alerts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos import delivery, disk_full, inputs
from tests.chaos.outcome import Outcome

# the notifier commits "sent" after the server took the message; a kill in between
# sends that message again, with the same delivery id (notify_sender.py). At most the
# rows one round claims:
IN_FLIGHT_PER_KILL = 16


def assert_nothing_lost_or_doubled(out: Outcome) -> None:
    assert out.events_in > 0
    for where, t in out.events.items():
        assert (where, t.lost, t.duplicated) == (where, 0, 0), out.detail()
    assert out.events_out == out.events_in, out.detail()
    if out.alerts_expected is not None:
        assert out.alerts_expected > 0
        for where, t in out.alerts.items():
            assert (where, t.lost, t.duplicated) == (where, 0, 0), out.detail()
        assert out.alerts_sent == out.alerts_expected, out.detail()
    if out.messages is not None:
        assert (out.messages.lost, out.messages.duplicated) == (0, 0), out.detail()


def test_sigkill_while_ingesting_evaluating_shipping_and_notifying_loses_nothing(
        tmp_path: Path) -> None:
    out = delivery.crash(tmp_path, records=12_000, kills=3)
    assert out.faults >= 1
    for where, t in out.events.items():
        assert (where, t.lost, t.duplicated) == (where, 0, 0), out.detail()
    assert out.events_out == out.events_in > 0
    for where in ("store", "es"):  # alerts: exactly those of the uninterrupted run
        t = out.alerts[where]
        assert (where, t.arrived, t.lost, t.duplicated) == (where, out.alerts_expected, 0, 0)
    told = out.alerts["notify:hook"]
    assert (told.arrived, told.lost, told.duplicated) == (out.alerts_expected, 0, 0), \
        out.detail()
    # exactly once for a receiver that keeps the delivery ids it has seen; sent again
    # (same id) only what was in flight at a kill
    assert out.messages is not None
    assert (out.messages.lost, out.messages.duplicated) == (0, 0), out.detail()
    assert out.repeats <= IN_FLIGHT_PER_KILL * out.faults, out.detail()


def test_rotations_both_ways_under_a_full_speed_writer_lose_no_line(
        tmp_path: Path) -> None:
    out = inputs.rotation(tmp_path, rotations=10, per_generation=300)
    assert out.faults == 10
    assert_nothing_lost_or_doubled(out)


def test_elasticsearch_down_then_back_gets_every_event_and_alert_once(tmp_path: Path) -> None:
    out = delivery.es_outage(tmp_path, records=6_000, outage=5)
    assert_nothing_lost_or_doubled(out)
    assert "waited in the store" in out.detail()


def test_a_flaky_cluster_gets_every_event_and_alert_once(tmp_path: Path) -> None:
    out = delivery.es_flaky(tmp_path, records=6_000)
    assert out.faults > 0  # the faults really happened
    assert_nothing_lost_or_doubled(out)


def test_a_mail_server_down_then_back_gets_every_alert_once(tmp_path: Path) -> None:
    out = delivery.notify_outage(tmp_path, records=5_000, outage=4)
    assert set(out.alerts) == {"store", "notify:hook", "notify:mail"}
    assert_nothing_lost_or_doubled(out)


def test_clock_steps_far_future_and_a_host_time_zone_change_change_nothing_stored(
        tmp_path: Path) -> None:
    out = inputs.clock(tmp_path, records=4_000)
    assert out.runs == 2
    assert_nothing_lost_or_doubled(out)  # also: every event's time and off-hours flag
    assert "0 events with another time" in out.detail()
    # the 2099 line neither holds the probe's delete window open nor makes it late
    assert "mass-delete alerts for the slow probe after the 2099 line: 0" in out.detail()
    assert "future events (beyond the clock + rules.max_future): 1" in out.detail()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_state_volume_pauses_reading_says_why_and_resumes_losing_nothing(
        tmp_path: Path) -> None:
    out = disk_full.disk_full(tmp_path, records=8_000, size="16m", hold=3)
    seen = out.seen
    assert seen["healthz_full"].startswith("503 ")
    assert "store full" in seen["healthz_full"] and "database or disk is full" in \
        seen["healthz_full"]
    assert seen["healthz_full_later"] == "503"  # still refusing, still alive
    assert seen["position_kept"] == "True"
    assert seen["logged"] == "True" and seen["logged_resume"] == "True"
    assert seen["healthz_after"] == "200 ok" and seen["blocked_after"] == "0"
    assert_nothing_lost_or_doubled(out)
