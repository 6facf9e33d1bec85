"""The field mapping is data: the shipped file, a config's own file over it
(`sigma: {mappings: FILE}`), and errors in either at file:line:col."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.rules.loader import load_rule_files
from monitor.rules.samples import event_from_fields
from monitor.rules.sigma import configure, parse_settings, settings
from monitor.rules.sigma.mapping import load_mappings, parse_mappings, shipped
from monitor.yamlloc import load_yaml
from tests.daemon_process import write_config

PROCESS_RULE = """title: whoami
id: 8c1f0f8e-5b7d-4f4e-9a0e-3d2c1b0a9f01
logsource: {category: process_creation, product: windows}
detection:
    selection: {Image|endswith: '\\whoami.exe', User|contains: admin}
    condition: selection
"""
OWN_MAPPINGS = """logsources:
  windows-process-creation:
    logsource: {category: process_creation, product: windows}
    when: {event.dataset: windows.security, winlog.event_id: 4688}
    fields:
      Image: winlog.event_data.NewProcessName
      User: [user.name, winlog.event_data.SubjectUserName]
      "*": winlog.event_data.{field}
  windows-security:
    logsource: {product: windows, service: security}
    when: {event.dataset: windows.security}
    fields:
      ShareName: wallwatch.share
"""


@pytest.fixture(autouse=True)
def restore_mappings() -> Iterator[None]:
    saved = settings._active
    yield
    settings._active = saved


def config_with(tmp_path: Path, section: str) -> Config:
    """A config whose raw YAML has a `sigma:` section (until config.py's top-level
    keys include `sigma`, the rest of the config is loaded without it)."""
    path = write_config(tmp_path / "wallwatch.yaml", tmp_path / "s.db", [])
    config = load_config(path)
    text = path.read_text() + section
    path.write_text(text)
    return dataclasses.replace(config, raw=load_yaml(text, str(path), ConfigError))


def test_the_shipped_mapping_reads_native_fields() -> None:
    win = shipped().find(None, "windows", "security")
    linux = shipped().find(None, "Linux", "auditd")  # logsource names ignore case
    assert win is not None and linux is not None
    assert [t.text for t in win.targets("ShareName")] == ["winlog.event_data.ShareName"]
    assert [t.text for t in win.targets("EventID")] == ["winlog.event_id"]
    assert [t.text for t in linux.targets("a3")] == ["process.args[3]", "auditd.data.a3"]
    assert [t.text for t in linux.targets("name")] == ["auditd.paths[*].name",
                                                       "auditd.paths[*].path"]
    assert [t.text for t in linux.targets("type")] == ["auditd.record_types"]
    assert [t.text for t in linux.targets("uid")] == ["auditd.data.uid"]
    assert shipped().find("process_creation", "windows", None) is None


def test_a_configured_mapping_adds_a_logsource_and_replaces_one(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(OWN_MAPPINGS)
    config = config_with(tmp_path, "sigma: {mappings: mine.yaml}\n")
    assert parse_settings(config).mappings == str(tmp_path / "mine.yaml")
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "whoami.yml").write_text(PROCESS_RULE)
    assert load_rule_files([rules_dir]) == ([], [])  # skipped: no mapping yet
    configure(config)
    [rule] = load_rule_files([rules_dir])[0]
    hit = event_from_fields({"event.dataset": "windows.security", "winlog.event_id": 4688,
                             "winlog.event_data.NewProcessName": "C:\\W\\System32\\whoami.exe",
                             "winlog.event_data.SubjectUserName": "Administrator"})
    assert rule.when.test(hit)
    assert not rule.when.test(event_from_fields({**{"event.dataset": "windows.security",
                                                    "winlog.event_id": 4624}}))
    security = settings.active_mappings().find(None, "windows", "security")
    assert security is not None
    assert [t.text for t in security.targets("ShareName")] == ["wallwatch.share"]
    assert security.default == ()  # replaced whole: no `*` in the configured one


@pytest.mark.parametrize(("text", "line", "col", "words"), [
    ("logsources:\n  x:\n    logsource: {product: a}\n    fields: {A: no.such.field}\n", 4, 17,
     "unknown event field 'no.such.field'"),
    ("logsources:\n  x:\n    logsource: {product: a}\n    fields: {A: 'b[x]'}\n", 4, 17,
     "is not a field"),
    ("logsources:\n  x:\n    logsource: {brand: a}\n    fields: {A: user.name}\n", 3, 16,
     "needs logsource"),
    ("logsources:\n  x:\n    logsource: {product: a}\n    field: {A: user.name}\n", 4, 5,
     "unknown key 'field'"),
    ("logsources:\n  x:\n    logsource: {product: a}\n    when: {user.nam: x}\n"
     "    fields: {A: user.name}\n", 4, 12, "unknown field 'user.nam'"),
    ("logsources:\n  x:\n    logsource: {product: a}\n    fields: {A: '{field}'}\n", 4, 17,
     "placeholders"),
    ("nope: 1\n", 1, 1, "needs `logsources:`"),
])
def test_mapping_file_errors_name_the_place(tmp_path: Path, text: str, line: int, col: int,
                                            words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_mappings(text, "m.yaml")
    assert words in info.value.message, info.value
    assert (info.value.path, info.value.line, info.value.col) == ("m.yaml", line, col), info.value


def test_config_section_errors_name_the_place(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(config_with(tmp_path, "sigma: {mapping: x.yaml}\n"))
    assert "unknown key 'mapping' in sigma" in info.value.message and info.value.col == 9
    with pytest.raises(ConfigError) as info:
        configure(config_with(tmp_path, "sigma: {mappings: missing.yaml}\n"))
    assert "cannot read Sigma mapping file" in info.value.message
    with pytest.raises(ConfigError) as info:
        parse_settings(config_with(tmp_path, "sigma: [x]\n"))
    assert "'sigma' must be a mapping" in info.value.message


def test_a_config_without_sigma_uses_the_shipped_mapping(tmp_path: Path) -> None:
    config = config_with(tmp_path, "")
    assert parse_settings(config).mappings is None
    assert configure(config) is shipped()
    assert load_mappings(Path(settings.__file__).parent / "mappings.yaml") == shipped()
