"""`wallwatch report activity` over the recorded firm: every number is the store's."""

from __future__ import annotations

import orjson

from tests.daemon_process import query
from tests.reports.firm import Firm, wallwatch


def test_activity_numbers_match_the_store(firm: Firm) -> None:
    result = wallwatch(firm.config, "report", "activity", "--since", "7d", "--json")
    assert result.returncode == 0, result.stderr
    got = orjson.loads(result.stdout)
    db = firm.db
    [(events,)] = query(db, "SELECT count(*) FROM events")
    assert got["events"] == events > 0
    assert {(r["dataset"], r["host"]): r["events"] for r in got["by_source"]} == {
        (d, h): n for d, h, n in query(
            db, "SELECT dataset, host_name, count(*) FROM events GROUP BY 1, 2")}
    assert {(r["rule"], r["severity"]): r["alerts"] for r in got["by_rule"]} == {
        ("wall.cross-client-access", "high"): 1, ("wall.off-hours-bulk-read", "high"): 1}
    assert got["alerts"] == 2
    assert {r["user"]: r["events"] for r in got["top_users"]} == dict(query(
        db, "SELECT user_name, count(*) FROM events WHERE user_name IS NOT NULL GROUP BY 1"))
    assert {r["client"]: r["events"] for r in got["top_clients"]} == dict(query(
        db, "SELECT client, count(*) FROM events WHERE client IS NOT NULL GROUP BY 1"))
    assert [(r["source"], r["in_window"], r["total"]) for r in got["dead_letters"]] == [
        ("smb", 1, 1)]
    [(head,)] = query(db, "SELECT max(seq) FROM events")
    [(position,)] = query(db, "SELECT position FROM cursors WHERE name = 'rules'")
    rules = next(lag for lag in got["lags"] if lag["consumer"] == "rules")
    assert rules == {"consumer": "rules", "stream": "events", "position": position,
                     "head": head, "behind": head - position}


def test_activity_table_lists_the_same_sections(firm: Firm) -> None:
    result = wallwatch(firm.config, "report", "activity", "--since", "7d")
    assert result.returncode == 0, result.stderr
    [(events,)] = query(firm.db, "SELECT count(*) FROM events")
    lines = result.stdout.splitlines()
    assert f"EVENTS BY SOURCE AND HOST ({events})" in lines
    assert "ALERTS BY RULE AND SEVERITY (2)" in lines
    assert any(line.split() == ["smb", "1", "1"] for line in lines)
    assert any(line.split()[:2] == ["rules", "events"] for line in lines)


def test_an_empty_window_counts_nothing_but_still_shows_lags(firm: Firm) -> None:
    # the firm's events are minutes old: a window of one second before now holds none
    # but the record of this very report (every report run is an audit event)
    result = wallwatch(firm.config, "report", "activity", "--since", "1s", "--json")
    got = orjson.loads(result.stdout)
    assert got["alerts"] == 0
    assert [r["dataset"] for r in got["by_source"]] == ["wallwatch.usage"]
    assert got["events"] == got["by_source"][0]["events"] >= 1
    assert [lag["consumer"] for lag in got["lags"]] == ["rules"]
