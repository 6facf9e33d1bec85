"""Assignments from LDAP / Active Directory / Samba AD groups (ldap3).

One refresh: bind (simple bind with a password read from a file or the
environment, or anonymous), page through the groups under `base`, page through
the entries that carry the user-name attribute, then resolve every client and
staff group to the user names it contains. A member DN may itself be a group
(AD and OpenLDAP both nest): it is followed, with a visited set so a cycle
(A ∋ B ∋ A) ends. A member outside both searches is looked up by its DN.

Any failure fails the whole refresh (ProviderError): half an answer would drop
assignments, so the last good copy stays in use instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import ssl
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ldap3 import ANONYMOUS, BASE, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult

from monitor.assignments.book import Snapshot, normalise_user
from monitor.assignments.groups import ProviderError, snapshot_from_groups
from monitor.assignments.settings import LdapConfig

PAGE = 500
GROUP_CLASSES = frozenset({"group", "groupofnames", "groupofuniquenames", "posixgroup"})
_RDN_SPLIT = re.compile(r"(?<!\\),")


def normalise_dn(dn: str) -> str:
    """DNs compare case-insensitively and ignore spaces around `,` and `=`."""
    parts = []
    for rdn in _RDN_SPLIT.split(dn):
        attr, _, value = rdn.partition("=")
        parts.append(f"{attr.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


def read_password(cfg: LdapConfig) -> str | None:
    """The bind password, read at each refresh so a rotated one is picked up."""
    if cfg.password_file is not None:
        try:
            with open(cfg.password_file, encoding="utf-8") as f:
                return f.read().rstrip("\r\n")
        except OSError as exc:
            raise ProviderError(f"cannot read the LDAP password file: {exc.strerror}",
                                cfg.password_file) from None
    if cfg.password_env is not None:
        value = os.environ.get(cfg.password_env)
        if not value:
            raise ProviderError(f"environment variable {cfg.password_env} is not set",
                                f"assignments provider {cfg.name!r}")
        return value
    return None


def _values(attrs: Mapping[str, Any], name: str) -> list[str]:
    for key, value in attrs.items():
        if key.lower() == name.lower():
            if value is None:
                return []
            items = value if isinstance(value, list | tuple) else [value]
            return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                    for v in items if v not in (None, "", b"")]
    return []


class _Directory:
    """The groups and users of one refresh, and the member lookups they need."""

    def __init__(self, conn: Connection, cfg: LdapConfig) -> None:
        self.conn, self.cfg = conn, cfg
        self.attrs = [cfg.user_attribute, cfg.member_attribute, cfg.group_name_attribute,
                      "objectClass"]
        self.by_uid = cfg.member_attribute.lower() == "memberuid"  # posixGroup: names, not DNs
        self.groups: dict[str, tuple[str, list[str]]] = {}  # dn → (name, member values)
        self.users: dict[str, str | None] = {}  # dn → user name (None: not a user)

    def _search(self, base: str, flt: str, scope: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        if scope == BASE:
            self.conn.search(base, flt, BASE, attributes=self.attrs)
            entries: Iterable[Mapping[str, Any]] = self.conn.response or []
        else:
            entries = self.conn.extend.standard.paged_search(
                base, flt, scope, attributes=self.attrs, paged_size=PAGE, generator=True)
        for entry in entries:
            if entry.get("type") == "searchResEntry":  # not referrals
                yield str(entry["dn"]), entry.get("attributes") or {}

    def _add(self, dn: str, attrs: Mapping[str, Any]) -> None:
        key = normalise_dn(dn)
        classes = {c.lower() for c in _values(attrs, "objectClass")}
        members = _values(attrs, self.cfg.member_attribute)
        if classes & GROUP_CLASSES or members:
            names = _values(attrs, self.cfg.group_name_attribute)
            self.groups[key] = (names[0] if names else dn, members)
            self.users.pop(key, None)
        elif key not in self.groups:
            names = _values(attrs, self.cfg.user_attribute)
            self.users[key] = normalise_user(names[0]) if names else None

    def load(self) -> None:
        for dn, attrs in self._search(self.cfg.base, self.cfg.group_filter, SUBTREE):
            self._add(dn, attrs)
        for dn, attrs in self._search(self.cfg.base, f"({self.cfg.user_attribute}=*)", SUBTREE):
            if normalise_dn(dn) not in self.groups:
                self._add(dn, attrs)

    def _lookup(self, key: str, dn: str) -> None:
        """A member that neither search found (another OU, a foreign group)."""
        try:
            found = list(self._search(dn, "(objectClass=*)", BASE))
        except LDAPNoSuchObjectResult:
            found = []  # a dangling member: AD and OpenLDAP both allow them
        for found_dn, attrs in found:
            self._add(found_dn, attrs)
        if key not in self.groups and key not in self.users:
            self.users[key] = None

    def users_of(self, group_key: str) -> set[str]:
        """Every user in the group, through nested groups, each group visited once."""
        out: set[str] = set()
        seen = {group_key}
        todo = deque([group_key])
        while todo:
            _name, members = self.groups[todo.popleft()]
            for member in members:
                if self.by_uid:
                    out.add(normalise_user(member))
                    continue
                key = normalise_dn(member)
                if key not in self.groups and key not in self.users:
                    self._lookup(key, member)
                if key in self.groups:
                    if key not in seen:
                        seen.add(key)
                        todo.append(key)
                elif self.users.get(key):
                    out.add(str(self.users[key]))
        return out

    def resolve(self) -> dict[str, set[str]]:
        """Group name → users, for the client and staff groups only."""
        staff = {g.lower() for g in self.cfg.staff_groups}
        wanted = [(key, name) for key, (name, _m) in list(self.groups.items())
                  if self.cfg.mapping.client_of(name) is not None or name.lower() in staff]
        out: dict[str, set[str]] = {}
        for key, name in wanted:
            out.setdefault(name, set()).update(self.users_of(key))
        return out


def _connect(cfg: LdapConfig, password: str | None) -> Connection:
    ldaps = cfg.url.lower().startswith("ldaps:")
    tls = None
    if ldaps or cfg.start_tls:
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=cfg.ca_file)
    server = Server(cfg.url, use_ssl=ldaps, tls=tls, get_info=NONE,
                    connect_timeout=cfg.timeout)
    conn = Connection(server, user=cfg.bind_dn, password=password,
                      authentication=SIMPLE if cfg.bind_dn else ANONYMOUS,
                      read_only=True, raise_exceptions=True, auto_referrals=False,
                      receive_timeout=max(1, round(cfg.timeout)), auto_bind=False)
    conn.open()
    if cfg.start_tls:
        conn.start_tls()
    conn.bind()
    return conn


def fetch_ldap(cfg: LdapConfig) -> Snapshot:
    password = read_password(cfg)
    conn: Connection | None = None
    try:
        conn = _connect(cfg, password)
        directory = _Directory(conn, cfg)
        directory.load()
        groups = directory.resolve()
    except (LDAPException, OSError, ssl.SSLError) as exc:
        text = str(exc) or type(exc).__name__
        if password:
            text = text.replace(password, "***")  # never let a library echo it
        raise ProviderError(f"LDAP {type(exc).__name__}: {text}",
                            f"{cfg.name} ({cfg.url})") from None
    finally:
        if conn is not None:
            with contextlib.suppress(LDAPException, OSError):
                conn.unbind()
    if not groups:
        raise ProviderError(f"no group under {cfg.base!r} matches {cfg.mapping.text!r}",
                            f"{cfg.name} ({cfg.url})",
                            hint="check 'base', 'group_filter' and the bind account's rights")
    return snapshot_from_groups(groups, cfg.mapping, cfg.staff_groups)
