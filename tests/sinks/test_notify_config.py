"""The notify: section: parsed into routes, errors located, secrets never echoed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.errors import ConfigError
from monitor.sinks.notify_config import Match, RetryPolicy, parse_notify
from tests.sinks.notify_support import notify_config, write_config

FULL = """  language: en
  kibana_discover: https://kibana.firm.local:5601/app/discover
  incident: {gap: 20m, update_every: 2h}
  retry: {attempts: 5, backoff: 1s, max_backoff: 4s}
  routes:
    - name: it-mail
      urls: ["mailto://127.0.0.1:25?from=w@firm.example&to=it@firm.example&mode=insecure"]
      match: {severity: high, rules: ["wall.*"], tags: [T1039], clients: [acme], hosts: [nas*]}
    - name: partners
      url_files: [partners.url]
      url_env: [WALLWATCH_TEST_WECOM]
      language: zh-CN
      mode: digest
      every: 15m
      mute: ["22:00-07:00", {days: [sat, sun]}, {days: [fri], hours: "12:00-13:00"}]
    - name: daily
      urls: ["json://127.0.0.1:9/hook"]
      mode: daily
"""
WECOM = "wecombot://THEWECOMKEY0123456789"


def test_a_full_section_becomes_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "partners.url").write_text("# the partners' DingTalk group\n"
                                           "dingtalk://SECRETSECRET@TOKENTOKEN/\n")
    monkeypatch.setenv("WALLWATCH_TEST_WECOM", WECOM)
    cfg = parse_notify(write_config(tmp_path, FULL))
    assert cfg is not None
    assert (cfg.gap, cfg.update_every) == (timedelta(minutes=20), timedelta(hours=2))
    assert cfg.retry == RetryPolicy(5, timedelta(seconds=1), timedelta(seconds=4))
    assert [cfg.retry.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 4]
    assert cfg.settle == timedelta(seconds=15)  # the rules' default lateness + 5 s
    mail, partners, daily = cfg.routes
    assert mail.match == Match("high", ("wall.*",), ("T1039",), ("acme",), ("nas*",))
    assert (mail.language, mail.mode, mail.every) == ("en", "immediate", None)
    assert partners.urls == ("dingtalk://SECRETSECRET@TOKENTOKEN/", WECOM)
    assert (partners.language, partners.mode, partners.every) == ("zh-CN", "digest",
                                                                  timedelta(minutes=15))
    assert daily.every == timedelta(days=1)
    shanghai = ZoneInfo("Asia/Shanghai")
    night, weekend, lunch = partners.mute
    assert night.covers(datetime(2026, 11, 2, 23, 30, tzinfo=shanghai))
    assert night.covers(datetime(2026, 11, 3, 6, 59, tzinfo=shanghai))
    assert not night.covers(datetime(2026, 11, 3, 7, 0, tzinfo=shanghai))
    assert weekend.covers(datetime(2026, 11, 8, 15, 0, tzinfo=shanghai))  # a Sunday
    assert lunch.covers(datetime(2026, 11, 6, 12, 30, tzinfo=shanghai))  # a Friday
    assert not lunch.covers(datetime(2026, 11, 5, 12, 30, tzinfo=shanghai))
    # the secrets are in memory only: nothing prints them
    assert "SECRET" not in repr(partners) and "THEWECOMKEY" not in repr(partners)


def test_no_section_means_no_notifier(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("timezone: UTC\n")
    from monitor.config import load_config

    assert parse_notify(load_config(path)) is None


@pytest.mark.parametrize(("section", "message", "where"), [
    ("  routes:\n    - name: a\n      urls: [\"json://h/x\"]\n      mode: weekly\n",
     "'mode' must be one of", "weekly"),
    ("  routes:\n    - name: a\n      urls: [\"json://h/x\"]\n      mode: digest\n",
     "mode digest needs 'every'", "digest"),
    ("  routes:\n    - name: a\n      urls: [\"json://h/x\"]\n      mute: [\"25:00-07:00\"]\n",
     "bad mute hours", "25:00"),
    ("  routes:\n    - name: a\n      urls: [\"json://h/x\"]\n      match: {severity: urgent}\n",
     "'severity' must be one of", "urgent"),
    ("  routes:\n    - name: a\n      urls: [\"json://h/x\"]\n      colour: red\n",
     "unknown key 'colour' in route", "colour"),
    ("  routes:\n    - name: a\n      urls: [\"json://h/x\"]\n    - name: b\n      urls: [\"json://h/y\"]\n"
     "    - name: a\n      urls: [\"json://h/z\"]\n", "two routes named 'a'", "h/z"),
    ("  routes:\n    - name: a\n", "route 'a' has no URL", "name: a"),
    ("  retry: {attempts: 0}\n  routes:\n    - name: a\n      urls: [\"json://h/x\"]\n",
     "'attempts' must be a whole number", "attempts"),
])
def test_mistakes_are_located(tmp_path: Path, section: str, message: str, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        notify_config(tmp_path, section)
    assert message in str(err.value)
    lines = (tmp_path / "wallwatch.yaml").read_text().splitlines()
    expected = [n for n, text in enumerate(lines, 1) if where in text]
    if "two routes" in message:
        expected = [expected[0] - 1]  # the second route's name
    assert err.value.line == expected[0]


def test_a_bad_url_is_reported_without_its_secret(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    section = "  routes:\n    - name: a\n      urls: [\"nosuchservice://TOPSECRETTOKEN\"]\n"
    with pytest.raises(ConfigError) as err:
        parse_notify(write_config(tmp_path, section))
    assert "not a URL apprise understands" in str(err.value)
    assert "TOPSECRETTOKEN" not in str(err.value)
    assert err.value.line == 9
    assert "TOPSECRETTOKEN" not in caplog.text  # apprise's own complaint is masked too


def test_a_missing_env_var_is_named_and_an_unreadable_url_file_too(tmp_path: Path) -> None:
    section = "  routes:\n    - name: a\n      url_env: [WALLWATCH_TEST_UNSET_VAR]\n"
    with pytest.raises(ConfigError, match="WALLWATCH_TEST_UNSET_VAR is not set"):
        parse_notify(write_config(tmp_path, section))
    section = "  routes:\n    - name: a\n      url_files: [missing.url]\n"
    with pytest.raises(ConfigError, match="cannot read URL file"):
        parse_notify(write_config(tmp_path, section))
