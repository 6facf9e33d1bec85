"""Local groups (/etc/group) as assignments: members and primary-group users, the
pattern or regex mapping, staff groups."""

from __future__ import annotations

import grp
import pwd
import re
from pathlib import Path

import pytest

from monitor.assignments.book import Grant
from monitor.assignments.groups import ProviderError, fetch_local_groups
from monitor.assignments.settings import GroupMapping, GroupsConfig

PATTERN = GroupMapping(re.compile(r"client-(?P<client>.+?)", re.IGNORECASE), "client-{client}")
GROUPS = """\
root:x:0:
client-acme:x:2001:alice,carol
Client-Globex:x:2002:bob
staff:x:2003:alice,bob,carol,dave
client-:x:2004:eve
"""


def local(tmp_path: Path, text: str = GROUPS, mapping: GroupMapping = PATTERN,
          staff: frozenset[str] = frozenset()) -> GroupsConfig:
    path = tmp_path / "group"
    path.write_text(text)
    return GroupsConfig("groups", mapping, staff, str(path))


def test_members_of_client_groups_are_assigned_to_the_client(tmp_path: Path) -> None:
    snap = fetch_local_groups(local(tmp_path))
    assert snap.grants == {"alice": {Grant("acme")}, "carol": {Grant("acme")},
                           "bob": {Grant("globex")}}
    assert "dave" not in snap.known  # staff groups not configured: a stranger
    assert "eve" not in snap.known  # `client-` alone names no client


def test_members_of_staff_groups_are_known_without_a_client(tmp_path: Path) -> None:
    snap = fetch_local_groups(local(tmp_path, staff=frozenset({"staff"})))
    assert "dave" in snap.known and "dave" not in snap.grants


def test_a_regex_maps_other_naming_schemes(tmp_path: Path) -> None:
    mapping = GroupMapping(re.compile(r"^(?P<client>[a-z]+)-team$", re.I), "…")
    snap = fetch_local_groups(local(tmp_path, "acme-team:x:3001:alice\nstaff:x:3:bob\n",
                                    mapping))
    assert snap.grants == {"alice": {Grant("acme")}}


def test_a_broken_group_file_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as err:
        fetch_local_groups(local(tmp_path, "client-acme:x:2001:alice\nclient-globex bob\n"))
    assert err.value.line == 2


def test_the_systems_groups_include_users_whose_primary_group_it_is() -> None:
    """Through NSS (grp/pwd), as on the storage host: /etc/group does not list a user
    under their own primary group, so those users are added from the passwd side."""
    root_group = grp.getgrgid(0).gr_name
    primary = {u.pw_name for u in pwd.getpwall() if u.pw_gid == 0}
    mapping = GroupMapping(re.compile(f"(?P<client>{re.escape(root_group)})"), root_group)
    snap = fetch_local_groups(GroupsConfig("groups", mapping))
    expected = primary | set(grp.getgrgid(0).gr_mem)
    assert expected and {u for u, g in snap.grants.items() if Grant(root_group) in g} == expected
