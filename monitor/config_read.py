"""Located readers for the values of wallwatch.yaml: every error names file:line:col.

All the section parsers (config.py, calendar.py, sinks/es_config.py,
sinks/notify_config.py, assignments/settings.py) read through these, so a
value of one kind is checked the same way, and reported in the same words,
wherever it is written. The keys a mapping may hold come from the schema
(monitor/config_schema/), which is also what `wallwatch config docs` renders:
a key the reader accepts is a key the reference documents.

This module imports nothing of the config itself, so calendar.py can use it
although config.py imports calendar.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Protocol

from monitor.durations import parse_duration
from monitor.errors import ConfigError
from monitor.yamlloc import YDict, YList


class Keys(Protocol):
    """What a reader needs of a schema section: the keys it allows and requires."""

    @property
    def allowed(self) -> frozenset[str]: ...

    @property
    def required(self) -> frozenset[str]: ...


def err(node: YDict | YList, key: Any, message: str, hint: str | None = None) -> ConfigError:
    """An error located at the value of `key` (a list index for a YList)."""
    line, col = node.where(key)
    return ConfigError(message, node.path, line, col, hint)


def check_keys(node: YDict, allowed: Iterable[str], required: Iterable[str],
               what: str) -> None:
    allowed = set(allowed)
    for key in node:
        if key not in allowed:
            line, col = node.where_key(key)
            raise ConfigError(
                f"unknown key '{key}' in {what}", node.path, line, col,
                f"expected one of: {', '.join(sorted(allowed))}",
            )
    for key in sorted(set(required) - set(node)):
        raise ConfigError(f"{what} needs '{key}'", node.path, *node.pos)


def check_section(node: YDict, keys: Keys, what: str) -> None:
    """check_keys with the allowed and required keys of a schema section."""
    check_keys(node, keys.allowed, keys.required, what)


def empty_at(parent: YDict, key: str) -> YDict:
    """An empty mapping located where `key` would be, so errors about a missing
    value (a required key, a default that does not fit) still point somewhere."""
    node = YDict()
    node.path, node.pos, node.key_pos, node.val_pos = parent.path, parent.where(key), {}, {}
    return node


def sub(parent: YDict, key: str, keys: Keys | None, what: str | None = None) -> YDict:
    """The mapping under `key` (empty when absent), its keys checked against the
    schema section `keys`; None allows any key (a table of names, like `staff`)."""
    node = parent.get(key)
    if node is None:
        node = empty_at(parent, key)
    if not isinstance(node, YDict):
        raise err(parent, key, f"'{key}' must be a mapping")
    if keys is not None:
        check_section(node, keys, what or key)
    return node


def string(node: YDict, key: str, default: str | None = None) -> str:
    value = node.get(key, default)
    if not isinstance(value, str) or not value:
        raise err(node, key, f"'{key}' must be a non-empty string")
    return value


def opt_string(node: YDict, key: str) -> str | None:
    return string(node, key) if key in node else None


def str_list(node: YDict, key: str) -> tuple[str, ...]:
    """A list of strings; one value alone stands for a list of one. Numbers are
    taken as their text: client codes and tags may well be all digits. A boolean
    is refused: it is what YAML makes of an unquoted client code like `no`."""
    value = node.get(key, [])
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise err(node, key, f"'{key}' must be a list of strings")
    if any(isinstance(v, bool) for v in value):  # YAML 1.1 reads yes/no/on/off as booleans
        raise err(node, key, f"'{key}' must be a list of strings",
                  "quote yes, no, on and off: unquoted, YAML reads them as true or false")
    return tuple(str(v) for v in value)


def boolean(node: YDict, key: str, default: bool) -> bool:
    value = node.get(key, default)
    if not isinstance(value, bool):
        raise err(node, key, f"'{key}' must be true or false")
    return value


def whole(node: YDict, key: str, value: Any, low: int, high: int | None = None) -> int:
    """`value` (read from node[key] by the caller) as an int within [low, high]."""
    if (isinstance(value, bool) or not isinstance(value, int) or value < low
            or (high is not None and value > high)):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise err(node, key, f"'{key}' must be a whole number {bounds}")
    return value


def duration(node: YDict, key: str, default: timedelta, *, positive: bool = False,
             at_least: timedelta | None = None) -> timedelta:
    """A duration like 90s, 15m, 24h, 7d; `positive` refuses 0s."""
    if key not in node:
        return default
    try:
        value = parse_duration(node[key])
    except ValueError as exc:
        raise err(node, key, str(exc)) from None
    if positive and value <= timedelta(0):
        raise err(node, key, f"'{key}' must be longer than 0s")
    if at_least is not None and value < at_least:
        raise err(node, key, f"'{key}' must be at least {at_least.total_seconds():g}s")
    return value


def choice(node: YDict, key: str, choices: Iterable[str], default: str) -> str:
    choices = tuple(choices)
    value = node.get(key, default)
    if value not in choices:
        raise err(node, key, f"'{key}' must be one of: {', '.join(choices)}")
    return str(value)
