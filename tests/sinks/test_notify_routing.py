"""Which routes take an alert: severity floor, rule globs, tags, clients, hosts."""

from __future__ import annotations

from pathlib import Path

from monitor.sinks.notify_config import Match
from monitor.sinks.notify_model import NotifyAlert, matches, routes_for
from monitor.sinks.notify_silences import Silence, silenced_by
from tests.sinks.notify_support import notify_config


def alert(**fields: object) -> NotifyAlert:
    base: dict[str, object] = dict(
        id="a1", seq=1, ts=0, rule_id="wall.cross-client-access", rule_name="t",
        severity="high", group=(("user.name", "bob"),), window_start=0, event_ids=("e1",),
        tags=("T1039",), user="bob", client="Acme", host="nas01")
    base.update(fields)
    return NotifyAlert(**base)  # type: ignore[arg-type]


def test_severity_is_a_floor() -> None:
    assert matches(Match("medium"), alert(severity="high"))
    assert matches(Match("high"), alert(severity="high"))
    assert not matches(Match("critical"), alert(severity="high"))


def test_rules_tags_clients_and_hosts_are_any_of_and_all_must_hold() -> None:
    assert matches(Match(rules=("auth.*", "wall.*")), alert())
    assert not matches(Match(rules=("auth.*",)), alert())
    assert matches(Match(tags=("t1039", "T1110")), alert())  # tags ignore case
    assert not matches(Match(tags=("T1110",)), alert())
    assert matches(Match(clients=("acme",)), alert())  # client codes ignore case
    assert not matches(Match(clients=("globex",)), alert())
    assert not matches(Match(clients=("acme",)), alert(client=None))
    assert matches(Match(hosts=("nas*",)), alert())
    assert not matches(Match(rules=("wall.*",), hosts=("backup*",)), alert())


def test_an_alert_goes_to_every_route_that_matches(tmp_path: Path) -> None:
    cfg = notify_config(tmp_path, """  routes:
    - {name: all, urls: ["json://h/a"]}
    - {name: high, urls: ["json://h/b"], match: {severity: high}}
    - {name: auth, urls: ["json://h/c"], match: {rules: ["auth.*"]}}
""")
    assert [r.name for r in routes_for(cfg, alert())] == ["all", "high"]
    assert [r.name for r in routes_for(cfg, alert(severity="low"))] == ["all"]


def test_a_silence_covers_its_rule_glob_route_and_span_until_lifted() -> None:
    s = Silence(1, "wall.*", "mail", starts=100, ends=200, created=100, created_by="root",
                reason="upgrade", removed=150, removed_by="root")
    assert silenced_by([s], "wall.bait-file", "mail", 120) is s
    assert silenced_by([s], "wall.bait-file", "chat", 120) is None  # another route
    assert silenced_by([s], "auth.new-ip-for-user", "mail", 120) is None
    assert silenced_by([s], "wall.bait-file", "mail", 160) is None  # lifted at 150
    assert silenced_by([s], "wall.bait-file", "mail", 99) is None
    everywhere = Silence(2, "*", None, 0, 10, 0, "root", "test")
    assert silenced_by([everywhere], "x", "any", 5) is everywhere
