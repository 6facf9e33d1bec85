"""The config's `sigma:` section and the field mappings in use.

    sigma:
      mappings: sigma-mappings.yaml   # relative to the config file; adds logsources or
                                      # replaces shipped ones of the same name

Rule loading has no config in hand (`wallwatch rules check FILES` works without
one), so the mappings in use are process-wide: `configure(config)` sets them,
right after the config is loaded; until then the shipped mappings apply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.errors import ConfigError
from monitor.rules.sigma.mapping import Mappings, load_mappings, shipped
from monitor.yamlloc import YDict

if TYPE_CHECKING:
    from monitor.config import Config


@dataclass(frozen=True)
class SigmaSettings:
    mappings: str | None = None  # absolute path of the config's own mapping file


def parse_settings(config: Config) -> SigmaSettings:
    raw = config.raw
    node = raw.get("sigma")
    if node is None:
        return SigmaSettings()
    if not isinstance(node, YDict):
        where = raw.where("sigma") if isinstance(raw, YDict) else (None, None)
        raise ConfigError("'sigma' must be a mapping, e.g. {mappings: sigma-mappings.yaml}",
                          config.path, *where)
    for key in node:
        if key != "mappings":
            line, col = node.where_key(key)
            raise ConfigError(f"unknown key '{key}' in sigma", node.path, line, col,
                              "expected one of: mappings")
    path = node.get("mappings")
    if path is None:
        return SigmaSettings()
    if not isinstance(path, str) or not path:
        line, col = node.where("mappings")
        raise ConfigError("'mappings' must be the path of a Sigma mapping file", node.path,
                          line, col)
    full = path if os.path.isabs(path) else str(Path(config.path).parent / path)
    return SigmaSettings(os.path.abspath(full))


def mappings_for(settings: SigmaSettings) -> Mappings:
    """The shipped mappings, with the configured file's logsources over them."""
    if settings.mappings is None:
        return shipped()
    return shipped().merged(load_mappings(settings.mappings))


_active: Mappings | None = None


def configure(config: Config) -> Mappings:
    """Use the config's mappings for every Sigma rule loaded from now on. Errors in
    the section or the mapping file are ConfigErrors with file:line:col."""
    global _active
    _active = mappings_for(parse_settings(config))
    return _active


def active_mappings() -> Mappings:
    return _active if _active is not None else shipped()
