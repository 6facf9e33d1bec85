"""The README's YAML examples are what Wallwatch reads: the rule passes `rules check`,
the config sections load with the same readers as the daemon's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.rules.loader import load_rules
from monitor.sinks.es_config import parse_es_config
from monitor.sinks.notify_config import parse_notify

README = Path(__file__).resolve().parents[2] / "README.md"


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def config_with(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "w.yaml"
    path.write_text(f"store: {{path: {tmp_path}/w.db}}\nsources: []\n{block}", encoding="utf-8")
    return path


def test_the_readme_has_its_examples() -> None:
    assert [b.split(":", 1)[0] for b in yaml_blocks()] == ["id", "notify", "elasticsearch"]


def test_the_example_rule_loads(tmp_path: Path) -> None:
    [rule] = [b for b in yaml_blocks() if b.startswith("id:")]
    (tmp_path / "r.yaml").write_text(rule, encoding="utf-8")
    assert [r.id for r in load_rules([tmp_path / "r.yaml"])] == ["wall.cross-client-access"]


def test_the_notify_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLWATCH_WECOM_URL", "json://127.0.0.1:9/hook")
    [block] = [b for b in yaml_blocks() if b.startswith("notify:")]
    notify = parse_notify(load_config(config_with(tmp_path, block)))
    assert notify is not None and [r.name for r in notify.routes] == ["it-mail",
                                                                      "partners-wecom"]


def test_the_elasticsearch_example_loads(tmp_path: Path) -> None:
    [block] = [b for b in yaml_blocks() if b.startswith("elasticsearch:")]
    # the secret file it names, in place for the test
    secret = re.search(r"api_key_file: (\S+)", block)
    if secret:
        key = tmp_path / "es-api-key"
        key.write_text("a2V5\n")
        key.chmod(0o600)
        block = block.replace(secret.group(1), str(key))
    block = re.sub(r"ca_file: \S+", f"ca_file: {tmp_path / 'ca.pem'}", block)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    cfg = parse_es_config(load_config(config_with(tmp_path, block)))
    assert cfg is not None and cfg.urls[0].startswith("https://")
