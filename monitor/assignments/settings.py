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

from monitor import config_schema as schema
from monitor.config import Config
from monitor.config_read import boolean, check_section, duration, err, opt_string, string
from monitor.config_schema.assignments import CSV_COLUMNS, DEFAULT_GROUP_FILTER
from monitor.errors import ConfigError
from monitor.yamlloc import YDict, YList

DEFAULT_PATTERN = "client-{client}"
DEFAULT_REFRESH = timedelta(minutes=15)
MIN_REFRESH = timedelta(seconds=1)


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

TYPES = tuple(v.name for v in schema.section("assignments").variants)
_KEYS = schema.section("assignments")


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
        raise err(root, "assignments", "'assignments' must be a list of providers",
                  "e.g. - {type: ldap, url: ldaps://dc1, base: 'DC=firm,DC=local', ...}")
    base = Path(config.path).parent
    out: list[ProviderConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node):
        if not isinstance(item, YDict):
            raise err(node, i, "each assignments provider must be a mapping with a 'type'")
        kind = item.get("type")
        if kind not in TYPES:
            raise err(item, "type", f"unknown assignments provider type {kind!r}",
                      f"expected one of: {', '.join(TYPES)}")
        name = string(item, "name", str(kind))
        if name == "staff":
            raise err(item, "name", "'staff' is the name of the config's own staff table",
                      "choose another name")
        if name in seen:
            raise err(item, "name" if "name" in item else "type",
                      f"two assignments providers named {name!r}",
                      "give each provider a distinct 'name'")
        seen[name] = i
        if kind == "ldap":
            out.append(_ldap(item, name, base))
        elif kind == "groups":
            check_section(item, _KEYS.variant("groups"), "assignments provider 'groups'")
            group_file = opt_string(item, "group_file")
            out.append(GroupsConfig(name, _mapping(item), _staff_groups(item),
                                    _abs(base, group_file) if group_file else None,
                                    _refresh(item)))
        else:
            out.append(_csv(item, name, base))
    return tuple(out)


def _ldap(item: YDict, name: str, base: Path) -> LdapConfig:
    check_section(item, _KEYS.variant("ldap"), "assignments provider 'ldap'")
    url = string(item, "url")
    if not re.match(r"^ldaps?://[^/\s]+/?$", url, re.IGNORECASE):
        raise err(item, "url", f"bad LDAP url {url!r}", "e.g. ldaps://dc1.firm.local:636")
    if "password_file" in item and "password_env" in item:
        raise err(item, "password_env", "give 'password_file' or 'password_env', not both")
    if ("password_file" in item or "password_env" in item) and "bind_dn" not in item:
        raise ConfigError("a password needs a 'bind_dn'", item.path, *item.pos)
    if "bind_dn" in item and not ("password_file" in item or "password_env" in item):
        raise err(item, "bind_dn", "'bind_dn' needs 'password_file' or 'password_env'",
                  "the password itself never goes in the config")
    password_file = opt_string(item, "password_file")
    ca_file = opt_string(item, "ca_file")
    start_tls = boolean(item, "start_tls", False)
    if start_tls and url.lower().startswith("ldaps:"):
        raise err(item, "start_tls", "'start_tls' is for ldap:// urls; ldaps:// is TLS already")
    group_filter = string(item, "group_filter", DEFAULT_GROUP_FILTER)
    if not (group_filter.startswith("(") and group_filter.endswith(")")):
        raise err(item, "group_filter", f"bad LDAP filter {group_filter!r}",
                  "a filter is in parentheses, e.g. (objectClass=group)")
    timeout = _refresh(item, "timeout", timedelta(seconds=10))
    return LdapConfig(
        name=name, url=url, base=string(item, "base"), mapping=_mapping(item),
        bind_dn=opt_string(item, "bind_dn"),
        password_file=_abs(base, password_file) if password_file else None,
        password_env=opt_string(item, "password_env"),
        group_filter=group_filter, staff_groups=_staff_groups(item),
        user_attribute=string(item, "user_attribute", "uid"),
        member_attribute=string(item, "member_attribute", "member"),
        group_name_attribute=string(item, "group_name_attribute", "cn"),
        refresh=_refresh(item),
        ca_file=_abs(base, ca_file) if ca_file else None,
        start_tls=start_tls,
        timeout=timeout.total_seconds(),
    )


def _csv(item: YDict, name: str, base: Path) -> CsvConfig:
    check_section(item, _KEYS.variant("csv"), "assignments provider 'csv'")
    columns = {c: c for c in CSV_COLUMNS}
    node = item.get("columns")
    if node is not None:
        if not isinstance(node, YDict):
            raise err(item, "columns", "'columns' must map user/client/from/until to headers")
        check_section(node, schema.section("assignments.columns"), "'columns'")
        columns.update({k: string(node, k) for k in node})
    encoding = string(item, "encoding", "utf-8-sig")
    try:
        "".encode(encoding)
    except LookupError:
        raise err(item, "encoding", f"unknown encoding {encoding!r}",
                  "e.g. utf-8-sig or gbk") from None
    delimiter = string(item, "delimiter", ",")
    if len(delimiter) != 1:
        raise err(item, "delimiter", "'delimiter' must be one character")
    return CsvConfig(name, _abs(base, string(item, "path")), columns, encoding, delimiter,
                     _refresh(item))


def _refresh(item: YDict, key: str = "refresh",
             default: timedelta = DEFAULT_REFRESH) -> timedelta:
    return duration(item, key, default, at_least=MIN_REFRESH)


def _staff_groups(item: YDict) -> frozenset[str]:
    value = item.get("staff_groups", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise err(item, "staff_groups", "'staff_groups' must be a list of group names")
    return frozenset(v.lower() for v in value)


def _mapping(item: YDict) -> GroupMapping:
    if "group_pattern" in item and "group_regex" in item:
        raise err(item, "group_regex", "give 'group_pattern' or 'group_regex', not both")
    if "group_regex" in item:
        text = string(item, "group_regex")
        try:
            regex = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise err(item, "group_regex", f"bad regex: {exc}") from None
        if "client" not in regex.groupindex:
            raise err(item, "group_regex", "'group_regex' needs a (?P<client>...) group",
                      "e.g. '^client-(?P<client>[a-z0-9]+)$'")
        return GroupMapping(regex, text)
    text = string(item, "group_pattern", DEFAULT_PATTERN)
    if text.count("{client}") != 1:
        raise err(item, "group_pattern", f"group pattern {text!r} needs one {{client}}",
                  "e.g. client-{client}")
    head, tail = text.split("{client}")
    regex = re.compile(f"{_glob(head)}(?P<client>.+?){_glob(tail)}", re.IGNORECASE)
    return GroupMapping(regex, text)


def _glob(text: str) -> str:
    """`*` in a group pattern matches anything; everything else is literal."""
    return ".*".join(re.escape(part) for part in text.split("*"))
