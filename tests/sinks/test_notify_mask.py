"""Secrets inside apprise URLs never reach a screen, a log line or the store."""

from __future__ import annotations

import logging

import pytest

from monitor.sinks.notify_mask import Masker, display_url, install_log_masking

URLS = [
    "wecombot://WECOMKEY1234567890",
    "dingtalk://DINGSECRET99@DINGTOKEN77/",
    "slack://TOKENA123/TOKENB456/TOKENC789/#general",
    "mailto://alice:MAILPASSWORD@smtp.firm.example:465?to=it@firm.example",
    "json://hooks.firm.example/notify/PATHTOKEN42?apikey=QUERYKEY99",
    "tgram://123456789:TGBOTTOKEN/987654",
]
SECRETS = ["WECOMKEY1234567890", "DINGSECRET99", "DINGTOKEN77", "TOKENA123", "TOKENB456",
           "TOKENC789", "MAILPASSWORD", "PATHTOKEN42", "QUERYKEY99", "TGBOTTOKEN"]


def test_display_url_shows_service_and_host_but_no_token() -> None:
    shown = [display_url(u) for u in URLS]
    assert shown[0] == "wecombot://***"
    assert shown[3] == "mailto://***@smtp.firm.example:465/…" or shown[3].startswith(
        "mailto://***@smtp.firm.example:465")
    assert shown[4] == "json://hooks.firm.example/…"
    for text in shown:
        assert not any(secret in text for secret in SECRETS), text


def test_masker_hides_every_fragment_of_a_url_in_free_text() -> None:
    masker = Masker(URLS)
    text = ("POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WECOMKEY1234567890 failed;"
            " auth alice:MAILPASSWORD refused; url json://hooks.firm.example/notify/PATHTOKEN42"
            "?apikey=QUERYKEY99 and %2FTOKENB456; cannot connect to hooks.firm.example")
    masked = masker(text)
    assert not any(secret in masked for secret in SECRETS), masked
    assert "hooks.firm.example" in masked  # a host name is not a secret: errors stay useful


def test_apprise_log_lines_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking(Masker(URLS))
    with caplog.at_level(logging.DEBUG, logger="apprise"):
        logging.getLogger("apprise").warning("cannot reach %s", URLS[2])
        logging.getLogger("apprise").error("token DINGTOKEN77 rejected")
    assert "TOKENA123" not in caplog.text and "DINGTOKEN77" not in caplog.text
    assert caplog.text.count("***") >= 2
