"""Example configs composed from the schema's per-key examples.

Keys that exclude each other (`url` or `urls`; an API key or a password) cannot
all be in one file, so there are `variant_count()` documents: document n takes
alternative n (modulo their number) of every choice, and together they use
every example. The reference shows document 0; the tests load them all.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from monitor.config_schema.model import NOTHING, Key, Section, sections


def variant_count(root: Section) -> int:
    return max((len(c.groups) for s in sections(root) for c in s.one_of), default=1)


def compose(section: Section, alt: int = 0) -> Any:
    """The example value of a whole section."""
    if section.kind == "names":
        [key] = section.keys
        value = dict(example_of(key))
        if key.section is not None:
            value[section.entry] = compose(key.section, alt)
        return value
    if section.kind == "list":
        if not section.variants:
            return [_mapping(section, alt)]
        # every common key in the first item only: a second `name: x` would clash
        return [variant_item(section, v.name, alt, every_key=not i)
                for i, v in enumerate(section.variants)]
    return _mapping(section, alt)


def variant_item(section: Section, type_: str, alt: int = 0,
                 every_key: bool = False) -> dict[str, Any]:
    """One list item of type `type_`: its own keys, and of the keys common to all
    types the required ones (all of them with `every_key`)."""
    return _mapping(section.variant(type_), alt, None if every_key else section, type_)


def example_of(key: Key, alt: int = 0) -> Any:
    """A fresh copy: a caller may change its document without changing the schema."""
    if key.example is not NOTHING:
        return copy.deepcopy(key.example)
    assert key.section is not None, f"{key.name} has neither an example nor keys"
    return compose(key.section, alt)


def _mapping(section: Section, alt: int, common: Section | None = None,
             type_: str | None = None) -> dict[str, Any]:
    chosen: set[str] = set()
    alternative: set[str] = set()
    for choice in section.one_of:
        chosen |= set(choice.groups[alt % len(choice.groups)])
        alternative |= {k for group in choice.groups for k in group}
    out: dict[str, Any] = {}
    for key in section.keys:
        if key.name in alternative - chosen:
            continue
        if common is not None and key.name in common.allowed and not key.required:
            continue
        out[key.name] = type_ if key.name == "type" and type_ else example_of(key, alt)
    return out


def document(root: Section, alt: int = 0) -> dict[str, Any]:
    value = compose(root, alt)
    assert isinstance(value, dict)
    return value


class _Dumper(yaml.SafeDumper):
    """YAML as a person writes it: mappings as blocks, short lists on one line, no
    anchors, and times quoted (unquoted, `9:00` is a number in YAML 1.1)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # list items indented under their key


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if ":" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flat = dumper.default_flow_style is True or all(not isinstance(v, dict | list)
                                                    for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


def to_yaml(value: Any) -> str:
    """Block-style YAML (key order kept, Chinese as is)."""
    return str(yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                         default_flow_style=False, width=88))


def inline(value: Any) -> str:
    """One value as flow-style YAML, for a table cell."""
    text = yaml.dump(value, Dumper=_Dumper, allow_unicode=True, default_flow_style=True,
                     sort_keys=False, width=10_000)
    return str(text).strip().removesuffix("...").strip()
