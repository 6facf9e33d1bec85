"""Directory groups from a real slapd: client groups, nesting, cycles, staff groups,
members outside the searched subtree, posixGroup memberUid, and failures that
name the server but never the password."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.assignments.book import Grant
from monitor.assignments.groups import ProviderError
from monitor.assignments.ldap import fetch_ldap, normalise_dn
from monitor.assignments.settings import GroupMapping, LdapConfig
from tests.fixtures.slapd import BIND_DN, SUFFIX, SlapdServer, group_dn, user_dn

PATTERN = GroupMapping(re.compile(r"client-(?P<client>.+?)", re.IGNORECASE), "client-{client}")


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[SlapdServer]:
    with SlapdServer(tmp_path / "ldap") as server:
        yield server


def provider(server: SlapdServer, **kw: object) -> LdapConfig:
    options: dict[str, object] = {"name": "ad", "url": server.url, "base": SUFFIX,
                                  "mapping": PATTERN, "bind_dn": BIND_DN,
                                  "password_file": str(server.password_file)}
    options.update(kw)
    return LdapConfig(**options)  # type: ignore[arg-type]


def clients(server: SlapdServer, **kw: object) -> dict[str, set[str]]:
    snap = fetch_ldap(provider(server, **kw))
    return {user: {g.client for g in grants} for user, grants in snap.grants.items()}


def test_client_groups_and_a_nested_group_give_each_user_their_clients(
        slapd: SlapdServer) -> None:
    # carol is in team-initech, which is a member of client-initech
    assert clients(slapd) == {"alice": {"acme"}, "bob": {"globex"}, "carol": {"initech"}}


def test_a_cycle_of_groups_ends_and_keeps_everyone_in_it(slapd: SlapdServer) -> None:
    slapd.add_user("dave")
    slapd.add_group("client-cycle", user_dn("bob"))
    slapd.add_group("team-loop", user_dn("dave"), group_dn("client-cycle"))
    slapd.add_member("client-cycle", group_dn("team-loop"))  # client-cycle ∋ team-loop ∋ it
    slapd.add_member("team-initech", group_dn("client-initech"))  # and a two-group loop
    result = clients(slapd)
    assert result["bob"] == {"globex", "cycle"}
    assert result["dave"] == {"cycle"}
    assert result["carol"] == {"initech"}


def test_a_user_added_to_a_group_is_seen_at_the_next_fetch(slapd: SlapdServer) -> None:
    slapd.add_member("client-globex", user_dn("alice"))
    assert clients(slapd)["alice"] == {"acme", "globex"}
    slapd.remove_member("client-globex", user_dn("alice"))
    assert clients(slapd)["alice"] == {"acme"}


def test_staff_groups_make_their_members_known_without_a_client(slapd: SlapdServer) -> None:
    slapd.add_user("dave")
    slapd.add_group("staff", user_dn("dave"), user_dn("alice"))
    snap = fetch_ldap(provider(slapd, staff_groups=frozenset({"staff"})))
    assert "dave" in snap.known and "dave" not in snap.grants
    assert snap.grants["alice"] == {Grant("acme")}


def test_members_outside_the_searched_subtree_are_looked_up_by_dn(slapd: SlapdServer) -> None:
    slapd.add_member("client-acme", f"uid=ghost,ou=people,{SUFFIX}")  # dangling: no entry
    result = clients(slapd, base=f"ou=groups,{SUFFIX}")  # people are outside the base
    assert result == {"alice": {"acme"}, "bob": {"globex"}, "carol": {"initech"}}


def test_posix_groups_list_member_names(slapd: SlapdServer) -> None:
    conn = slapd.connect()
    try:
        conn.add(f"cn=client-hooli,ou=groups,{SUFFIX}", ["posixGroup"],
                 {"cn": "client-hooli", "gidNumber": 5001, "memberUid": ["alice", "Bob"]})
    finally:
        conn.unbind()
    result = clients(slapd, group_filter="(objectClass=posixGroup)",
                     member_attribute="memberUid")
    assert result == {"alice": {"hooli"}, "bob": {"hooli"}}


def test_a_wrong_password_fails_without_showing_it(
        slapd: SlapdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLWATCH_TEST_LDAP_PW", "Not-The-Passw0rd")
    with pytest.raises(ProviderError) as err:
        fetch_ldap(provider(slapd, password_file=None, password_env="WALLWATCH_TEST_LDAP_PW"))
    assert "invalidCredentials" in str(err.value)
    assert "Not-The-Passw0rd" not in str(err.value)
    assert slapd.url in str(err.value)


def test_a_stopped_server_is_a_provider_error(slapd: SlapdServer) -> None:
    slapd.stop()
    with pytest.raises(ProviderError, match="Connection refused"):
        fetch_ldap(provider(slapd, timeout=2.0))


def test_an_answer_without_any_client_group_is_refused(slapd: SlapdServer) -> None:
    with pytest.raises(ProviderError, match="no group under"):
        fetch_ldap(provider(slapd, base=f"ou=people,{SUFFIX}"))


def test_dns_compare_without_case_or_spaces() -> None:
    assert normalise_dn("CN=Alice Smith, OU=People,DC=Firm") == "cn=alice smith,ou=people,dc=firm"
    assert normalise_dn(r"cn=Smith\, Alice,dc=firm") == r"cn=smith\, alice,dc=firm"


def test_ldaps_checks_the_certificate_against_the_configured_ca_and_the_host_name(
        tmp_path: Path) -> None:
    with SlapdServer(tmp_path / "ldap", tls=True) as server:
        trusted = provider(server, url=server.ldaps_url, ca_file=str(server.ca_file))
        assert fetch_ldap(trusted).grants["alice"] == {Grant("acme")}
        # the system's CAs do not know this private CA: refused, not silently trusted
        with pytest.raises(ProviderError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch_ldap(provider(server, url=server.ldaps_url))
        # nor a certificate for another name (it is issued to 127.0.0.1, not localhost)
        wrong_name = server.ldaps_url.replace("127.0.0.1", "localhost")
        with pytest.raises(ProviderError, match="doesn't match"):
            fetch_ldap(provider(server, url=wrong_name, ca_file=str(server.ca_file)))


def test_start_tls_upgrades_a_plain_ldap_connection(tmp_path: Path) -> None:
    with SlapdServer(tmp_path / "ldap", tls=True) as server:
        cfg = provider(server, start_tls=True, ca_file=str(server.ca_file))
        assert fetch_ldap(cfg).grants["bob"] == {Grant("globex")}
