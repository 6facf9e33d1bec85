"""The `assignments:` config section: what it accepts, and errors that point at the line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.assignments.settings import (
    CsvConfig,
    GroupsConfig,
    LdapConfig,
    parse_assignments,
)
from monitor.errors import ConfigError
from tests.assignments.helpers import make_config

FULL = """\
assignments:
  - type: ldap
    name: ad
    url: ldaps://dc1.firm.local:636
    ca_file: firm-ca.pem
    bind_dn: "CN=wallwatch,OU=Service,DC=firm,DC=local"
    password_env: WALLWATCH_LDAP_PW
    base: "DC=firm,DC=local"
    group_filter: "(objectClass=group)"
    group_regex: '^(?P<client>[a-z0-9]+)-team$'
    staff_groups: [Staff]
    user_attribute: sAMAccountName
    refresh: 5m
  - type: groups
  - type: csv
    path: pm/assignments.csv
    encoding: gbk
    columns: {user: 员工, client: 客户}
"""


def test_a_full_section_becomes_typed_providers(tmp_path: Path) -> None:
    ad, local, export = parse_assignments(make_config(tmp_path, FULL))
    assert isinstance(ad, LdapConfig)
    assert (ad.name, ad.user_attribute) == ("ad", "sAMAccountName")
    assert ad.refresh == timedelta(minutes=5)
    assert ad.ca_file == str(tmp_path / "firm-ca.pem")
    assert ad.staff_groups == {"staff"}
    assert ad.mapping.client_of("ACME-Team") == "acme"
    assert ad.mapping.client_of("client-acme") is None
    assert isinstance(local, GroupsConfig) and local.name == "groups"
    assert local.mapping.client_of("client-globex") == "globex"  # the default pattern
    assert isinstance(export, CsvConfig)
    assert export.path == str(tmp_path / "pm" / "assignments.csv")
    assert export.columns == {"user": "员工", "client": "客户", "from": "from", "until": "until"}


def test_no_section_means_no_providers(tmp_path: Path) -> None:
    assert parse_assignments(make_config(tmp_path)) == ()


def test_group_pattern_takes_a_star_for_any_text(tmp_path: Path) -> None:
    [local] = parse_assignments(make_config(tmp_path, """\
assignments:
  - {type: groups, group_pattern: "*-client-{client}"}
"""))
    assert isinstance(local, GroupsConfig)
    assert local.mapping.client_of("FIRM-client-Acme") == "acme"
    assert local.mapping.client_of("client-acme") is None


@pytest.mark.parametrize(("text", "line", "col", "message"), [
    ("assignments: {type: ldap}\n", 5, 14, "must be a list"),
    ("assignments:\n  - {type: nis}\n", 6, 12, "unknown assignments provider type"),
    ("assignments:\n  - type: ldap\n    url: ldap://dc1\n", 6, 5, "needs 'base'"),
    ("assignments:\n  - type: ldap\n    url: http://dc1\n    base: dc=x\n", 7, 10,
     "bad LDAP url"),
    ("assignments:\n  - type: ldap\n    url: ldap://dc1\n    base: dc=x\n"
     "    bind_dn: cn=w\n    password: secret\n", 10, 5, "unknown key 'password'"),
    ("assignments:\n  - type: ldap\n    url: ldap://dc1\n    base: dc=x\n"
     "    bind_dn: cn=w\n", 9, 14, "needs 'password_file' or 'password_env'"),
    ("assignments:\n  - type: groups\n    group_pattern: client\n", 7, 20, "needs one {client}"),
    ("assignments:\n  - type: groups\n    group_regex: '^client-(.+)$'\n", 7, 18,
     "needs a (?P<client>...) group"),
    ("assignments:\n  - type: groups\n    group_regex: '(?P<client>'\n", 7, 18, "bad regex"),
    ("assignments:\n  - {type: groups}\n  - {type: groups}\n", 7, 12, "two assignments providers"),
    ("assignments:\n  - {type: groups, name: staff}\n", 6, 26, "staff table"),
    ("assignments:\n  - {type: csv, path: a.csv, refresh: 0s}\n", 6, 39, "at least 1s"),
    ("assignments:\n  - {type: csv, path: a.csv, encoding: klingon}\n", 6, 40,
     "unknown encoding"),
    ("assignments:\n  - {type: csv, path: a.csv, columns: {person: A}}\n", 6, 40,
     "unknown key 'person'"),
])
def test_mistakes_are_reported_at_their_line_and_column(
        tmp_path: Path, text: str, line: int, col: int, message: str) -> None:
    config = make_config(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        parse_assignments(config)
    assert message in err.value.message
    assert (err.value.path, err.value.line, err.value.col) == (config.path, line, col)
