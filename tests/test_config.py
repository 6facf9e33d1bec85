"""wallwatch.yaml: typed config, and errors that say file:line:col."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError

GOOD = """\
host: {name: fs01}
timezone: Asia/Shanghai
store: {path: data/w.db, retention: 90d}
sources:
  - type: samba
    path: /var/log/samba/audit.log
    prefix: "%u|%I|%m|%S"
clients:
  paths: ["/srv/share/clients/{client}/**"]
  archived: [oldco]
staff:
  alice: [acme]
  carol: {clients: ["*"], except: [globex], left: 2026-06-30}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wallwatch.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


def test_a_good_config_loads_into_typed_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.host_name == "fs01"
    assert str(config.timezone) == "Asia/Shanghai"
    assert config.store.path == str(tmp_path / "data/w.db")  # relative to the config file
    assert config.store.retention.days == 90
    [src] = config.sources
    assert (src.type, src.path, src.options["prefix"]) == ("samba", "/var/log/samba/audit.log",
                                                          "%u|%I|%m|%S")
    assert config.archived_clients == {"oldco"}
    assert config.staff["alice"].is_assigned("acme")
    assert not config.staff["alice"].is_assigned("globex")
    carol = config.staff["carol"]
    assert carol.is_assigned("acme") and not carol.is_assigned("globex")
    assert carol.left == date(2026, 6, 30)


def test_unknown_key_names_its_line_and_column_and_the_allowed_keys(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("retention: 90d", "retension: 90d"))
    assert (err.line, err.col) == (3, 26)
    assert "unknown key 'retension'" in str(err)
    assert "retention" in (err.hint or "")
    assert str(err).startswith(f"{tmp_path / 'wallwatch.yaml'}:3:26:")


def test_bad_duration_is_located(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("90d", "ninety days"))
    assert (err.line, err.col) == (3, 37)
    assert "bad duration" in err.message


def test_duplicate_key_is_an_error_not_a_silent_overwrite(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD + "  alice: [globex]\n")
    assert err.line == 14 and "duplicate key 'alice'" in err.message


def test_unknown_timezone_is_located(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("Asia/Shanghai", "Asia/Beijing"))
    assert (err.line, err.col) == (2, 11)


def test_unknown_source_type_lists_the_known_ones(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("type: samba", "type: smb"))
    assert err.line == 5 and "samba" in (err.hint or "")


def test_bad_source_option_value_is_reported(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace('prefix: "%u|%I|%m|%S"', "format: xml"))
    assert err.line == 5 and "format" in err.message


def test_client_pattern_without_placeholder_is_rejected(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("{client}/**", "acme/**"))
    assert err.line == 9 and "{client}" in err.message


def test_staff_departure_must_be_a_date(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("2026-06-30", "last summer"))
    assert err.line == 13 and "date" in err.message


def test_broken_yaml_is_located(tmp_path: Path) -> None:
    err = error_of(tmp_path, "store: {path: [\n")
    assert err.line is not None and "not valid YAML" in err.message


def test_empty_and_non_mapping_configs_are_rejected(tmp_path: Path) -> None:
    assert "empty" in error_of(tmp_path, "").message
    assert "mapping" in error_of(tmp_path, "- a\n- b\n").message


def test_yaml_cannot_build_python_objects(tmp_path: Path) -> None:
    err = error_of(tmp_path, "host: !!python/object/apply:os.system ['echo hi']\n")
    assert err.line == 1


def test_the_shipped_example_configs_load(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent / "deploy" / "examples"
    for name in ("dev.yaml", "firm.yaml"):
        assert load_config(root / name).sources
