"""`wallwatch notify test` against a real SMTP server, and silences kept with who, when, why."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.sinks.notify_outbox import ensure_schema
from monitor.sinks.notify_silences import list_silences
from monitor.store import Store
from tests.fixtures.smtp import SmtpServer, free_port
from tests.sinks.notify_support import write_config

MAIL_DOWN = "mailto://127.0.0.1:1?from=wallwatch@firm.example&to=it@firm.example&mode=insecure"


def setup(tmp_path: Path, mail_url: str) -> str:
    config = write_config(tmp_path, f"""  routes:
    - name: it-mail
      urls: ["{mail_url}"]
      language: en
    - name: chat
      urls: ["json://127.0.0.1:{free_port()}/hook/CHATSECRET"]
""")
    return config.path


def test_notify_test_sends_a_message_and_reports_it(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with SmtpServer(tmp_path / "smtp") as smtp:
        config = setup(tmp_path, smtp.url())
        assert main(["-c", config, "notify", "test", "it-mail"]) == 0
        [msg] = smtp.messages()
    assert msg["Subject"] == "[TEST] Wallwatch notification test — route it-mail"
    assert "route it-mail of the Wallwatch daemon" in SmtpServer.text(msg)
    assert "it-mail: mailto://127.0.0.1:" in capsys.readouterr().out


def test_notify_test_reports_a_failure_without_the_secret(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = setup(tmp_path, MAIL_DOWN)
    assert main(["-c", config, "notify", "test", "chat"]) == 1
    out = capsys.readouterr().out
    assert "chat: json://127.0.0.1:" in out and "FAILED" in out
    assert "CHATSECRET" not in out
    assert main(["-c", config, "notify", "test", "nosuch"]) == 2
    assert "no route named 'nosuch'" in capsys.readouterr().err


def test_silences_are_added_listed_and_lifted_with_who_when_why(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = setup(tmp_path, MAIL_DOWN)
    monkeypatch.setenv("SUDO_USER", "alice")
    assert main(["-c", config, "silence", "add", "--rule", "wall.*", "--route", "chat",
                 "--for", "2h", "--reason", "moving the NAS"]) == 0
    assert "silence #1: rule wall.* on route chat until" in capsys.readouterr().out
    assert main(["-c", config, "silence", "add", "--rule", "auth.*", "--for", "30m",
                 "--reason", "pen test"]) == 0
    capsys.readouterr()
    assert main(["-c", config, "silence", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2
    assert listed[0].startswith("#1  wall.*  route=chat  ")
    assert listed[0].endswith("active  by alice: moving the NAS")
    assert "route=*" in listed[1]
    assert main(["-c", config, "silence", "rm", "1"]) == 0
    assert main(["-c", config, "silence", "rm", "1"]) == 2  # already lifted
    capsys.readouterr()
    assert main(["-c", config, "silence", "list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["-c", config, "silence", "list", "--all"]) == 0
    assert "lifted" in capsys.readouterr().out
    store = Store(tmp_path / "w.db")
    ensure_schema(store.db)
    [first, _] = list_silences(store.db)
    store.close()
    assert (first.created_by, first.reason, first.removed_by) == ("alice", "moving the NAS",
                                                                  "alice")
    assert first.ends - first.starts == 2 * 3600 * 1_000_000


def test_a_silence_needs_a_known_route_and_a_duration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = setup(tmp_path, MAIL_DOWN)
    assert main(["-c", config, "silence", "add", "--rule", "x", "--route", "pager",
                 "--for", "2h", "--reason", "r"]) == 2
    assert main(["-c", config, "silence", "add", "--rule", "x", "--for", "soon",
                 "--reason", "r"]) == 2
    assert "bad duration" in capsys.readouterr().err


def test_notify_status_counts_deliveries_per_route_and_shows_failures_masked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.sinks.notify_outbox import OutboxRow, enqueue, record_result

    config = setup(tmp_path, MAIL_DOWN)
    store = Store(tmp_path / "w.db")
    ensure_schema(store.db)
    with store.transaction():
        enqueue(store.db, [OutboxRow.new("chat", "alert", f"a{i}", None, [], 0, 1, "t", "b")
                           for i in range(3)])
        record_result(store.db, "a0@chat", "failed", 2,
                      "json://127.0.0.1/…: refused (token CHATSECRET)", [])
    store.close()
    assert main(["-c", config, "notify", "status"]) == 0
    out = capsys.readouterr().out
    [chat] = [line for line in out.splitlines() if line.startswith("chat ")]
    assert chat.split() == ["chat", "2", "0", "1", "0", "0"]
    assert "failed alert a0 → chat" in out and "CHATSECRET" not in out
