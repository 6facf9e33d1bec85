"""The schema and the readers agree: every key a reader accepts is documented,
every documented key is accepted, required keys are required, documented defaults
and allowed values are the readers' own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor import calendar
from monitor import config_schema as schema
from monitor.config_schema.examples import document, example_of, variant_count
from monitor.config_schema.model import NOTHING, Key, walk
from monitor.errors import ConfigError
from monitor.sources import SOURCES, fswatch
from monitor.sources.base import ParserContext
from tests.config_schema_support import (
    nodes_at,
    provide_examples,
    read_everything,
    scopes,
    with_key,
    write,
)

UNDOCUMENTED = "zz_undocumented"
SCOPES = scopes(schema.ROOT)


def _scope_id(scope: tuple[tuple[str, ...], Any]) -> str:
    return ".".join(scope[0]) or "<top>"


def _first_dict(path: tuple[str, ...]) -> tuple[dict[str, Any], int]:
    """The first mapping at `path` in one of the example documents, and which one."""
    for alt in range(variant_count(schema.ROOT)):
        doc = document(schema.ROOT, alt)
        for node in nodes_at(doc, path):
            if isinstance(node, dict):
                return node, alt
    raise AssertionError(f"no example document has a mapping at {path}")


@pytest.mark.parametrize("scope", SCOPES, ids=_scope_id)
def test_a_key_the_schema_does_not_document_is_rejected_with_the_documented_keys(
        scope: tuple[tuple[str, ...], schema.Section], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, section = scope
    provide_examples(tmp_path, monkeypatch)
    _, alt = _first_dict(path)
    doc = document(schema.ROOT, alt)
    node = next(n for n in nodes_at(doc, path) if isinstance(n, dict))
    node[UNDOCUMENTED] = 1
    with pytest.raises(ConfigError) as info:
        read_everything(write(tmp_path, doc))
    assert f"unknown key '{UNDOCUMENTED}'" in info.value.message
    # the reader's own list of allowed keys is exactly what the reference documents
    assert info.value.hint == f"expected one of: {', '.join(sorted(section.allowed))}"


REQUIRED = [(path, key) for path, section in SCOPES for key in sorted(section.required)]


@pytest.mark.parametrize(("path", "key"), REQUIRED,
                         ids=[".".join((*p, k)) for p, k in REQUIRED])
def test_a_key_documented_as_required_is_required(path: tuple[str, ...], key: str,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    provide_examples(tmp_path, monkeypatch)
    _, alt = _first_dict(path)
    doc = document(schema.ROOT, alt)
    node = next(n for n in nodes_at(doc, path) if isinstance(n, dict))
    del node[key]
    with pytest.raises(ConfigError) as info:
        read_everything(write(tmp_path, doc))
    assert key in info.value.message


# source options are the sources' own: see the next test
DEFAULTS = [(path, key) for path, key in walk(schema.ROOT)
            if key.has_default and path[:1] != ("sources",)]


@pytest.mark.parametrize(("path", "key"), DEFAULTS, ids=[".".join(p) for p, _ in DEFAULTS])
def test_writing_the_documented_default_reads_the_same_as_leaving_the_key_out(
        path: tuple[str, ...], key: Key, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    provide_examples(tmp_path, monkeypatch)
    without = read_everything(write(tmp_path, with_key(path)))
    explicit = read_everything(write(tmp_path, with_key(path, key.default)))
    assert explicit == without


def _state(obj: Any, depth: int = 0) -> Any:
    """A parser's settings, for comparing two parsers made with different options."""
    if depth < 4 and hasattr(obj, "__dict__") and not isinstance(obj, type):
        return {k: _state(v, depth + 1) for k, v in vars(obj).items() if k != "ctx"}
    return obj


# sources that are not log parsers: how their options are read
RUNNER_OPTIONS = {"fswatch": lambda o: (fswatch.rescan_interval(o), fswatch.exclude_patterns(o))}
SOURCE_DEFAULTS = [(path[1][1:-1], key) for path, key in walk(schema.ROOT)
                   if path[:1] == ("sources",) and len(path) == 3 and key.has_default]


@pytest.mark.parametrize(("kind", "key"), SOURCE_DEFAULTS,
                         ids=[f"{k}.{key.name}" for k, key in SOURCE_DEFAULTS])
def test_a_source_reads_its_documented_default_as_if_the_option_were_absent(
        kind: str, key: Key) -> None:
    spec = SOURCES[kind]
    assert spec.check_options({key.name: key.default}) is None

    def settings(options: dict[str, Any]) -> Any:
        if spec.make_parser is None:
            assert kind in RUNNER_OPTIONS, f"say how {kind} reads its options"
            return RUNNER_OPTIONS[kind](options)
        ctx = ParserContext("s", "/x", ZoneInfo("UTC"), options, lambda: datetime.now(UTC))
        return _state(spec.make_parser(ctx))

    assert settings({key.name: key.default}) == settings({})


def test_every_registered_source_type_and_option_is_documented_and_nothing_else() -> None:
    sources = schema.section("sources")
    assert set(sources.key("type").choices) == set(SOURCES)
    for name, spec in SOURCES.items():
        documented = sources.variant(name).allowed - sources.allowed
        assert documented == spec.options, (
            f"source type {name!r}: options {sorted(spec.options)}, documented "
            f"{sorted(documented)}: document them in monitor/config_schema/sources.py")


def test_the_schema_lists_the_readers_own_allowed_values() -> None:
    assert schema.section("calendar.hours").allowed == {*calendar.WEEKDAYS, "makeup"}
    assert set(schema.section("calendar").key("country").choices) == \
        calendar.SUPPORTED_COUNTRIES


# a variant list repeats its common keys under each type: `type` once is enough
CHOICES = [(path, key) for path, key in walk(schema.ROOT) if key.choices
           and not (key.name == "type" and path[-2] != f"[{key.choices[0]}]")]


@pytest.mark.parametrize(("path", "key"), CHOICES, ids=[".".join(p) for p, _ in CHOICES])
def test_every_documented_value_is_accepted_and_an_undocumented_one_is_not(
        path: tuple[str, ...], key: Key, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    provide_examples(tmp_path, monkeypatch)
    def value(choice: str) -> Any:
        return [choice] if isinstance(example_of(key), list) else choice

    if path[-1] == "type":  # the type picks the item's other keys: vary the whole item
        parent = path[:-1]
        for choice in key.choices:
            doc = with_key((*parent[:-1], f"[{choice}]"))
            read_everything(write(tmp_path, doc))
    else:
        for choice in key.choices:
            read_everything(write(tmp_path, with_key(path, value(choice))))
    with pytest.raises(ConfigError) as info:
        read_everything(write(tmp_path, with_key(path, value("zz-undocumented"))))
    assert "zz-undocumented" in info.value.message or path[-1] in info.value.message


def test_each_key_is_documented_with_a_type_a_description_and_an_example() -> None:
    for path, key in walk(schema.ROOT):
        where = ".".join(path) or key.name
        assert key.type and key.doc.endswith("."), where
        assert "\n" not in key.doc, f"{where}: one line"
        assert key.example is not NOTHING or key.section is not None, f"{where}: no example"
        assert not (key.required and key.has_default), f"{where}: required with a default"
