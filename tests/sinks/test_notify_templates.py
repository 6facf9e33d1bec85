"""Messages in both languages, user templates, and field content that tries to forge lines."""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import unquote

import orjson
import pytest

from monitor.cli import main
from monitor.errors import ConfigError
from monitor.event import Event
from monitor.sinks.notify_config import NotifyConfig
from monitor.sinks.notify_text import clean, discover_url
from tests.sinks.notify_support import ACME, Bench, notify_config, read, shipped_rules


def route(language: str, extra: str = "") -> str:
    return f"""{extra}  routes:
    - name: mail
      urls: ["mailto://127.0.0.1:25?to=it@firm.example"]
      language: {language}
"""


def first_message(tmp_path: Path, cfg: NotifyConfig, events: list[Event]) -> tuple[str, str]:
    bench = Bench(tmp_path, cfg, shipped_rules())
    bench.ingest(events)
    bench.step(5)
    [row] = bench.outbox()
    bench.close()
    return row.title, row.body


def test_english_alert_has_the_title_and_every_part_of_the_body(tmp_path: Path) -> None:
    cfg = notify_config(tmp_path, route("en"))
    title, body = first_message(tmp_path, cfg, [read(0)])
    assert title == ("[HIGH] Staff opened a client folder they are not assigned to"
                     " — bob @ acme")
    lines = body.splitlines()
    assert lines[0] == ("bob set off “Staff opened a client folder they are not assigned to”"
                        " (wall.cross-client-access) in the files of client acme on nas01.")
    assert "When:     2026-11-02 10:00:00 (Asia/Shanghai, UTC+08:00)" in lines  # firm's time
    assert f"Where:    host nas01, share clients, path {ACME}/2024年发票汇总.xlsx" in lines
    assert "Events:   1" in lines
    assert any(line.startswith("Incident: inc-") for line in lines)
    assert (f"Evidence: wallwatch -c {tmp_path}/wallwatch.yaml search"
            " 'user.name:\"bob\" AND wallwatch.client:\"acme\"'"
            " --since 2026-11-02T01:59:59Z --until 2026-11-02T02:00:01Z") in lines
    assert not any("Kibana" in line for line in lines)  # not configured


def test_chinese_alert_uses_the_zh_template_and_the_firms_timezone(tmp_path: Path) -> None:
    cfg = notify_config(tmp_path, route("zh-CN"), timezone="Asia/Urumqi")
    title, body = first_message(tmp_path, cfg, [read(0)])
    assert title.startswith("[高危] Staff opened") and title.endswith(" — bob @ acme")
    assert "bob 在客户 acme 的文件中触发了规则" in body
    assert "时间：2026-11-02 08:00:00 (Asia/Urumqi, UTC+06:00)" in body
    assert "位置：主机 nas01，共享 clients，路径 /srv/share/clients/acme/" in body
    assert "事件数：1" in body and "事件单号：inc-" in body and "查看证据：wallwatch" in body


HOSTILE_NAME = "q3.xlsx\n[CRITICAL] All clear — nothing happened\r\x1b[2J\u2028x\u202egpj.exe"
HOSTILE_USER = "bob\nSubject: hi"


def test_hostile_field_content_cannot_forge_lines(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = notify_config(tmp_path, route("en"))
    ev = read(0, user=HOSTILE_USER, name=HOSTILE_NAME)
    title, body = first_message(tmp_path, cfg, [ev])
    assert "\n" not in title and "\r" not in title
    assert title.endswith("— bob\\nSubject: hi @ acme")
    assert len(body.splitlines()) == 6  # sentence, when, where, events, incident, evidence
    assert not any(line.startswith("[CRITICAL]") for line in body.splitlines())
    assert all(ch not in body for ch in "\r\x1b\u2028\u202e")
    assert "q3.xlsx\\n[CRITICAL] All clear — nothing happened\\r\\x1b[2J\\u2028x\\u202egpj.exe" \
        in body
    # the evidence command is one line, and run as printed it finds the hostile event
    [command] = [line.removeprefix("Evidence: ") for line in body.splitlines()
                 if line.startswith("Evidence: ")]
    argv = shlex.split(command)
    assert argv[0] == "wallwatch"
    assert main([*argv[1:], "--json"]) == 0
    # split on \n only: a JSON line may hold a raw U+2028, which splitlines() splits on
    found = [orjson.loads(line) for line in capsys.readouterr().out.split("\n") if line]
    assert [d["user"]["name"] for d in found] == [HOSTILE_USER]
    assert found[0]["file"]["path"].endswith(HOSTILE_NAME)


def test_clean_bounds_length_and_marks_missing_values() -> None:
    assert clean(None) == "-"
    assert clean("x" * 1000, limit=10) == "x" * 9 + "…"
    assert clean("工资表\t2024") == "工资表\\t2024"


def test_templates_can_be_overridden_per_language(tmp_path: Path) -> None:
    (tmp_path / "tpl" / "en").mkdir(parents=True)
    (tmp_path / "tpl" / "en" / "alert.txt").write_text(
        "ALERT $severity $rule_id for $who\n$sentence\nsee: $search\n", encoding="utf-8")
    cfg = notify_config(tmp_path, route("en", "  templates: tpl\n"))
    title, body = first_message(tmp_path, cfg, [read(0)])
    assert title == "ALERT HIGH wall.cross-client-access for bob"
    assert body.splitlines()[1].startswith("see: wallwatch -c ")
    # the other language keeps the shipped template
    (tmp_path / "zh").mkdir()
    cfg_zh = notify_config(tmp_path / "zh", route("zh-CN", f"  templates: {tmp_path}/tpl\n"))
    title_zh, _ = first_message(tmp_path / "zh", cfg_zh, [read(0)])
    assert title_zh.startswith("[高危]")


def test_a_template_with_an_unknown_name_is_a_located_config_error(tmp_path: Path) -> None:
    (tmp_path / "tpl" / "zh-CN").mkdir(parents=True)
    (tmp_path / "tpl" / "zh-CN" / "update.txt").write_text("$severity $password\n")
    with pytest.raises(ConfigError) as err:
        notify_config(tmp_path, route("en", "  templates: tpl\n"))
    assert "unknown name(s) password" in str(err.value)
    assert err.value.line is not None and err.value.path == str(tmp_path / "wallwatch.yaml")


def test_the_kibana_link_carries_the_query_and_the_time_range(tmp_path: Path) -> None:
    cfg = notify_config(tmp_path, route(
        "en", "  kibana_discover: https://kibana.firm.local:5601/app/discover\n"))
    _, body = first_message(tmp_path, cfg, [read(0)])
    [line] = [x for x in body.splitlines() if x.startswith("Kibana: ")]
    link = unquote(line.removeprefix("Kibana: "))
    assert link.startswith("https://kibana.firm.local:5601/app/discover#/?_g=(time:(from:"
                           "'2026-11-02T01:59:59.000Z',to:'2026-11-02T02:00:01.000Z'))")
    assert ("_a=(query:(language:kuery,query:'user.name:\"bob\" and"
            " wallwatch.client:\"acme\"'))") in link


def test_rison_escapes_quotes_in_values() -> None:
    url = discover_url("https://k/app/discover#/view/x", [("user.name", "o'brien!")], 0, 1000)
    assert "?_g=" in url
    assert "o!'brien!!" in unquote(url)
