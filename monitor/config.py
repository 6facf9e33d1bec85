"""wallwatch.yaml → typed, immutable config. Every error names file:line:col.

The config describes the firm (clients, staff, timezone) and the host (sources,
store). It is read once and never written to: runtime state lives in the store
and the engine.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.calendar import CalendarConfig, parse_calendar_config
from monitor.durations import parse_duration
from monitor.errors import ConfigError
from monitor.yamlloc import YDict, YList, load_yaml

ALL_CLIENTS = "*"


@dataclass(frozen=True)
class SourceConfig:
    name: str
    type: str
    path: str
    options: Mapping[str, Any]
    line: int = 0
    col: int = 0


@dataclass(frozen=True)
class StaffMember:
    name: str
    clients: frozenset[str]  # may contain ALL_CLIENTS
    excluded: frozenset[str] = frozenset()
    left: date | None = None

    def is_assigned(self, client: str) -> bool:
        if client in self.excluded:
            return False
        return ALL_CLIENTS in self.clients or client in self.clients


@dataclass(frozen=True)
class StoreConfig:
    path: str
    retention: timedelta = timedelta(days=180)


@dataclass(frozen=True)
class MetricsConfig:
    enabled: bool = True
    host: str = "127.0.0.1"  # loopback unless the admin opens it on purpose
    port: int = 9108


@dataclass(frozen=True)
class Config:
    path: str
    host_name: str
    timezone: ZoneInfo
    store: StoreConfig
    sources: tuple[SourceConfig, ...]
    client_paths: tuple[str, ...]
    archived_clients: frozenset[str]
    shares: Mapping[str, str]
    staff: Mapping[str, StaffMember]
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    rules: tuple[str, ...] = ()  # rule files and folders
    lateness: timedelta = timedelta(seconds=10)  # how long rules wait for late events
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _err(node: YDict | YList, key: Any, message: str, hint: str | None = None) -> ConfigError:
    line, col = node.where(key)
    return ConfigError(message, node.path, line, col, hint)


def _map(parent: YDict, key: str, allowed: set[str], required: set[str] = frozenset()) -> YDict:  # type: ignore[assignment]
    node = parent.get(key)
    if node is None:
        node = YDict()
        node.path, node.pos, node.key_pos, node.val_pos = parent.path, parent.where(key), {}, {}
    if not isinstance(node, YDict):
        raise _err(parent, key, f"'{key}' must be a mapping")
    check_keys(node, allowed, required, key)
    return node


def check_keys(node: YDict, allowed: set[str], required: set[str], what: str) -> None:
    for key in node:
        if key not in allowed:
            line, col = node.where_key(key)
            raise ConfigError(
                f"unknown key '{key}' in {what}", node.path, line, col,
                f"expected one of: {', '.join(sorted(allowed))}",
            )
    for key in sorted(required - set(node)):
        raise ConfigError(f"{what} needs '{key}'", node.path, *node.pos)


def _str(node: YDict, key: str, default: str | None = None) -> str:
    value = node.get(key, default)
    if not isinstance(value, str) or not value:
        raise _err(node, key, f"'{key}' must be a non-empty string")
    return value


def _str_list(node: YDict, key: str) -> tuple[str, ...]:
    value = node.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise _err(node, key, f"'{key}' must be a list of strings")
    return tuple(str(v) for v in value)


def _duration(node: YDict, key: str, default: timedelta) -> timedelta:
    if key not in node:
        return default
    try:
        return parse_duration(node[key])
    except ValueError as exc:
        raise _err(node, key, str(exc)) from None


class SourceSpec(Protocol):
    """What the config needs to know of a registered source type."""

    @property
    def options(self) -> frozenset[str]: ...

    @property
    def check_options(self) -> Callable[[Mapping[str, Any]], str | None]: ...


def load_config(path: str | Path, source_types: Mapping[str, SourceSpec] | None = None) -> Config:
    """Read and validate wallwatch.yaml against the registered source types."""
    if source_types is None:
        from monitor.sources import SOURCES

        source_types = SOURCES
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path) from None
    except UnicodeDecodeError:
        raise ConfigError("config is not UTF-8 text", path) from None
    root = load_yaml(text, path, ConfigError)
    if root is None:
        raise ConfigError("config is empty", path, 1, 1)
    if not isinstance(root, YDict):
        raise ConfigError("config must be a mapping of sections", path, 1, 1)
    top = {"host", "timezone", "store", "sources", "clients", "shares", "staff", "rules",
           "calendar", "elasticsearch", "notify", "metrics", "assignments", "sigma"}
    check_keys(root, top, set(), "the config")
    base = Path(path).parent

    host = _map(root, "host", {"name"})
    host_name = str(host.get("name") or socket.gethostname())

    tz_name = root.get("timezone", "Asia/Shanghai")
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise _err(root, "timezone", f"unknown timezone {tz_name!r}",
                   "e.g. Asia/Shanghai") from None

    store_node = _map(root, "store", {"path", "retention"})
    store_path = Path(_str(store_node, "path", "wallwatch.db"))
    store = StoreConfig(
        path=os.path.abspath(store_path if store_path.is_absolute() else base / store_path),
        retention=_duration(store_node, "retention", timedelta(days=180)),
    )

    sources = _sources(root, base, source_types)

    clients = _map(root, "clients", {"paths", "archived"})
    client_paths = _str_list(clients, "paths")
    for i, pattern in enumerate(client_paths):
        if pattern.count("{client}") != 1 or not pattern.startswith("/"):
            raise _err(clients["paths"], i, f"client path pattern {pattern!r} needs one {{client}}",
                       "e.g. /srv/share/clients/{client}/**")

    shares_node = _map(root, "shares", set(root.get("shares") or {}))
    shares = {name: str(v) for name, v in shares_node.items()}

    staff = _staff(root)
    calendar_node = root.get("calendar")
    if calendar_node is not None and not isinstance(calendar_node, YDict):
        raise _err(root, "calendar", "'calendar' must be a mapping")
    calendar = parse_calendar_config(calendar_node, path, timezone=tz)
    rules_node = _map(root, "rules", {"paths", "lateness"})
    rule_paths = tuple(os.path.abspath(p if os.path.isabs(p) else base / p)
                       for p in _str_list(rules_node, "paths"))
    return Config(
        path=path,
        host_name=host_name,
        timezone=tz,
        store=store,
        sources=sources,
        client_paths=client_paths,
        archived_clients=frozenset(_str_list(clients, "archived")),
        shares=shares,
        staff=staff,
        calendar=calendar,
        rules=rule_paths,
        lateness=_duration(rules_node, "lateness", timedelta(seconds=10)),
        metrics=_metrics(root),
        raw=root,
    )


def _sources(root: YDict, base: Path,
             types: Mapping[str, SourceSpec]) -> tuple[SourceConfig, ...]:
    node = root.get("sources")
    if node is None:
        return ()
    if not isinstance(node, YList):
        raise _err(root, "sources", "'sources' must be a list")
    out: list[SourceConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(node):
        if not isinstance(item, YDict):
            raise _err(node, i, "each source must be a mapping with 'type' and 'path'")
        kind = item.get("type")
        if kind not in types:
            raise _err(item, "type", f"unknown source type {kind!r}",
                       f"expected one of: {', '.join(sorted(types))}")
        spec = types[str(kind)]
        check_keys(item, {"type", "path", "name"} | set(spec.options), {"type", "path"},
                   f"source '{kind}'")
        p = Path(_str(item, "path"))
        full = os.path.abspath(p if p.is_absolute() else base / p)
        name = str(item.get("name") or f"{kind}:{full}")
        if name in seen:
            raise _err(item, "name" if "name" in item else "path", f"two sources named {name!r}",
                       "give each source a distinct 'name'")
        seen.add(name)
        options = {k: v for k, v in item.items() if k not in ("type", "path", "name")}
        problem = spec.check_options(options)
        if problem:
            raise ConfigError(f"source '{kind}': {problem}", item.path, *item.pos)
        out.append(SourceConfig(name, str(kind), full, options, *item.pos))
    return tuple(out)


def _metrics(root: YDict) -> MetricsConfig:
    node = _map(root, "metrics", {"enabled", "listen"})
    enabled = node.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _err(node, "enabled", "'enabled' must be true or false")
    listen = str(node.get("listen", "127.0.0.1:9108"))
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise _err(node, "listen", f"bad listen address {listen!r}", "e.g. 127.0.0.1:9108")
    return MetricsConfig(enabled, host.strip("[]"), int(port))


_USER = re.compile(r"^[^\s:/\\]+$")


def _staff(root: YDict) -> dict[str, StaffMember]:
    node = _map(root, "staff", set(root.get("staff") or {}))
    out: dict[str, StaffMember] = {}
    for user, spec in node.items():
        if not _USER.match(user):
            line, col = node.where_key(user)
            raise ConfigError(f"bad user name {user!r}", node.path, line, col)
        excluded: tuple[str, ...] = ()
        if isinstance(spec, YList):  # short form: alice: [acme, globex]
            clients, left = tuple(str(c) for c in spec), None
        elif isinstance(spec, YDict):
            check_keys(spec, {"clients", "except", "left"}, {"clients"}, f"staff '{user}'")
            clients, excluded = _str_list(spec, "clients"), _str_list(spec, "except")
            left = spec.get("left")
            if left is not None and not isinstance(left, date):
                raise _err(spec, "left", "'left' must be a date like 2026-01-31")
        else:
            raise _err(node, user, f"staff '{user}' needs a list of clients or a mapping")
        out[user.lower()] = StaffMember(user, frozenset(clients), frozenset(excluded), left)
    return out
