"""The shared readers (monitor/config_read.py), seen through the config: the cases
where one reader for all sections changed what a section accepts or says."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.sinks.notify_config import parse_notify


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wallwatch.yaml"
    path.write_text(text)
    return path


def test_an_unquoted_no_in_a_list_of_client_codes_is_an_error_that_says_to_quote_it(
        tmp_path: Path) -> None:
    # YAML 1.1 reads `no` as false: taken as the text "False" it would match no client
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "clients:\n  archived: [acme, no]\n"))
    assert (info.value.line, info.value.col) == (2, 13)
    assert "list of strings" in info.value.message
    assert "quote" in (info.value.hint or "")


def test_a_client_code_written_as_a_number_counts_as_its_text(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "clients:\n  archived: 2024\n"
                                         "staff:\n  bob: {clients: 1001}\n"))
    assert config.archived_clients == {"2024"}
    assert config.staff["bob"].is_assigned("1001")


def test_a_single_client_pattern_without_a_placeholder_is_a_located_error(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "clients:\n  paths: /srv/share/acme\n"))
    assert (info.value.line, info.value.col) == (2, 10)
    assert "{client}" in info.value.message


def test_a_zero_wait_in_notify_says_the_unit(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "notify:\n  incident: {gap: 0s}\n  routes:\n"
                                         "    - {name: a, urls: ['json://127.0.0.1:9/x']}\n"))
    with pytest.raises(ConfigError) as info:
        parse_notify(config)
    assert info.value.message == "'gap' must be longer than 0s"
    assert info.value.line == 2


def test_a_misspelt_key_in_a_notify_subsection_names_the_whole_section(
        tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "notify:\n  retry: {atempts: 3}\n  routes:\n"
                                         "    - {name: a, urls: ['json://127.0.0.1:9/x']}\n"))
    with pytest.raises(ConfigError) as info:
        parse_notify(config)
    assert info.value.message == "unknown key 'atempts' in notify.retry"
    assert info.value.hint == "expected one of: attempts, backoff, max_backoff"
