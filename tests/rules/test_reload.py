"""SIGHUP: the whole rule set is validated and swapped at once; a broken set
keeps the old rules and says where it is wrong."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.daemon_process import Daemon, count, wait_for, write_config
from tests.samba_lines import record

RULE = """\
id: t.{name}
title: {name}
when: {{event.action: {action}}}
"""


def append(log: Path, body: str) -> None:
    from datetime import datetime
    with log.open("a") as f:
        f.write(record(datetime(2026, 11, 2, 9, 0, 0), body))


def test_sighup_swaps_valid_rules_and_keeps_the_old_ones_when_broken(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(RULE.format(name="deletes", action="delete"))
    log, db = tmp_path / "audit.log", tmp_path / "w.db"
    log.touch()
    config = write_config(tmp_path / "w.yaml", db,
                          [{"type": "samba", "path": str(log), "prefix": "%u|%I|%m|%S"}],
                          extra=f"rules: {{paths: [{rules}], lateness: 1s}}")
    daemon_log = tmp_path / "d.log"
    with Daemon(config, daemon_log) as d:
        append(log, "bob|10.0.0.2|PC|clients|unlinkat|ok|/srv/share/clients/acme/a")
        wait_for(lambda: count(db, "alerts") == 1, 30, "the first alert", d)

        (rules / "r.yaml").write_text("id: t.broken\ntitle: x\nwhen: {user.nmae: bob}\n")
        d.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in daemon_log.read_text(), 20, "refusal", d)
        assert f"{rules / 'r.yaml'}:3:8: unknown field 'user.nmae'" in daemon_log.read_text()
        append(log, "bob|10.0.0.2|PC|clients|unlinkat|ok|/srv/share/clients/acme/b")
        wait_for(lambda: count(db, "alerts") == 2, 30, "the old rule still firing", d)

        (rules / "r.yaml").write_text(RULE.format(name="mkdirs", action="mkdir"))
        d.signal(signal.SIGHUP)
        wait_for(lambda: "reloaded 1 rules" in daemon_log.read_text(), 20, "reload", d)
        append(log, "bob|10.0.0.2|PC|clients|unlinkat|ok|/srv/share/clients/acme/c")
        append(log, "bob|10.0.0.2|PC|clients|mkdirat|ok|/srv/share/clients/acme/d")
        wait_for(lambda: count(db, "alerts") == 3, 30, "the new rule firing", d)
        assert d.stop() == 0
    from tests.daemon_process import query
    assert [r[0] for r in query(db, "SELECT rule_id FROM alerts ORDER BY seq")] == [
        "t.deletes", "t.deletes", "t.mkdirs"]


def test_sighup_with_a_changed_config_restarts_the_stages_and_a_broken_one_is_refused(
        tmp_path: Path) -> None:
    log, other, db = tmp_path / "audit.log", tmp_path / "other.log", tmp_path / "w.db"
    log.touch()
    other.touch()
    source = {"type": "samba", "path": str(log), "prefix": "%u|%I|%m|%S"}
    config = write_config(tmp_path / "w.yaml", db, [source], extra="rules: {lateness: 1s}")
    daemon_log = tmp_path / "d.log"
    with Daemon(config, daemon_log) as d:
        append(log, "bob|10.0.0.2|PC|clients|mkdirat|ok|/srv/share/clients/acme/x")
        wait_for(lambda: count(db) == 1, 30, "the first event", d)
        good = config.read_text()
        config.write_text(good + "bogus: 1\n")
        d.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused, keeping the running config" in daemon_log.read_text(),
                 20, "refusal", d)
        assert "unknown key 'bogus'" in daemon_log.read_text()
        write_config(tmp_path / "w.yaml", db, [source, {**source, "path": str(other)}],
                     extra="rules: {lateness: 1s}")
        d.signal(signal.SIGHUP)
        wait_for(lambda: "config changed: restarting" in daemon_log.read_text(), 20,
                 "restart", d)
        append(other, "bob|10.0.0.2|PC|clients|mkdirat|ok|/srv/share/clients/acme/y")
        wait_for(lambda: count(db) == 2, 30, "an event from the newly configured file", d)
        assert d.stop() == 0
