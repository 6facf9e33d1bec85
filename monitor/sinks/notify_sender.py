"""Delivering outbox rows through apprise: one thread per route, so a mail server
that is down does not hold up the chat webhook, with up to PARALLEL deliveries of
that route in flight, so a burst of alerts does not queue behind each SMTP exchange.

apprise's `notify()` returns an object that is truthy on success (not `True`),
and explains failures only through its logger: we capture this thread's
warnings for the row's `last_error`, masked. Each delivery uses a fresh
Apprise object in synchronous mode with in-memory storage: nothing is written
to disk, and apprise's client-side pacing (5.5 s between messages for many
services) does not delay the first message of a burst; a service that refuses
a burst is retried with our backoff like any other failure.

Exactly once cannot be promised by a sender alone: a SIGKILL after the server took
a message and before "sent" is committed sends it again on restart (no protocol
tells us what the server took). So every message carries its delivery id (the
outbox row id, the same on every attempt) in an `X-Wallwatch-Delivery` header for
mail and webhooks: a receiver that keeps the ids it has seen — a ticket system, a
mail rule, a chat bot — gets each message once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from monitor.event import ts_to_us
from monitor.sinks.notify_config import NotifyConfig, Route
from monitor.sinks.notify_mask import Masker, display_url
from monitor.sinks.notify_outbox import (
    OutboxRow,
    claim,
    due,
    ensure_schema,
    next_due,
    record_result,
    url_hash,
)
from monitor.store import Store

log = logging.getLogger(__name__)

Deliver = Callable[[str, str, str], tuple[bool, str]]
POLL_SECONDS = 0.5
PARALLEL = 4  # deliveries in flight per route
RETRY_SECONDS = 5.0
MAX_ERROR = 1000
DELIVERY_HEADER = "X-Wallwatch-Delivery"
# apprise services that take extra headers as `+Name=value` URL parameters
HEADER_SCHEMES = frozenset({"mailto", "mailtos", "json", "jsons", "xml", "xmls", "form",
                            "forms"})


def with_delivery_id(url: str, delivery: str) -> str:
    """The URL that sends one message with its delivery id as a header, where the
    service takes headers; other services get the URL unchanged."""
    if urlsplit(url).scheme.lower() not in HEADER_SCHEMES:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{quote('+' + DELIVERY_HEADER)}={quote(delivery, safe='')}"


class _Capture(logging.Handler):
    """apprise's warnings while one message is being sent. apprise explains a failure
    only through its logger, from its own worker threads, and other routes send at the
    same time: the lines that name this URL's host are preferred (all are masked)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def reason(self, url: str) -> str:
        host = urlsplit(url).hostname or ""
        mine = [line for line in self.lines if host and host in line]
        return "; ".join(dict.fromkeys(mine or self.lines))


def apprise_deliver(url: str, title: str, body: str) -> tuple[bool, str]:
    """Send one message to one URL; (delivered, why not)."""
    import apprise

    asset = apprise.AppriseAsset(async_mode=False, storage_mode="memory")
    app = apprise.Apprise(asset=asset)
    if not app.add(url):
        return False, "apprise does not understand the URL"
    capture = _Capture()
    logger = logging.getLogger("apprise")
    logger.addHandler(capture)
    try:
        result = app.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
    except Exception as exc:  # a plugin bug must not kill the sender
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        logger.removeHandler(capture)
    if result:  # truthy on success: apprise 2.x returns an AppriseResult, not True
        return True, ""
    return False, capture.reason(url) or "the service did not accept the message"


def now_us() -> int:
    return ts_to_us(datetime.now(UTC))


class RouteSender(threading.Thread):
    def __init__(self, store_path: str, cfg: NotifyConfig, route: Route, stop: threading.Event,
                 masker: Masker, deliver: Deliver = apprise_deliver) -> None:
        super().__init__(name=f"notify {route.name}", daemon=True)
        self.store_path, self.cfg, self.route = store_path, cfg, route
        self.stop_flag, self.masker, self.deliver = stop, masker, deliver
        self.wake = threading.Event()
        self.pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix=f"notify {route.name}")
        self.sent = 0
        self.failed = 0
        self.error: str | None = None

    def run(self) -> None:
        store = Store(self.store_path)
        try:
            ensure_schema(store.db)
            while not self.stop_flag.is_set():
                try:
                    busy = self._step(store)
                except Exception as exc:  # database locked, disk full: try again later
                    self.error = self.masker(f"{type(exc).__name__}: {exc}")
                    log.error("notify %s: %s", self.route.name, self.error)
                    self.stop_flag.wait(RETRY_SECONDS)
                    continue
                if not busy:
                    self._sleep(store)
        finally:
            self.pool.shutdown(wait=True)
            store.close()

    def _sleep(self, store: Store) -> None:
        upcoming = next_due(store.db, self.route.name)
        timeout = POLL_SECONDS
        if upcoming is not None:
            timeout = min(POLL_SECONDS, max(0.01, (upcoming - now_us()) / 1_000_000))
        self.wake.wait(timeout)
        self.wake.clear()

    def _step(self, store: Store) -> bool:
        """Deliver the due rows, up to PARALLEL at a time: a burst of alerts (a mass
        delete) should not queue behind one slow SMTP exchange after another. Only this
        thread touches the store; the workers only talk to the services."""
        rows = due(store.db, self.route.name, now_us(), limit=4 * PARALLEL)
        claimed = [(row, row.attempts + 1) for row in rows if self._claim(store, row)]
        if len(claimed) == 1:
            row, attempt = claimed[0]
            self._finish(store, row, attempt, *self._attempt(row))
            return True
        futures = {self.pool.submit(self._attempt, row): (row, attempt)
                   for row, attempt in claimed}
        for future in as_completed(futures):
            row, attempt = futures[future]
            self._finish(store, row, attempt, *future.result())
        return bool(rows)

    def send(self, store: Store, row: OutboxRow) -> str:
        """One attempt at one row, here and now; returns the row's new state."""
        if not self._claim(store, row):
            return "claimed elsewhere"
        return self._finish(store, row, row.attempts + 1, *self._attempt(row))

    def _claim(self, store: Store, row: OutboxRow) -> bool:
        delay = self.cfg.retry.delay(row.attempts + 1)
        with store.transaction():  # counted before it is made: a crash mid-send is an attempt
            return claim(store.db, row, now_us() + int(delay * 1_000_000))

    def _attempt(self, row: OutboxRow) -> tuple[set[str], list[str], float]:
        """Send to every URL of the route that does not have it yet: (URLs that have it
        now, errors, seconds taken). No store access: this runs in a worker."""
        started = time.monotonic()
        done = set(row.done)
        errors: list[str] = []
        for url in self.route.urls:
            tag = url_hash(url)
            if tag in done:
                continue
            try:
                ok, why = self.deliver(with_delivery_id(url, row.id), row.title, row.body)
            except Exception as exc:  # the deliverer must not take the sender down
                ok, why = False, f"{type(exc).__name__}: {exc}"
            if ok:
                done.add(tag)
            else:
                errors.append(f"{display_url(url)}: {why}")
        return done, errors, time.monotonic() - started

    def _finish(self, store: Store, row: OutboxRow, attempt: int, done: set[str],
                errors: list[str], took: float) -> str:
        if all(url_hash(u) in done for u in self.route.urls):
            state, error = "sent", None
        else:
            state = "failed" if attempt >= self.cfg.retry.attempts else "pending"
            error = self.masker("; ".join(errors))[:MAX_ERROR]
        with store.transaction():  # `done` too: a retry goes only to the URLs that failed
            record_result(store.db, row.id, state, now_us(), error, done)
        self._log(row, state, attempt, error, took)
        return state

    def _log(self, row: OutboxRow, state: str, attempt: int, error: str | None,
             took: float) -> None:
        what = f"{row.kind} {row.subject} to route {self.route.name}"
        if state == "sent":
            self.sent += 1
            self.error = None
            log.info("notify: sent %s (attempt %d, %.0f ms)", what, attempt, took * 1000)
        elif state == "failed":
            self.failed += 1
            self.error = error
            log.error("notify: gave up on %s after %d attempts: %s", what, attempt, error)
        else:
            self.error = error
            # an outage of an hour retries every row a dozen times: log the first
            # failure and then fewer and fewer (attempts 1, 2, 4, 8, …)
            level = logging.WARNING if attempt & (attempt - 1) == 0 else logging.DEBUG
            log.log(level, "notify: %s failed (attempt %d of %d, next in %.1fs): %s", what,
                    attempt, self.cfg.retry.attempts, self.cfg.retry.delay(attempt), error)

