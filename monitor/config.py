"""wallwatch.yaml → typed, immutable config. Every error names file:line:col.

The config describes the firm (clients, staff, timezone) and the host (sources,
store). It is read once and never written to: runtime state lives in the store
and the engine. The keys each section may hold are those documented in
monitor/config_schema/ (docs/CONFIGURATION.md is rendered from it); values are
read with the shared located readers of config_read.py.
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

from monitor import config_schema as schema
from monitor.calendar import CalendarConfig, parse_calendar_config
from monitor.config_read import (
    boolean,
    check_keys,
    check_section,
    duration,
    err,
    str_list,
    string,
    sub,
)
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
    # folder names (shell patterns) in a {client} place that are not clients
    ignored_clients: tuple[str, ...]
    shares: Mapping[str, str]
    staff: Mapping[str, StaffMember]
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    rules: tuple[str, ...] = ()  # rule files and folders
    lateness: timedelta = timedelta(seconds=10)  # how long rules wait for late events
    # an event dated further past the host's clock does not move event time on
    max_future: timedelta = timedelta(hours=1)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


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
    check_section(root, schema.ROOT, "the config")
    base = Path(path).parent

    host = sub(root, "host", schema.section("host"))
    host_name = str(host.get("name") or socket.gethostname())

    tz_name = root.get("timezone", "Asia/Shanghai")
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise err(root, "timezone", f"unknown timezone {tz_name!r}",
                  "e.g. Asia/Shanghai") from None

    store_node = sub(root, "store", schema.section("store"))
    store_path = Path(string(store_node, "path", "wallwatch.db"))
    store = StoreConfig(
        path=os.path.abspath(store_path if store_path.is_absolute() else base / store_path),
        retention=duration(store_node, "retention", timedelta(days=180)),
    )

    sources = _sources(root, base, source_types)

    clients = sub(root, "clients", schema.section("clients"))
    client_paths = str_list(clients, "paths")
    for i, pattern in enumerate(client_paths):
        if pattern.count("{client}") != 1 or not pattern.startswith("/"):
            message = f"client path pattern {pattern!r} needs one {{client}}"
            hint = "e.g. /srv/share/clients/{client}/**"
            listed = clients["paths"]  # a single pattern may be written without a list
            if isinstance(listed, YList):
                raise err(listed, i, message, hint)
            raise err(clients, "paths", message, hint)

    shares_node = sub(root, "shares", None)
    shares = {name: str(v) for name, v in shares_node.items()}

    staff = _staff(root)
    calendar_node = root.get("calendar")
    if calendar_node is not None and not isinstance(calendar_node, YDict):
        raise err(root, "calendar", "'calendar' must be a mapping")
    calendar = parse_calendar_config(calendar_node, path, timezone=tz)
    rules_node = sub(root, "rules", schema.section("rules"))
    rule_paths = tuple(os.path.abspath(p if os.path.isabs(p) else base / p)
                       for p in str_list(rules_node, "paths"))
    return Config(
        path=path,
        host_name=host_name,
        timezone=tz,
        store=store,
        sources=sources,
        client_paths=client_paths,
        archived_clients=frozenset(str_list(clients, "archived")),
        ignored_clients=tuple(str_list(clients, "ignore")),
        shares=shares,
        staff=staff,
        calendar=calendar,
        rules=rule_paths,
        lateness=duration(rules_node, "lateness", timedelta(seconds=10)),
        max_future=duration(rules_node, "max_future", timedelta(hours=1)),
        metrics=_metrics(root),
        raw=root,
    )


def _sources(root: YDict, base: Path,
             types: Mapping[str, SourceSpec]) -> tuple[SourceConfig, ...]:
    node = root.get("sources")
    if node is None:
        return ()
    if not isinstance(node, YList):
        raise err(root, "sources", "'sources' must be a list")
    out: list[SourceConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(node):
        if not isinstance(item, YDict):
            raise err(node, i, "each source must be a mapping with 'type' and 'path'")
        kind = item.get("type")
        if kind not in types:
            raise err(item, "type", f"unknown source type {kind!r}",
                      f"expected one of: {', '.join(sorted(types))}")
        spec = types[str(kind)]
        # an option is accepted when the source takes it AND the reference documents it
        keys = schema.section("sources").variant(str(kind))
        common = schema.section("sources").allowed
        check_keys(item, common | (keys.allowed & spec.options), keys.required,
                   f"source '{kind}'")
        p = Path(string(item, "path"))
        full = os.path.abspath(p if p.is_absolute() else base / p)
        name = str(item.get("name") or f"{kind}:{full}")
        if name in seen:
            raise err(item, "name" if "name" in item else "path", f"two sources named {name!r}",
                      "give each source a distinct 'name'")
        seen.add(name)
        options = {k: v for k, v in item.items() if k not in ("type", "path", "name")}
        problem = spec.check_options(options)
        if problem:
            raise ConfigError(f"source '{kind}': {problem}", item.path, *item.pos)
        out.append(SourceConfig(name, str(kind), full, options, *item.pos))
    return tuple(out)


def _metrics(root: YDict) -> MetricsConfig:
    node = sub(root, "metrics", schema.section("metrics"))
    enabled = boolean(node, "enabled", True)
    listen = str(node.get("listen", "127.0.0.1:9108"))
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise err(node, "listen", f"bad listen address {listen!r}", "e.g. 127.0.0.1:9108")
    return MetricsConfig(enabled, host.strip("[]"), int(port))


_USER = re.compile(r"^[^\s:/\\]+$")


def _staff(root: YDict) -> dict[str, StaffMember]:
    node = sub(root, "staff", None)  # keys are user names
    entry = schema.section("staff.<user>")
    out: dict[str, StaffMember] = {}
    for user, spec in node.items():
        if not _USER.match(user):
            line, col = node.where_key(user)
            raise ConfigError(f"bad user name {user!r}", node.path, line, col)
        excluded: tuple[str, ...] = ()
        if isinstance(spec, YList):  # short form: alice: [acme, globex]
            clients, left = tuple(str(c) for c in spec), None
        elif isinstance(spec, YDict):
            check_section(spec, entry, f"staff '{user}'")
            clients, excluded = str_list(spec, "clients"), str_list(spec, "except")
            left = spec.get("left")
            if left is not None and not isinstance(left, date):
                raise err(spec, "left", "'left' must be a date like 2026-01-31")
        else:
            raise err(node, user, f"staff '{user}' needs a list of clients or a mapping")
        out[user.lower()] = StaffMember(user, frozenset(clients), frozenset(excluded), left)
    return out
