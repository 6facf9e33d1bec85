"""The `assignments:` section of wallwatch.yaml → immutable provider configs.

    assignments:
      - type: ldap                      # LDAP / Active Directory / Samba AD
        name: ad                        # optional, default the type; unique
        url: ldaps://dc1.firm.local     # ldap:// (with start_tls: true) or ldaps://
        ca_file: /etc/wallwatch/firm-ca.pem
        bind_dn: "CN=wallwatch,OU=Service,DC=firm,DC=local"
        password_file: /etc/wallwatch/secrets/ldap.pw   # or password_env: WALLWATCH_LDAP_PW
        base: "DC=firm,DC=local"
        group_filter: "(objectClass=group)"
        group_pattern: "client-{client}"   # or group_regex: '^(?P<client>[a-z]+)-team$'
        staff_groups: [staff]           # members are known staff even without a client
        user_attribute: sAMAccountName  # uid on OpenLDAP
        refresh: 15m
      - type: groups                    # local /etc/group (through NSS)
        group_pattern: "client-{client}"
      - type: csv                       # a practice-management export
        path: /srv/pm/assignments.csv   # header row: user,client,from,until
        encoding: gbk

The password is never in the config itself and never on a command line: only a
file name or an environment variable name, read at each refresh.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.config import Config, check_keys
from monitor.durations import parse_duration
from monitor.errors import ConfigError
from monitor.yamlloc import YDict, YList

DEFAULT_PATTERN = "client-{client}"
DEFAULT_REFRESH = timedelta(minutes=15)
MIN_REFRESH = timedelta(seconds=1)
DEFAULT_GROUP_FILTER = ("(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"
                        "(objectClass=group)(objectClass=posixGroup))")
CSV_COLUMNS = ("user", "client", "from", "until")


@dataclass(frozen=True)
class GroupMapping:
    """Group name → client code, by `client-{client}` or a regex with a `client` group.
    Case-insensitive: directories do not care about case, and neither do we."""

    regex: re.Pattern[str]
    text: str

    def client_of(self, group: str) -> str | None:
        match = self.regex.fullmatch(group)
        if match is None or not match.group("client"):
            return None
        return match.group("client").lower()


@dataclass(frozen=True)
class LdapConfig:
    name: str
    url: str
    base: str
    mapping: GroupMapping
    bind_dn: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    group_filter: str = DEFAULT_GROUP_FILTER
    staff_groups: frozenset[str] = frozenset()
    user_attribute: str = "uid"
    member_attribute: str = "member"
    group_name_attribute: str = "cn"
    refresh: timedelta = DEFAULT_REFRESH
    ca_file: str | None = None
    start_tls: bool = False
    timeout: float = 10.0
    type: str = "ldap"


@dataclass(frozen=True)
class GroupsConfig:
    name: str
    mapping: GroupMapping
    staff_groups: frozenset[str] = frozenset()
    group_file: str | None = None  # default: the system's groups through NSS (grp)
    refresh: timedelta = DEFAULT_REFRESH
    type: str = "groups"


@dataclass(frozen=True)
class CsvConfig:
    name: str
    path: str
    columns: Mapping[str, str] = field(default_factory=lambda: {c: c for c in CSV_COLUMNS})
    encoding: str = "utf-8-sig"  # Excel writes a BOM
    delimiter: str = ","
    refresh: timedelta = DEFAULT_REFRESH
    type: str = "csv"


ProviderConfig = LdapConfig | GroupsConfig | CsvConfig

_COMMON = {"type", "name", "refresh"}
_MAPPING_KEYS = {"group_pattern", "group_regex", "staff_groups"}
_LDAP_KEYS = _COMMON | _MAPPING_KEYS | {
    "url", "base", "bind_dn", "password_file", "password_env", "group_filter",
    "user_attribute", "member_attribute", "group_name_attribute", "ca_file", "start_tls",
    "timeout"}
_GROUPS_KEYS = _COMMON | _MAPPING_KEYS | {"group_file"}
_CSV_KEYS = _COMMON | {"path", "columns", "encoding", "delimiter"}
TYPES = ("ldap", "groups", "csv")


def _err(node: YDict | YList, key: Any, message: str, hint: str | None = None) -> ConfigError:
    line, col = node.where(key)
    return ConfigError(message, node.path, line, col, hint)


def _str(node: YDict, key: str, default: str | None = None) -> str:
    value = node.get(key, default)
    if not isinstance(value, str) or not value:
        raise _err(node, key, f"'{key}' must be a non-empty string")
    return value


def _opt_str(node: YDict, key: str) -> str | None:
    return _str(node, key) if key in node else None


def _abs(base: Path, text: str) -> str:
    return os.path.abspath(text if os.path.isabs(text) else base / text)


def parse_assignments(config: Config) -> tuple[ProviderConfig, ...]:
    """The providers of `config.raw["assignments"]`; () when the section is absent."""
    root = config.raw
    node = root.get("assignments")
    if node is None:
        return ()
    if not isinstance(node, YList):
        assert isinstance(root, YDict)
        raise _err(root, "assignments", "'assignments' must be a list of providers",
                   "e.g. - {type: ldap, url: ldaps://dc1, base: 'DC=firm,DC=local', ...}")
    base = Path(config.path).parent
    out: list[ProviderConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node):
        if not isinstance(item, YDict):
            raise _err(node, i, "each assignments provider must be a mapping with a 'type'")
        kind = item.get("type")
        if kind not in TYPES:
            raise _err(item, "type", f"unknown assignments provider type {kind!r}",
                       f"expected one of: {', '.join(TYPES)}")
        name = _str(item, "name", str(kind))
        if name == "staff":
            raise _err(item, "name", "'staff' is the name of the config's own staff table",
                       "choose another name")
        if name in seen:
            raise _err(item, "name" if "name" in item else "type",
                       f"two assignments providers named {name!r}",
                       "give each provider a distinct 'name'")
        seen[name] = i
        if kind == "ldap":
            out.append(_ldap(item, name, base))
        elif kind == "groups":
            check_keys(item, _GROUPS_KEYS, {"type"}, "assignments provider 'groups'")
            group_file = _opt_str(item, "group_file")
            out.append(GroupsConfig(name, _mapping(item), _staff_groups(item),
                                    _abs(base, group_file) if group_file else None,
                                    _refresh(item)))
        else:
            out.append(_csv(item, name, base))
    return tuple(out)


def _ldap(item: YDict, name: str, base: Path) -> LdapConfig:
    check_keys(item, _LDAP_KEYS, {"type", "url", "base"}, "assignments provider 'ldap'")
    url = _str(item, "url")
    if not re.match(r"^ldaps?://[^/\s]+/?$", url, re.IGNORECASE):
        raise _err(item, "url", f"bad LDAP url {url!r}", "e.g. ldaps://dc1.firm.local:636")
    if "password_file" in item and "password_env" in item:
        raise _err(item, "password_env", "give 'password_file' or 'password_env', not both")
    if ("password_file" in item or "password_env" in item) and "bind_dn" not in item:
        raise ConfigError("a password needs a 'bind_dn'", item.path, *item.pos)
    if "bind_dn" in item and not ("password_file" in item or "password_env" in item):
        raise _err(item, "bind_dn", "'bind_dn' needs 'password_file' or 'password_env'",
                   "the password itself never goes in the config")
    password_file = _opt_str(item, "password_file")
    ca_file = _opt_str(item, "ca_file")
    start_tls = item.get("start_tls", False)
    if not isinstance(start_tls, bool):
        raise _err(item, "start_tls", "'start_tls' must be true or false")
    if start_tls and url.lower().startswith("ldaps:"):
        raise _err(item, "start_tls", "'start_tls' is for ldap:// urls; ldaps:// is TLS already")
    group_filter = _str(item, "group_filter", DEFAULT_GROUP_FILTER)
    if not (group_filter.startswith("(") and group_filter.endswith(")")):
        raise _err(item, "group_filter", f"bad LDAP filter {group_filter!r}",
                   "a filter is in parentheses, e.g. (objectClass=group)")
    timeout = _refresh(item, "timeout", timedelta(seconds=10))
    return LdapConfig(
        name=name, url=url, base=_str(item, "base"), mapping=_mapping(item),
        bind_dn=_opt_str(item, "bind_dn"),
        password_file=_abs(base, password_file) if password_file else None,
        password_env=_opt_str(item, "password_env"),
        group_filter=group_filter, staff_groups=_staff_groups(item),
        user_attribute=_str(item, "user_attribute", "uid"),
        member_attribute=_str(item, "member_attribute", "member"),
        group_name_attribute=_str(item, "group_name_attribute", "cn"),
        refresh=_refresh(item),
        ca_file=_abs(base, ca_file) if ca_file else None,
        start_tls=start_tls,
        timeout=timeout.total_seconds(),
    )


def _csv(item: YDict, name: str, base: Path) -> CsvConfig:
    check_keys(item, _CSV_KEYS, {"type", "path"}, "assignments provider 'csv'")
    columns = {c: c for c in CSV_COLUMNS}
    node = item.get("columns")
    if node is not None:
        if not isinstance(node, YDict):
            raise _err(item, "columns", "'columns' must map user/client/from/until to headers")
        check_keys(node, set(CSV_COLUMNS), set(), "'columns'")
        columns.update({k: _str(node, k) for k in node})
    encoding = _str(item, "encoding", "utf-8-sig")
    try:
        "".encode(encoding)
    except LookupError:
        raise _err(item, "encoding", f"unknown encoding {encoding!r}",
                   "e.g. utf-8-sig or gbk") from None
    delimiter = _str(item, "delimiter", ",")
    if len(delimiter) != 1:
        raise _err(item, "delimiter", "'delimiter' must be one character")
    return CsvConfig(name, _abs(base, _str(item, "path")), columns, encoding, delimiter,
                     _refresh(item))


def _refresh(item: YDict, key: str = "refresh",
             default: timedelta = DEFAULT_REFRESH) -> timedelta:
    if key not in item:
        return default
    try:
        value = parse_duration(item[key])
    except ValueError as exc:
        raise _err(item, key, str(exc)) from None
    if value < MIN_REFRESH:
        raise _err(item, key, f"'{key}' must be at least 1s")
    return value


def _staff_groups(item: YDict) -> frozenset[str]:
    value = item.get("staff_groups", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _err(item, "staff_groups", "'staff_groups' must be a list of group names")
    return frozenset(v.lower() for v in value)


def _mapping(item: YDict) -> GroupMapping:
    if "group_pattern" in item and "group_regex" in item:
        raise _err(item, "group_regex", "give 'group_pattern' or 'group_regex', not both")
    if "group_regex" in item:
        text = _str(item, "group_regex")
        try:
            regex = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise _err(item, "group_regex", f"bad regex: {exc}") from None
        if "client" not in regex.groupindex:
            raise _err(item, "group_regex", "'group_regex' needs a (?P<client>...) group",
                       "e.g. '^client-(?P<client>[a-z0-9]+)$'")
        return GroupMapping(regex, text)
    text = _str(item, "group_pattern", DEFAULT_PATTERN)
    if text.count("{client}") != 1:
        raise _err(item, "group_pattern", f"group pattern {text!r} needs one {{client}}",
                   "e.g. client-{client}")
    head, tail = text.split("{client}")
    regex = re.compile(f"{_glob(head)}(?P<client>.+?){_glob(tail)}", re.IGNORECASE)
    return GroupMapping(regex, text)


def _glob(text: str) -> str:
    """`*` in a group pattern matches anything; everything else is literal."""
    return ".*".join(re.escape(part) for part in text.split("*"))
