"""The shipper: a consumer of the local store that bulk-creates events and alerts
in their data streams, each stream with its own cursor ("es.events", "es.alerts").

One round per stream: read the rows after the cursor (a batch capped by count
and bytes), send them as `create` actions with the row's deterministic `_id`,
and classify every item of the answer:

- 2xx, and 409 (already there: an earlier attempt got in) → done;
- 429 and 5xx → sent again, alone, after an exponential backoff with full jitter;
- any other 4xx → the dead-letter table, with the cluster's reason.

Only when every row of the batch is done or dead-lettered do the dead letters
and the new cursor commit, in one transaction. A failed request (cluster down,
dropped connection, timeout, 5xx, rejected credentials) is retried with the
same backoff for as long as it takes: nothing is skipped, and the backlog waits
in the local store (retention spares rows the cursor has not passed). A kill at
any point replays at most the batch in flight, which the `_id`s make harmless.
"""

from __future__ import annotations

import logging
import queue
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from elasticsearch import Elasticsearch

from monitor import chain
from monitor.event import event_id
from monitor.sinks.es_chain import chain_rows
from monitor.sinks.es_client import describe, make_client, status_of
from monitor.sinks.es_config import EsConfig
from monitor.sinks.es_docs import DocContext, alert_doc
from monitor.sinks.es_rows import RowDocs
from monitor.sinks.es_stats import ShipperStats
from monitor.sinks.es_templates import stream_name
from monitor.store import DeadLetter, Store, dumps

log = logging.getLogger(__name__)

CURSORS = {"events": "es.events", "alerts": "es.alerts", "chain": "es.chain"}
DEAD_SOURCE = "elasticsearch"
POLL_SECONDS = 0.5
DISK_CHECK_SECONDS = 30.0
REMIND_SECONDS = 600.0  # a long outage is logged again this often, not on every retry
_FILTER = "errors,items.*._id,items.*.status,items.*.error.type,items.*.error.reason"
_SET_CURSOR = ("INSERT INTO cursors(name, position, state) VALUES (?, ?, NULL)"
               " ON CONFLICT(name) DO UPDATE SET position=excluded.position")


class Item(NamedTuple):  # a tuple: thousands are made per batch
    seq: int
    id: str
    body: bytes  # the action line and the document line


class Shipper(threading.Thread):
    def __init__(self, cfg: EsConfig, store_path: str, ctx: DocContext, stop: threading.Event,
                 client_factory: Callable[[EsConfig], Elasticsearch] = make_client) -> None:
        super().__init__(name="elasticsearch", daemon=True)
        self.cfg, self.store_path, self.ctx, self.stop_flag = cfg, store_path, ctx, stop
        self.client_factory = client_factory
        self.stats = ShipperStats()
        self.rows = RowDocs(ctx)
        self.rng = random.Random()
        self._failing_since: float | None = None
        self._last_reminder = 0.0
        self._next_disk_check = 0.0
        self._version_checked = False

    # -- the loop ----------------------------------------------------------
    def run(self) -> None:
        store = Store(self.store_path)
        client = self.client_factory(self.cfg)
        reader: Reader | None = None
        try:
            while not self.stop_flag.is_set():
                # alerts first (people wait for them); they are few: read them inline
                position = store.cursor(CURSORS["alerts"])[0]
                alerts = self.read(store, "alerts", position)
                moved = bool(alerts) and self.ship(store, client, "alerts", alerts)
                # then the chain's new links: a copy of the tamper evidence off the host
                links = self.read(store, "chain", store.cursor(CURSORS["chain"])[0])
                if links and self.ship(store, client, "chain", links):
                    moved = True
                if reader is None or reader.error:
                    if reader is not None:
                        reader.close()
                    reader = Reader(self, store.cursor(CURSORS["events"])[0])
                items = reader.next(0.0 if moved else POLL_SECONDS)
                if items:
                    if self.ship(store, client, "events", items):
                        moved = True
                    else:  # not committed: read again from the saved cursor
                        reader.close()
                        reader = None
                self._watch_backlog(store)
        finally:
            if reader is not None:
                reader.close()
            client.close()
            store.close()

    def ship(self, store: Store, client: Elasticsearch, stream: str, items: list[Item]) -> bool:
        """Deliver a batch and commit its dead letters and the cursor; True when committed."""
        dead = self.deliver(client, stream, items, store)
        if dead is None:  # stopping: leave the cursor, the batch goes again next start
            return False
        try:
            with store.transaction():
                store.insert_dead(dead)
                store.db.execute(_SET_CURSOR, (CURSORS[stream], items[-1].seq))
        except Exception as exc:  # disk full, locked: ship again from the saved cursor
            self.stats.error = f"cannot store the cursor: {exc}"
            log.error("elasticsearch: %s; the batch will be sent again (harmless)",
                      self.stats.error)
            self.stop_flag.wait(self.cfg.backoff_max)
            return False
        self.stats.shipped[stream] += len(items) - len(dead)
        self.stats.dead += len(dead)
        for letter in dead:
            log.error("elasticsearch: %s seq %s rejected, kept in dead_letters: %s",
                      stream, letter.offset, letter.reason)
        return True

    def read(self, store: Store, stream: str, position: int,
             rows_of: RowDocs | None = None) -> list[Item]:
        """The rows after `position`: at most max_events, at most max_bytes (but one at
        least). `rows_of` builds event documents (one per thread)."""
        rows: Iterable[tuple[int, str, dict[str, Any]]]
        if stream == "events":
            rows = (rows_of or self.rows).read(store, position, self.cfg.max_events)
        elif stream == "chain":
            rows = chain_rows(store, position, self.cfg.max_events, self.ctx)
        else:
            rows = [(seq, str(doc["event"]["id"]), alert_doc(doc, self.ctx))
                    for seq, doc in store.alerts_after(position, self.cfg.max_events)]
        items: list[Item] = []
        size = 0
        for seq, doc_id, doc in rows:
            body = b'{"create":{"_id":"' + doc_id.encode() + b'"}}\n' + dumps(doc) + b"\n"
            if items and size + len(body) > self.cfg.max_bytes:
                break
            items.append(Item(seq, doc_id, body))
            size += len(body)
        return items

    # -- one batch -----------------------------------------------------------
    def deliver(self, client: Elasticsearch, stream: str, items: list[Item],
                store: Store | None = None) -> list[DeadLetter] | None:
        """Send `items` until each is done or rejected; the rejected ones as dead
        letters. None when told to stop first. While the cluster fails, the backlog
        and the disk are watched on `store` (an outage can last hours)."""
        index = stream_name(stream, self.cfg.namespace)
        dead: list[DeadLetter] = []
        chunks = [items]  # a 413 splits a chunk in halves
        attempt = 0
        while chunks:
            if self.stop_flag.is_set():
                return None
            chunk = chunks[0]
            try:
                # pre-serialised NDJSON: the client passes bytes through untouched
                body: Any = b"".join(i.body for i in chunk)
                started = time.perf_counter()
                try:
                    answer = client.bulk(index=index, operations=body, filter_path=_FILTER)
                finally:
                    self.stats.bulk_seconds.observe(stream, time.perf_counter() - started)
            except Exception as exc:
                if status_of(exc) == 413 and len(chunk) > 1:
                    half = len(chunk) // 2
                    chunks[0:1] = [chunk[:half], chunk[half:]]
                    continue
                if status_of(exc) == 413:
                    dead.append(self._dead(stream, index, chunk[0], "HTTP 413: the document"
                                           " is larger than the cluster accepts"))
                    chunks.pop(0)
                    continue
                self._failed(exc)
                if store is not None:
                    self._watch_backlog(store)
                attempt = self._backoff(attempt)
                continue
            self._succeeded(client)
            retry = self._classify(stream, index, chunk, answer.body, dead)
            if retry:
                chunks[0] = retry
                self.stats.retries += len(retry)
                attempt = self._backoff(attempt)
            else:
                chunks.pop(0)
                attempt = 0
        return dead

    def _classify(self, stream: str, index: str, chunk: list[Item], body: Any,
                  dead: list[DeadLetter]) -> list[Item]:
        """The items to send again; rejected ones go to `dead`."""
        if not isinstance(body, dict):
            return chunk
        if body.get("errors") is False:
            return []
        results = body.get("items")
        if not isinstance(results, list) or len(results) != len(chunk):
            log.warning("elasticsearch: a bulk answer did not list every item; sending again")
            return chunk
        retry: list[Item] = []
        for item, result in zip(chunk, results, strict=True):
            outcome: dict[str, Any] = next(iter(result.values()), {}) \
                if isinstance(result, dict) else {}
            status = int(outcome.get("status", 0) or 0)
            if outcome.get("_id") not in (None, item.id):
                retry.append(item)  # not the answer for this item: never guess
            elif 200 <= status < 300 or status == 409:
                continue
            elif status == 429 or status >= 500 or status == 0:
                retry.append(item)
            else:
                error = outcome.get("error") or {}
                reason = f"HTTP {status} {error.get('type', '')}: {error.get('reason', '')}"
                dead.append(self._dead(stream, index, item, reason[:2000]))
        return retry

    def _dead(self, stream: str, index: str, item: Item, reason: str) -> DeadLetter:
        doc = item.body.split(b"\n", 1)[1].rstrip(b"\n")
        return DeadLetter(id=event_id(DEAD_SOURCE, stream, item.id), source=DEAD_SOURCE,
                          file=index, offset=item.seq, reason=reason, line=doc)

    # -- failures and backoff ----------------------------------------------
    def _backoff(self, attempt: int) -> int:
        ceiling = min(self.cfg.backoff_max, self.cfg.backoff_initial * 2 ** min(attempt, 30))
        self.stop_flag.wait(self.rng.uniform(0, ceiling))  # full jitter
        return attempt + 1

    def _failed(self, exc: BaseException) -> None:
        text = describe(exc, self.cfg.auth)
        now = time.monotonic()
        self.stats.connected = status_of(exc) is not None
        self.stats.error = text
        if self._failing_since is None:
            self._failing_since = self._last_reminder = now
            hint = ""
            if status_of(exc) in (401, 403):
                hint = f" (check the credential from {self.cfg.auth.origin})"
            log.warning("elasticsearch: cannot ship: %s%s; retrying with backoff, events wait"
                        " in the local store", text, hint)
        elif now - self._last_reminder >= REMIND_SECONDS:
            self._last_reminder = now
            log.warning("elasticsearch: still cannot ship after %.0f s: %s; backlog %d events,"
                        " %d alerts", now - self._failing_since, text,
                        self.stats.backlog["events"], self.stats.backlog["alerts"])
        else:
            log.debug("elasticsearch: retry failed: %s", text)

    def _succeeded(self, client: Elasticsearch) -> None:
        self.stats.connected = True
        if self._failing_since is not None:
            log.info("elasticsearch: shipping again after %.0f s",
                     time.monotonic() - self._failing_since)
            self._failing_since = None
            self.stats.error = None
        if not self._version_checked:
            self._version_checked = True
            self._check_version(client)

    def _check_version(self, client: Elasticsearch) -> None:
        try:
            number = str(client.info()["version"]["number"])
        except Exception as exc:  # only a diagnosis; shipping goes on
            log.debug("elasticsearch: cannot read the cluster version: %s",
                      describe(exc, self.cfg.auth))
            return
        if not number.startswith("9."):
            log.error("elasticsearch: the cluster runs %s but this client speaks 9.x only;"
                      " use a 9.x cluster", number)

    # -- backlog and disk ------------------------------------------------------
    def _watch_backlog(self, store: Store) -> None:
        batch, _ = chain.head(store.db)
        for stream, head in (("events", store.head()), ("alerts", store.alerts_head()),
                             ("chain", batch)):
            self.stats.backlog[stream] = max(0, head - store.cursor(CURSORS[stream])[0])
        now = time.monotonic()
        if now < self._next_disk_check:
            return
        self._next_disk_check = now + DISK_CHECK_SECONDS
        try:
            usage = shutil.disk_usage(Path(self.store_path).parent)
        except OSError:
            return
        used = 100.0 * (usage.total - usage.free) / usage.total if usage.total else 0.0
        self.stats.disk_used_percent = used
        high = used >= self.cfg.disk_high_water and sum(self.stats.backlog.values()) > 0
        if high and not self.stats.high_water:
            log.warning("elasticsearch: the store's disk is %.0f%% full (high-water mark %.0f%%)"
                        " while %d events wait to be shipped", used, self.cfg.disk_high_water,
                        self.stats.backlog["events"])
        elif self.stats.high_water and not high:
            log.info("elasticsearch: the store's disk is below the high-water mark again")
        self.stats.high_water = high


class Reader:
    """Reads and builds the next batches of events in a thread of its own while the
    shipper sends the current one: building documents costs about as much as sending
    them, and the two overlap. Batches follow each other from `position` on; the
    shipper discards the reader (and starts a new one at its cursor) when a batch
    could not be committed."""

    DEPTH = 2

    def __init__(self, shipper: Shipper, position: int) -> None:
        self.shipper, self.position = shipper, position
        self.batches: queue.Queue[list[Item]] = queue.Queue(self.DEPTH)
        self.halt = threading.Event()
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, name="elasticsearch reader",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        shipper = self.shipper
        store = Store(shipper.store_path)
        rows = RowDocs(shipper.ctx)
        position = self.position
        try:
            while not self.halt.is_set():
                items = shipper.read(store, "events", position, rows)
                if not items:
                    self.halt.wait(POLL_SECONDS)
                    continue
                while not self.halt.is_set():
                    try:
                        self.batches.put(items, timeout=POLL_SECONDS)
                        break
                    except queue.Full:
                        continue
                position = items[-1].seq
        except Exception as exc:  # locked or unreadable store: the shipper starts a new one
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("elasticsearch: cannot read the store: %s; retrying", self.error)
            self.halt.wait(shipper.cfg.backoff_max)
        finally:
            store.close()

    def next(self, timeout: float) -> list[Item] | None:
        try:
            return self.batches.get(timeout=timeout) if timeout else self.batches.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        self.halt.set()
        self.thread.join()
