"""The `elasticsearch:` section of wallwatch.yaml → a frozen EsConfig.

    elasticsearch:
      url: https://es1.firm.lan:9200      # or urls: [https://es1:9200, https://es2:9200]
      namespace: default                  # data streams logs-wallwatch.{events,alerts}-<namespace>
      auth:                               # an API key, or a user and password; each from a
        api_key_file: /etc/wallwatch/es-api-key          # file or an environment variable,
        # api_key_env: WALLWATCH_ES_API_KEY              # never from the command line
        # username: wallwatch
        # password_file: /etc/wallwatch/es-password      # or password_env: ...
      ca_file: /etc/wallwatch/es-ca.crt   # TLS: the CA that signed the cluster's certificate
      verify: true                        # certificate verification (default on)
      batch: {max_events: 5000, max_bytes: 5mb}
      retention_days: 180                 # ILM deletes backing indices this long after rollover
      timeout: 30s                        # one request
      backoff: {initial: 0.5s, max: 60s}  # retries: exponential with full jitter
      disk_high_water: 90                 # percent of the store's disk: warn while a backlog waits
      compress: false                     # gzip request bodies

Secrets are read once, here, and wrapped in Secret, whose str() and repr() are
masked: an EsConfig can be logged or shown in a traceback without leaking them.
Every error names file:line:col like the rest of the config.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor import config_schema as schema
from monitor.config import Config
from monitor.config_read import boolean, check_section, duration, err, sub, whole
from monitor.errors import ConfigError
from monitor.yamlloc import YDict

log = logging.getLogger(__name__)

SECTION = "elasticsearch"
# Fleet's rule for the namespace part of a data stream name
_NAMESPACE = re.compile(r"^[a-z0-9_][a-z0-9_.]{0,99}$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Secret:
    """A credential. Shows as *** everywhere; `reveal()` is for the HTTP client only."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Auth:
    api_key: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    origin: str = "none"  # where the credential came from, for messages ("file /etc/..")

    def secrets(self) -> list[str]:
        """The raw secret strings, for masking them out of text that may echo them."""
        return [s.reveal() for s in (self.api_key, self.password) if s is not None]


@dataclass(frozen=True)
class EsConfig:
    urls: tuple[str, ...]
    namespace: str = "default"
    auth: Auth = Auth()
    ca_file: str | None = None
    verify: bool = True
    max_events: int = 5000
    max_bytes: int = 5 * 1024 * 1024
    retention_days: int = 180
    timeout: float = 30.0
    backoff_initial: float = 0.5
    backoff_max: float = 60.0
    disk_high_water: float = 90.0
    compress: bool = False


def parse_es_config(config: Config) -> EsConfig | None:
    """The parsed section, or None when the config has no `elasticsearch:`."""
    node = config.raw.get(SECTION)
    if node is None:
        return None
    if not isinstance(node, YDict):
        raise _root_error(config, "'elasticsearch' must be a mapping")
    return parse_section(node, Path(config.path).parent)


def _root_error(config: Config, message: str) -> ConfigError:
    root = config.raw
    if isinstance(root, YDict):
        return ConfigError(message, root.path, *root.where(SECTION))
    return ConfigError(message, config.path)


def parse_section(node: YDict, base: Path) -> EsConfig:
    check_section(node, schema.section(SECTION), SECTION)
    batch = sub(node, "batch", schema.section("elasticsearch.batch"), "elasticsearch.batch")
    backoff = sub(node, "backoff", schema.section("elasticsearch.backoff"),
                  "elasticsearch.backoff")
    initial = _seconds(backoff, "initial", 0.5)
    ceiling = _seconds(backoff, "max", 60.0)
    if ceiling < initial:
        raise err(backoff, "max", "backoff 'max' is shorter than 'initial'")
    ca_file = node.get("ca_file")
    if ca_file is not None:
        if not isinstance(ca_file, str) or not ca_file:
            raise err(node, "ca_file", "'ca_file' must be a path")
        ca_file = str(base / ca_file) if not os.path.isabs(ca_file) else ca_file
        if not os.path.isfile(ca_file):
            raise err(node, "ca_file", f"no CA file at {ca_file}")
    namespace = node.get("namespace", "default")
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise err(node, "namespace", f"bad namespace {namespace!r}",
                  "lower-case letters, digits, '_' and '.', no '-', at most 100")
    return EsConfig(
        urls=_urls(node),
        namespace=namespace,
        auth=_auth(node, base),
        ca_file=ca_file,
        verify=boolean(node, "verify", True),
        max_events=whole(batch, "max_events", batch.get("max_events", 5000), 1, 100_000),
        max_bytes=_size(batch, "max_bytes", 5 * 1024 * 1024),
        retention_days=whole(node, "retention_days", node.get("retention_days", 180), 1, 36_500),
        timeout=_seconds(node, "timeout", 30.0),
        backoff_initial=initial,
        backoff_max=ceiling,
        disk_high_water=float(_percent(node, "disk_high_water", 90)),
        compress=boolean(node, "compress", False),
    )


def _urls(node: YDict) -> tuple[str, ...]:
    if ("url" in node) == ("urls" in node):
        raise ConfigError("elasticsearch needs 'url' (or a list in 'urls')", node.path,
                          *node.pos, "e.g. url: https://es1.firm.lan:9200")
    key = "url" if "url" in node else "urls"
    value = node[key]
    items = [value] if key == "url" else value
    if not isinstance(items, list) or not items or not all(isinstance(u, str) for u in items):
        raise err(node, key, f"'{key}' must be {'a URL' if key == 'url' else 'a list of URLs'}")
    for url in items:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise err(node, key, f"bad URL {_mask_url(url)!r}", "e.g. https://es1:9200")
        if parts.username or parts.password:
            # a password in a URL ends up in logs and error messages
            raise err(node, key, "credentials in the URL",
                      "put them under auth: (from a file or an environment variable)")
    return tuple(items)


def _mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password or parts.username:
        host = parts.hostname or ""
        return parts._replace(netloc=f"***@{host}" + (f":{parts.port}" if parts.port else "")
                              ).geturl()
    return url


def _auth(node: YDict, base: Path) -> Auth:
    value = node.get("auth")
    if value is None:
        return Auth()
    if not isinstance(value, YDict):
        raise err(node, "auth", "'auth' must be a mapping")
    check_section(value, schema.section("elasticsearch.auth"), "elasticsearch.auth")
    api = [k for k in ("api_key_file", "api_key_env") if k in value]
    pw = [k for k in ("password_file", "password_env") if k in value]
    if len(api) > 1 or len(pw) > 1:
        key = (api if len(api) > 1 else pw)[1]
        raise err(value, key, "give the secret once: from a file or from the environment")
    if api and (pw or "username" in value):
        raise err(value, api[0], "give an API key or a username and password, not both")
    if api:
        secret, origin = _secret(value, api[0], base)
        return Auth(api_key=secret, origin=origin)
    if "username" in value or pw:
        user = value.get("username")
        if not isinstance(user, str) or not user:
            raise ConfigError("elasticsearch.auth needs 'username' with a password", value.path,
                              *value.where("username"))
        if not pw:
            raise ConfigError("elasticsearch.auth needs 'password_file' or 'password_env'",
                              value.path, *value.pos,
                              "a password is never written in the config itself")
        secret, origin = _secret(value, pw[0], base)
        return Auth(username=user, password=secret, origin=origin)
    return Auth()


def _secret(node: YDict, key: str, base: Path) -> tuple[Secret, str]:
    ref = node[key]
    if not isinstance(ref, str) or not ref:
        raise err(node, key, f"'{key}' must be a non-empty string")
    if key.endswith("_env"):
        if not _ENV_NAME.match(ref):
            raise err(node, key, f"bad environment variable name {ref!r}")
        text = os.environ.get(ref)
        if not text:
            raise err(node, key, f"environment variable {ref} is not set or empty")
        return Secret(text.strip()), f"environment variable {ref}"
    path = ref if os.path.isabs(ref) else str(base / ref)
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
    except OSError as exc:
        raise err(node, key, f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise err(node, key, f"{path} is not UTF-8 text") from None
    if not text:
        raise err(node, key, f"{path} is empty")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("elasticsearch: %s is readable by others than its owner;"
                    " chmod 600 it", path)
    return Secret(text), f"file {path}"


def _percent(node: YDict, key: str, default: int) -> int:
    value = node.get(key, default)
    if isinstance(value, str):  # 90% reads as a string
        value = value.strip().removesuffix("%")
        value = int(value) if value.isdigit() else value
    return whole(node, key, value, 1, 100)


def _size(node: YDict, key: str, default: int) -> int:
    value: Any = node.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise err(node, key, f"bad size {value!r}", "e.g. 5mb, 512kb or a number of bytes")
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    if not 1024 <= size <= 100 * 1024**2:
        raise err(node, key, f"'{key}' must be between 1kb and 100mb")
    return size


def _seconds(node: YDict, key: str, default: float) -> float:
    return duration(node, key, timedelta(seconds=default), positive=True).total_seconds()
