"""uid/gid -> name for audit events: cached (hits and misses), for a bounded time and
number of ids, so a renamed account shows its new name once the entry expires."""

from __future__ import annotations

import pwd

from monitor.sources.auditd_records import _NameCache, group_of, name_of


class Directory:
    """A passwd database the test can edit, counting the look-ups it answers."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.asked = 0

    def __call__(self, uid: int) -> str:
        self.asked += 1
        return self.names[uid]  # KeyError for an unknown id, as pwd.getpwuid


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_known_id_is_looked_up_once_within_the_ttl() -> None:
    directory, clock = Directory({1001: "li.na"}), Clock()
    cache = _NameCache(directory, ttl=60, clock=clock)
    assert [cache(1001) for _ in range(5)] == ["li.na"] * 5
    assert directory.asked == 1


def test_an_unknown_id_is_remembered_as_unknown_within_the_ttl() -> None:
    directory, clock = Directory({}), Clock()
    cache = _NameCache(directory, ttl=60, clock=clock)
    assert [cache(300001) for _ in range(5)] == [None] * 5
    assert directory.asked == 1


def test_a_renamed_account_shows_its_new_name_after_the_ttl() -> None:
    directory, clock = Directory({1001: "li.na"}), Clock()
    cache = _NameCache(directory, ttl=60, clock=clock)
    assert cache(1001) == "li.na"
    directory.names[1001] = "li.na2"
    clock.now += 59
    assert cache(1001) == "li.na"
    clock.now += 2
    assert cache(1001) == "li.na2"


def test_an_account_created_later_is_named_after_the_ttl() -> None:
    directory, clock = Directory({}), Clock()
    cache = _NameCache(directory, ttl=60, clock=clock)
    assert cache(1002) is None
    directory.names[1002] = "wang.fang"
    clock.now += 61
    assert cache(1002) == "wang.fang"


def test_the_cache_keeps_at_most_its_size_dropping_the_oldest_answer() -> None:
    directory, clock = Directory({n: f"u{n}" for n in range(10)}), Clock()
    cache = _NameCache(directory, ttl=60, size=3, clock=clock)
    for n in range(5):
        cache(n)
    assert list(cache.entries) == [2, 3, 4]
    asked = directory.asked
    assert cache(0) == "u0"  # dropped: asked again
    assert directory.asked == asked + 1


def test_an_id_beyond_the_platform_range_is_unknown_not_an_error() -> None:
    assert name_of(str(2**70)) is None
    assert group_of(str(2**70)) is None


def test_the_real_passwd_database_names_this_machines_accounts() -> None:
    root = pwd.getpwuid(0).pw_name
    assert name_of("0") == root
    assert name_of("0") == root  # the cached answer is the same
    assert name_of("4294967295") is None  # auditd's "unset"
