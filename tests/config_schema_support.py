"""Helpers for the schema tests: read a config through every section reader, the
files and environment the schema's examples name, and documents built from the
schema (minimal ones, and where in a document a schema path lands)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monitor import config_schema as schema
from monitor.assignments.settings import parse_assignments
from monitor.config import load_config
from monitor.config_schema.examples import example_of, to_yaml
from monitor.config_schema.model import NOTHING, Key, Section
from monitor.rules.sigma.settings import mappings_for, parse_settings
from monitor.sinks.es_config import parse_es_config
from monitor.sinks.notify_config import parse_notify

# What the examples' relative paths name, relative to the config file.
EXAMPLE_FILES = {
    "secrets/es-api-key": "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==\n",
    "secrets/es-password": "choose-one\n",
    "es-ca.crt": "-----BEGIN CERTIFICATE-----\n",
    "secrets/it-wecom.url": "# the IT team's hook\njson://127.0.0.1:9/hook\n",
    "sigma-mappings.yaml": "logsources: {}\n",
}
EXAMPLE_DIRS = ("templates",)
EXAMPLE_ENV = {
    "WALLWATCH_ES_API_KEY": "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
    "WALLWATCH_ES_PASSWORD": "choose-one",
    "WALLWATCH_WECOM_URL": "json://127.0.0.1:9/wecom",
    "WALLWATCH_LDAP_PW": "secret",
}


def provide_examples(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files and environment variables the schema's examples refer to."""
    for name, text in EXAMPLE_FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        os.chmod(path, 0o600)
    for name in EXAMPLE_DIRS:
        (folder / name).mkdir(exist_ok=True)
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)


def read_everything(path: Path) -> tuple[Any, ...]:
    """The config as every reader sees it (the parsed values, without the raw YAML)."""
    config = load_config(path)
    return (replace(config, raw={}), parse_es_config(config), parse_notify(config),
            parse_assignments(config), mappings_for(parse_settings(config)))


def write(folder: Path, doc: Any) -> Path:
    path = folder / "wallwatch.yaml"
    path.write_text(doc if isinstance(doc, str) else to_yaml(doc), encoding="utf-8")
    return path


# --- documents built from the schema -----------------------------------------------

Path_ = tuple[str, ...]


def scopes(section: Section, path: Path_ = ()) -> list[tuple[Path_, Section]]:
    """Every mapping the readers check keys of: where it is, and its schema section."""
    if section.kind == "names":
        entry = section.keys[0].section
        return scopes(entry, (*path, "*")) if entry is not None else []
    if section.kind == "list":
        items = ([(f"[{v.name}]", section.variant(v.name)) for v in section.variants]
                 or [("[]", section)])
        out: list[tuple[Path_, Section]] = []
        for segment, item in items:
            out += _mapping_scopes(item, (*path, segment))
        return out
    return _mapping_scopes(section, path)


def _mapping_scopes(section: Section, path: Path_) -> list[tuple[Path_, Section]]:
    out = [(path, replace(section, kind="mapping", variants=()))]
    for key in section.keys:
        if key.section is not None:
            out += scopes(key.section, (*path, key.name))
    return out


def nodes_at(doc: Any, path: Path_) -> list[Any]:
    """The values a schema path names in a document (several through lists and names)."""
    nodes = [doc]
    for segment in path:
        found: list[Any] = []
        for node in nodes:
            if segment == "*" and isinstance(node, dict):
                found += list(node.values())
            elif segment.startswith("[") and isinstance(node, list):
                wanted = segment[1:-1]
                found += [item for item in node if isinstance(item, dict | str) and (
                    not wanted or (isinstance(item, dict) and item.get("type") == wanted))]
            elif isinstance(node, dict) and segment in node:
                found.append(node[segment])
        nodes = found
    return nodes


def minimal(section: Section, type_: str | None = None, avoid: str = "") -> Any:
    """The least a section needs: its required keys, with their examples. Of keys
    of which at least one is needed, the first that is not `avoid`."""
    if section.kind == "names":
        return {}
    if section.kind == "list":
        return [minimal_item(section, type_, avoid)]
    return _minimal_mapping(section, avoid)


def minimal_item(section: Section, type_: str | None, avoid: str = "") -> dict[str, Any]:
    if not section.variants:
        return _minimal_mapping(section, avoid)
    name = type_ or section.variants[0].name
    return {**_minimal_mapping(section.variant(name), avoid), "type": name}


def _minimal_mapping(section: Section, avoid: str = "") -> dict[str, Any]:
    first = next((k for k in section.any_of if k != avoid), None)
    need = set(section.required) | ({first} if first else set())
    for choice in section.one_of:
        if choice.required:
            need |= set(choice.groups[0])
    return {k.name: _minimal_value(k, avoid) for k in section.keys if k.name in need}


def _minimal_value(key: Key, avoid: str = "") -> Any:
    if key.example is NOTHING and key.section is not None:
        return minimal(key.section, avoid=avoid)
    return example_of(key)


def with_key(path: Path_, value: Any = NOTHING) -> dict[str, Any]:
    """A minimal document that reaches `path` and, unless value is NOTHING, sets it
    (and the keys that only go with that value)."""
    doc: dict[str, Any] = {}
    node: Any = doc
    section = schema.ROOT
    avoid = path[-1] if path else ""
    for i, segment in enumerate(path):
        last = i == len(path) - 1
        if segment == "*":
            entry = section.keys[0].section
            assert entry is not None
            node = node.setdefault("x", _minimal_mapping(entry, avoid))
            section = entry
        elif segment.startswith("["):
            wanted = segment[1:-1] or None
            item = next((it for it in node if isinstance(it, dict)
                         and (wanted is None or it.get("type") == wanted)), None)
            if item is None:
                item = minimal_item(section, wanted, avoid)
                node.append(item)
            node = item
            section = section.variant(wanted) if wanted else section
        elif last:
            if value is not NOTHING:
                node[segment] = value
                node.update({k.name: example_of(k) for k in section.keys
                             if k.only_with == (segment, value)})
        else:
            key = section.key(segment)
            assert key.section is not None, f"{segment} has no keys below it"
            if segment not in node:
                node[segment] = ([] if key.section.kind == "list"
                                 else minimal(key.section, avoid=avoid))
            node = node[segment]
            section = key.section
    return doc
