"""The assignment book: time-bounded grants, the staff table merged in, unknown users,
and the holder that swaps books under readers."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.assignments.book import AssignmentBook, BookHolder, Grant, Snapshot
from monitor.assignments.staff import make_book
from monitor.enrich import Enricher
from tests.assignments.helpers import at, make_config
from tests.helpers import make_event

SHANGHAI = ZoneInfo("Asia/Shanghai")


def book(*pairs: tuple[str, Grant], known: tuple[str, ...] = ()) -> AssignmentBook:
    return AssignmentBook.build([Snapshot.build(pairs, known)], SHANGHAI)


def test_a_grant_holds_from_its_first_to_its_last_day_inclusive() -> None:
    b = book(("alice", Grant("acme", date(2026, 3, 1), date(2026, 3, 31))))
    assert b.assigned("alice", "acme", at("2026-02-28")) is False
    assert b.assigned("alice", "acme", at("2026-03-01")) is True
    assert b.assigned("alice", "acme", at("2026-03-31")) is True
    assert b.assigned("alice", "acme", at("2026-04-01")) is False


def test_days_are_the_firms_days_not_utc_days() -> None:
    b = book(("alice", Grant("acme", None, date(2026, 3, 31))))
    # 16:30 UTC on 31 March is 00:30 on 1 April in Shanghai: the grant has ended
    assert b.assigned("alice", "acme", datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) is True
    assert b.assigned("alice", "acme", datetime(2026, 3, 31, 16, 30, tzinfo=UTC)) is False


def test_open_ended_grants_and_several_periods_for_one_client() -> None:
    b = book(("alice", Grant("acme", None, date(2025, 12, 31))),
             ("alice", Grant("acme", date(2026, 6, 1), None)))
    assert b.assigned("alice", "acme", at("2020-01-01")) is True
    assert b.assigned("alice", "acme", at("2026-03-01")) is False
    assert b.assigned("alice", "acme", at("2030-01-01")) is True


def test_a_user_no_provider_knows_is_unknown_not_unassigned() -> None:
    b = book(("alice", Grant("acme")), known=("dave",))
    assert b.assigned("mallory", "acme", at("2026-03-01")) is None
    assert b.assigned("dave", "acme", at("2026-03-01")) is False  # known staff, no client


def test_names_and_client_codes_compare_without_case_or_domain() -> None:
    b = book(("FIRM\\Alice", Grant("ACME")))
    for name in ("alice", "ALICE", "alice@firm.local", "FIRM\\alice"):
        assert b.assigned(name, "acme", at("2026-03-01")) is True
    assert b.assigned("alice", "Acme", at("2026-03-01")) is True


def test_providers_are_merged_with_the_staff_table(tmp_path: Path) -> None:
    config = make_config(tmp_path, """\
staff:
  alice: [acme]
  carol: {clients: ["*"], except: [globex]}
  erin: {clients: [acme], except: [initech], left: 2026-06-30}
""")
    directory = Snapshot.build([("alice", Grant("globex")), ("carol", Grant("globex")),
                                ("erin", Grant("initech")), ("bob", Grant("globex"))])
    b = make_book(config, {"ad": directory})
    day = at("2026-03-02")
    assert b.assigned("alice", "acme", day) is True  # staff table
    assert b.assigned("alice", "globex", day) is True  # directory
    assert b.assigned("bob", "globex", day) is True  # directory only
    assert b.assigned("bob", "acme", day) is False
    assert b.assigned("carol", "initech", day) is True  # the `*` role
    assert b.assigned("carol", "globex", day) is False  # `except:` beats the directory
    assert b.assigned("erin", "initech", day) is False
    assert b.is_departed("erin", at("2026-06-30")) is False
    assert b.is_departed("erin", at("2026-07-01")) is True
    assert b.is_departed("alice", at("2026-07-01")) is None
    assert b.is_archived("OldCo") and not b.is_archived("acme")


def test_snapshots_survive_a_round_trip_through_json() -> None:
    snap = Snapshot.build([("alice", Grant("acme", date(2026, 1, 1), None)),
                           ("bob", Grant("*"))], known=["carol"])
    assert Snapshot.from_json(snap.to_json()) == snap
    assert len(snap) == 2 and snap.known == {"alice", "bob", "carol"}


def test_each_event_is_judged_by_one_whole_book_while_books_are_swapped(
        tmp_path: Path) -> None:
    """Book A: alice on acme, staying. Book B: alice off acme, departed. An event must
    come out (assigned, departed) = (True, False) or (False, True), never a mix."""
    config = make_config(tmp_path)
    book_a = AssignmentBook.build([Snapshot.build([("alice", Grant("acme"))])], SHANGHAI,
                                  departed={"alice": date(2099, 1, 1)})
    book_b = AssignmentBook.build([Snapshot.build([], ["alice"])], SHANGHAI,
                                  departed={"alice": date(2000, 1, 1)})
    holder = BookHolder(book_a)
    enricher = Enricher(config, off_hours=lambda _ts: False, assignments=holder)
    seen: set[tuple[bool | None, bool | None]] = set()
    stop = threading.Event()

    def swapper() -> None:
        while not stop.is_set():
            holder.swap(book_b if holder.current is book_a else book_a)

    thread = threading.Thread(target=swapper)
    thread.start()
    try:
        for n in range(5_000):
            ev = enricher(make_event(n, client=None, assigned=None))
            seen.add((ev.assigned, ev.departed))
    finally:
        stop.set()
        thread.join()
    assert seen <= {(True, False), (False, True)}
    assert holder.swaps > 0
