"""The outbox state machine against real receivers (json:// through apprise):
sent once, retried with backoff, failed with a masked reason, nothing resent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.sinks.notify_config import NotifyConfig
from monitor.sinks.notify_outbox import OutboxRow, claim, enqueue, prune, rows
from monitor.sinks.notify_sender import DELIVERY_HEADER, RouteSender, now_us, with_delivery_id
from monitor.store import Store
from tests.fixtures.smtp import JsonReceiver, SmtpServer, free_port
from tests.sinks.notify_support import notify_config


def config(tmp_path: Path, *urls: str, attempts: int = 3, backoff: str = "1s") -> NotifyConfig:
    listed = ", ".join(f'"{u}"' for u in urls)
    retry = f"{{attempts: {attempts}, backoff: {backoff}, max_backoff: 2s}}"
    return notify_config(tmp_path, f"""  retry: {retry}
  routes:
    - name: hook
      urls: [{listed}]
""")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "w.db")
    from monitor.sinks.notify_outbox import ensure_schema

    ensure_schema(s.db)
    yield s
    s.close()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[JsonReceiver]:
    with JsonReceiver(tmp_path / "http") as r:
        yield r


def sender(store: Store, cfg: NotifyConfig) -> RouteSender:
    return RouteSender(store.path, cfg, cfg.routes[0], threading.Event(), cfg.masker())


def queue(store: Store, *subjects: str) -> None:
    with store.transaction():
        enqueue(store.db, [OutboxRow.new("hook", "alert", s, "inc-1", [s], 0, now_us(),
                                         f"[HIGH] {s}", f"body of {s}") for s in subjects])


def state(store: Store) -> dict[str, tuple[str, int]]:
    return {r.subject: (r.state, r.attempts) for r in rows(store.db, limit=100)}


def test_a_row_is_delivered_once_and_never_again(tmp_path: Path, store: Store,
                                                 receiver: JsonReceiver) -> None:
    cfg = config(tmp_path, receiver.url())
    queue(store, "a1")
    assert sender(store, cfg)._step(store)
    [post] = receiver.posts()
    assert post["body"]["title"] == "[HIGH] a1" and post["body"]["message"] == "body of a1"
    assert state(store) == {"a1": ("sent", 1)}
    assert not sender(store, cfg)._step(store)  # a new sender, as after a restart
    assert len(receiver.posts()) == 1


def test_the_same_delivery_enqueued_twice_is_one_row(store: Store) -> None:
    queue(store, "a1")
    queue(store, "a1")
    assert len(rows(store.db)) == 1


def test_a_failing_channel_is_retried_with_backoff_then_failed(tmp_path: Path,
                                                               store: Store) -> None:
    url = f"json://127.0.0.1:{free_port()}/hook/SECRETPATHTOKEN?apikey=SECRETQUERYKEY"
    cfg = config(tmp_path, url, attempts=3)
    queue(store, "a1")
    s = sender(store, cfg)
    before = now_us()
    assert s._step(store)
    [row] = rows(store.db)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.next_attempt >= before + 1_000_000  # backoff 1 s after the first failure
    assert "Connection error" in (row.last_error or "")
    assert not s._step(store)  # not due yet
    assert s.send(store, row) == "pending"
    [row] = rows(store.db)
    assert row.next_attempt >= now_us() + 1_500_000  # then 2 s
    assert s.send(store, row) == "failed"
    [row] = rows(store.db)
    assert (row.state, row.attempts) == ("failed", 3)
    assert "SECRETPATHTOKEN" not in (row.last_error or "")
    assert "SECRETQUERYKEY" not in (row.last_error or "")
    assert "json://127.0.0.1:" in (row.last_error or "")  # which URL, masked


def test_a_channel_back_after_an_outage_gets_every_message_once(
        tmp_path: Path, store: Store, receiver: JsonReceiver) -> None:
    cfg = config(tmp_path, receiver.url(), attempts=10, backoff="0.2s")
    receiver.stop()
    queue(store, *(f"a{i}" for i in range(5)))
    s = sender(store, cfg)
    s._step(store)
    assert {v for v in state(store).values()} == {("pending", 1)}
    receiver.start()
    deadline = time.monotonic() + 10
    while any(st != "sent" for st, _ in state(store).values()) and time.monotonic() < deadline:
        s._step(store)
        time.sleep(0.05)
    assert {v[0] for v in state(store).values()} == {"sent"}
    assert sorted(p["body"]["title"] for p in receiver.posts()) == [
        f"[HIGH] a{i}" for i in range(5)]


def test_a_retry_after_a_partial_failure_goes_only_to_the_urls_that_failed(
        tmp_path: Path, store: Store, receiver: JsonReceiver) -> None:
    other = JsonReceiver(tmp_path / "http2")
    cfg = config(tmp_path, receiver.url(), other.url())
    queue(store, "a1")
    s = sender(store, cfg)
    [row] = rows(store.db)
    assert s.send(store, row) == "pending"  # the second receiver is not running
    with other:
        [row] = rows(store.db)
        assert len(row.done) == 1
        assert s.send(store, row) == "sent"
        assert len(other.posts()) == 1
    assert len(receiver.posts()) == 1  # the first URL was not sent it twice


def test_a_crash_between_claim_and_send_loses_nothing(tmp_path: Path, store: Store,
                                                      receiver: JsonReceiver) -> None:
    cfg = config(tmp_path, receiver.url(), backoff="0.1s")
    queue(store, "a1")
    [row] = rows(store.db)
    with store.transaction():  # the attempt was counted, then the process died
        assert claim(store.db, row, now_us() + 100_000)
    time.sleep(0.15)
    assert sender(store, cfg)._step(store)  # the restarted daemon's sender
    assert state(store) == {"a1": ("sent", 2)}
    assert len(receiver.posts()) == 1


def test_a_kill_after_the_server_took_it_sends_it_again_with_the_same_delivery_id(
        tmp_path: Path, store: Store, receiver: JsonReceiver) -> None:
    with SmtpServer(tmp_path / "smtp") as smtp:
        cfg = config(tmp_path, receiver.url(), smtp.url(), backoff="0.1s")
        queue(store, "a1")
        [row] = rows(store.db)
        first = sender(store, cfg)
        with store.transaction():
            assert claim(store.db, row, now_us() + 100_000)
        done, errors, _ = first._attempt(row)  # both servers took it; then the kill
        assert len(done) == 2 and not errors
        time.sleep(0.15)
        assert sender(store, cfg)._step(store)  # the restarted daemon's sender
        assert state(store) == {"a1": ("sent", 2)}
        posts, mails = receiver.posts(), smtp.messages()
    # twice on the wire (no protocol says what a server took before a kill) …
    assert len(posts) == 2 and len(mails) == 2
    # … and both times as the same delivery, which a receiver keeping ids drops
    assert {p["headers"][DELIVERY_HEADER] for p in posts} == {row.id}
    assert {str(m[DELIVERY_HEADER]) for m in mails} == {row.id}


def test_the_delivery_id_goes_where_the_service_takes_headers_and_nowhere_else() -> None:
    assert with_delivery_id("mailto://h:25?from=a@b&to=c@d", "x1@mail") == (
        "mailto://h:25?from=a@b&to=c@d&%2BX-Wallwatch-Delivery=x1%40mail")
    assert with_delivery_id("jsons://h/hook", "x1@hook") == (
        "jsons://h/hook?%2BX-Wallwatch-Delivery=x1%40hook")
    slack = "slack://T000/B000/XXXX"
    assert with_delivery_id(slack, "x1@chat") == slack


def test_the_sender_thread_delivers_when_woken(tmp_path: Path, store: Store,
                                               receiver: JsonReceiver) -> None:
    cfg = config(tmp_path, receiver.url())
    s = sender(store, cfg)
    s.start()
    try:
        queue(store, "a1")
        s.wake.set()
        deadline = time.monotonic() + 5
        while not receiver.posts() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        s.stop_flag.set()
        s.join(5)
    assert len(receiver.posts()) == 1 and not s.is_alive()


def test_pruning_forgets_old_finished_deliveries_but_never_pending_ones(store: Store) -> None:
    with store.transaction():
        enqueue(store.db, [
            OutboxRow.new("hook", "alert", "old-sent", None, [], 0, 1_000, "t", "b", "sent"),
            OutboxRow.new("hook", "alert", "old-pending", None, [], 0, 1_000, "t", "b"),
            OutboxRow.new("hook", "alert", "new-sent", None, [], 0, now_us(), "t", "b", "sent"),
        ])
        assert prune(store.db, now_us() - 1_000_000) == 1
    assert sorted(state(store)) == ["new-sent", "old-pending"]
