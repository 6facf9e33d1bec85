"""The `elasticsearch:` section: defaults, secrets from files and the environment
(masked everywhere), and mistakes reported with file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.sinks.es_config import EsConfig, Secret, parse_es_config
from monitor.sinks.es_templates import stream_name


def section(tmp_path: Path, text: str) -> EsConfig | None:
    path = tmp_path / "wallwatch.yaml"
    path.write_text(f"timezone: UTC\nstore: {{path: {tmp_path / 'w.db'}}}\n{text}")
    return parse_es_config(load_config(path))


def error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        section(tmp_path, text)
    return caught.value


def test_no_section_means_no_shipper(tmp_path: Path) -> None:
    assert section(tmp_path, "") is None


def test_defaults_are_safe_and_documented(tmp_path: Path) -> None:
    cfg = section(tmp_path, "elasticsearch: {url: 'https://es1:9200'}\n")
    assert cfg == EsConfig(urls=("https://es1:9200",))
    assert (cfg.namespace, cfg.verify, cfg.retention_days) == ("default", True, 180)
    assert stream_name("events", cfg.namespace) == "logs-wallwatch.events-default"


def test_every_key_is_read(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "pw").write_text("hunter2-hunter2\n")
    (tmp_path / "pw").chmod(0o600)
    cfg = section(tmp_path, """elasticsearch:
  urls: [https://es1:9200, https://es2:9200]
  namespace: firm_a
  auth: {username: wallwatch, password_file: pw}
  ca_file: ca.pem
  verify: false
  batch: {max_events: 1000, max_bytes: 2mb}
  retention_days: 365
  timeout: 10s
  backoff: {initial: 1s, max: 2m}
  disk_high_water: 80%
  compress: true
""")
    assert cfg is not None
    assert cfg.urls == ("https://es1:9200", "https://es2:9200")
    assert (cfg.namespace, cfg.ca_file, cfg.verify) == ("firm_a", str(tmp_path / "ca.pem"), False)
    assert (cfg.max_events, cfg.max_bytes, cfg.retention_days) == (1000, 2 * 1024**2, 365)
    assert (cfg.timeout, cfg.backoff_initial, cfg.backoff_max) == (10.0, 1.0, 120.0)
    assert (cfg.disk_high_water, cfg.compress) == (80.0, True)
    assert cfg.auth.username == "wallwatch" and cfg.auth.password == Secret("hunter2-hunter2")


def test_secrets_come_from_files_or_the_environment_and_never_show(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WW_TEST_KEY", "c2VjcmV0LWFwaS1rZXk=")
    cfg = section(tmp_path, "elasticsearch: {url: 'http://es:9200',"
                            " auth: {api_key_env: WW_TEST_KEY}}\n")
    assert cfg is not None and cfg.auth.api_key is not None
    assert cfg.auth.api_key.reveal() == "c2VjcmV0LWFwaS1rZXk="
    for shown in (repr(cfg), str(cfg), repr(cfg.auth), f"{cfg.auth.api_key}"):
        assert "c2VjcmV0LWFwaS1rZXk=" not in shown
    assert cfg.auth.origin == "environment variable WW_TEST_KEY"


def test_a_world_readable_secret_file_is_warned_about(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "key").write_text("k3y-k3y-k3y")
    (tmp_path / "key").chmod(0o644)
    section(tmp_path, "elasticsearch: {url: 'http://es:9200', auth: {api_key_file: key}}\n")
    assert "chmod 600" in caplog.text and "k3y-k3y-k3y" not in caplog.text


@pytest.mark.parametrize(("text", "message", "where"), [
    ("elasticsearch: {namespace: x}\n", "needs 'url'", (3, 16)),
    ("elasticsearch: {url: 'https://elastic:pw@es:9200'}\n", "credentials in the URL", (3, 22)),
    ("elasticsearch: {url: 'ftp://es'}\n", "bad URL", (3, 22)),
    ("elasticsearch:\n  url: http://es:9200\n  namespace: Bad-Name\n", "bad namespace", (5, 14)),
    ("elasticsearch:\n  url: http://es:9200\n  auth: {api_key_env: NOPE_NOT_SET_X}\n",
     "NOPE_NOT_SET_X is not set", (5, 23)),
    ("elasticsearch:\n  url: http://es:9200\n  auth: {api_key_file: /nonexistent/k}\n",
     "cannot read /nonexistent/k", (5, 24)),
    ("elasticsearch:\n  url: http://es:9200\n  auth: {username: u}\n",
     "needs 'password_file' or 'password_env'", (5, 9)),
    ("elasticsearch:\n  url: http://es:9200\n  auth: {password_env: HOME}\n",
     "needs 'username'", (5, 9)),
    ("elasticsearch:\n  url: http://es:9200\n  auth: {api_key_env: HOME, username: u,"
     " password_env: HOME}\n", "not both", (5, 23)),
    ("elasticsearch:\n  url: http://es:9200\n  auth: {password: hunter2}\n",
     "unknown key 'password'", (5, 10)),
    ("elasticsearch:\n  url: http://es:9200\n  batch: {max_bytes: 5tb}\n", "bad size", (5, 22)),
    ("elasticsearch:\n  url: http://es:9200\n  ca_file: /nonexistent/ca.pem\n",
     "no CA file", (5, 12)),
    ("elasticsearch:\n  url: http://es:9200\n  verify: maybe\n", "true or false", (5, 11)),
    ("elasticsearch:\n  url: http://es:9200\n  backoff: {initial: 5m, max: 1s}\n",
     "shorter than 'initial'", (5, 31)),
])
def test_mistakes_are_reported_where_they_are(tmp_path: Path, text: str, message: str,
                                             where: tuple[int, int]) -> None:
    exc = error(tmp_path, text)
    assert message in exc.message
    assert (exc.line, exc.col) == where
    assert "hunter2" not in str(exc) and "pw@" not in str(exc)
