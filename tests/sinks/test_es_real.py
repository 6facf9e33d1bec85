"""The Elasticsearch scenarios against a real cluster (and Kibana), opt-in:

    WALLWATCH_TEST_ES=https://localhost:9200        the cluster (9.x); without it: skipped
    WALLWATCH_TEST_ES_API_KEY=...                   an encoded API key, or
    WALLWATCH_TEST_ES_USER=elastic  WALLWATCH_TEST_ES_PASSWORD=...
    WALLWATCH_TEST_ES_CA=deploy/certs/ca/ca.crt     the CA of the cluster's certificate
    WALLWATCH_TEST_KIBANA=http://localhost:5601     for the dashboard import (optional)

Each test ships into its own namespace (logs-wallwatch.*-t<random>) and deletes
its data streams afterwards; `es setup` installs the shared templates (run twice).
README "Elasticsearch and Kibana" shows how to run this with deploy/compose.yaml.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch

from monitor.event import Event, event_id
from monitor.search.es_dsl import es_search
from monitor.sinks.es_client import make_client
from monitor.sinks.es_config import EsConfig, parse_section
from monitor.sinks.es_templates import stream_name
from monitor.store import Store
from monitor.yamlloc import load_yaml
from tests.daemon_process import REPO, Daemon, wait_for, write_config
from tests.search.corpus import EVENTS as CORPUS
from tests.search.corpus import Corpus
from tests.sinks.es_helpers import (
    T0,
    Running,
    caught_up,
    fill,
    install_templates,
    ship_all,
    source_events,
)

URL = os.environ.get("WALLWATCH_TEST_ES", "")
KIBANA = os.environ.get("WALLWATCH_TEST_KIBANA", "")
pytestmark = [pytest.mark.es, pytest.mark.skipif(not URL, reason="WALLWATCH_TEST_ES not set")]


def section(url: str = URL, namespace: str = "default", extra: str = "") -> str:
    if os.environ.get("WALLWATCH_TEST_ES_API_KEY"):
        auth = "{api_key_env: WALLWATCH_TEST_ES_API_KEY}"
    else:
        user = os.environ.get("WALLWATCH_TEST_ES_USER", "elastic")
        auth = f"{{username: {user}, password_env: WALLWATCH_TEST_ES_PASSWORD}}"
    ca = os.environ.get("WALLWATCH_TEST_ES_CA")
    return (f"elasticsearch:\n  url: '{url}'\n  namespace: {namespace}\n  auth: {auth}\n"
            + (f"  ca_file: {os.path.abspath(ca)}\n" if ca else "")
            + "  backoff: {initial: 0.05s, max: 1s}\n" + extra)


def es_cfg(namespace: str, url: str = URL) -> EsConfig:
    node = load_yaml(section(url, namespace), "<test>")["elasticsearch"]
    return parse_section(node, REPO)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A namespace of its own for one test, the shared templates in place."""
    name = "t" + secrets.token_hex(4)
    install_templates(es_cfg(name))
    yield name
    client = make_client(es_cfg(name))
    for stream in ("events", "alerts"):
        with contextlib.suppress(Exception):
            client.indices.delete_data_stream(name=stream_name(stream, name))
    client.close()


def wallwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def shipped_ids(client: Elasticsearch, index: str) -> list[str]:
    """Every event.id in the data stream (duplicates included), paging through it all."""
    client.indices.refresh(index=index)
    ids: list[str] = []
    after: list[Any] | None = None
    while True:
        extra: dict[str, Any] = {"search_after": after} if after else {}
        hits = client.search(index=index, size=5000, source_includes=["event.id"],
                             sort=[{"event.id": "asc"}], query={"match_all": {}},
                             **extra)["hits"]["hits"]
        ids += [h["_source"]["event"]["id"] for h in hits]
        if len(hits) < 5000:
            return ids
        after = hits[-1]["sort"]


def test_setup_twice_changes_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path / "w.yaml", tmp_path / "w.db", [], extra=section())
    first = wallwatch(config, "es", "setup")
    assert first.returncode == 0, first.stdout + first.stderr
    second = wallwatch(config, "es", "setup")
    assert second.returncode == 0, second.stdout
    outcomes = {line.split(": ", 1)[1].split(" ")[0] for line in second.stdout.splitlines()}
    assert outcomes == {"reachable", "unchanged"}, second.stdout


def test_events_ship_exactly_once_across_a_sigkill(tmp_path: Path, namespace: str) -> None:
    config = write_config(tmp_path / "w.yaml", tmp_path / "w.db", [],
                          extra=section(namespace=namespace))
    assert wallwatch(config, "es", "setup").returncode == 0
    events = source_events(30_000, seed=31)
    fill(tmp_path / "w.db", events).close()
    client = make_client(es_cfg(namespace))
    index = stream_name("events", namespace)
    with Daemon(config, tmp_path / "daemon.log") as daemon:
        wait_for(lambda: _count(client, index) >= 5_000, 300, "shipping to start", daemon)
        daemon.kill()
    with Daemon(config, tmp_path / "daemon.log") as daemon:
        store = Store(tmp_path / "w.db")
        wait_for(lambda: caught_up(store), 600, "the backlog after the restart", daemon)
        store.close()
        assert daemon.stop() == 0
    ids = shipped_ids(client, index)
    assert len(ids) == len(set(ids)) == len(events)
    assert set(ids) == {e.id for e in events}
    client.close()


def _count(client: Elasticsearch, index: str) -> int:
    try:
        client.indices.refresh(index=index)
        return int(client.count(index=index)["count"])
    except Exception:
        return 0


def test_documents_the_cluster_rejects_land_in_dead_letters(tmp_path: Path,
                                                            namespace: str) -> None:
    cfg = es_cfg(namespace)
    good = source_events(50, seed=32)
    bad = [Event(id=event_id("bad", n), timestamp=T0, dataset="samba.audit", category="file",
                 type="access", action="read", extra={"user.id": {"not": "a keyword"}})
           for n in range(2)]
    store = fill(tmp_path / "w.db", [*good[:25], *bad, *good[25:]])
    ship_all(cfg, tmp_path / "w.db", store)
    dead = store.dead_letters()
    assert [d["offset"] for d in dead] == [26, 27]
    assert all("HTTP 400" in d["reason"] and "parsing_exception" in d["reason"] for d in dead)
    client = make_client(cfg)
    assert sorted(shipped_ids(client, stream_name("events", namespace))) == sorted(
        e.id for e in good)
    client.close()
    store.close()


class Proxy:
    """A TCP relay to the cluster that can be cut and restored: the cluster 'goes down'."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener: socket.socket | None = None
        self.port = 0
        self.live: list[socket.socket] = []

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for conn in self.live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.live.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.live += [client, server]
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    @staticmethod
    def _relay(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()


def test_a_cluster_down_then_up_drains_the_backlog_in_order(tmp_path: Path,
                                                            namespace: str) -> None:
    parts = urlsplit(URL)
    proxy = Proxy((parts.hostname or "localhost", parts.port or 9200))
    proxy.up()
    via = f"{parts.scheme}://localhost:{proxy.port}"
    cfg = es_cfg(namespace, via)
    events = source_events(6_000, seed=33)
    store = fill(tmp_path / "w.db", events[:1_000])
    with Running(cfg, tmp_path / "w.db") as shipper:
        wait_for(lambda: caught_up(store), 120, "the first thousand")
        proxy.down()
        store.commit_source_batch("test", events[1_000:], [], {})
        wait_for(lambda: shipper.stats.error is not None, 60, "the outage to be noticed")
        proxy.up()
        wait_for(lambda: caught_up(store), 300, "the backlog to drain")
    client = make_client(es_cfg(namespace))
    assert sorted(shipped_ids(client, stream_name("events", namespace))) == sorted(
        e.id for e in events)
    client.close()
    proxy.down()
    store.close()


def test_search_on_the_cluster_answers_as_the_local_search(tmp_path: Path,
                                                           namespace: str) -> None:
    cfg = es_cfg(namespace)
    store = Store(tmp_path / "w.db")
    store.commit_source_batch("test", list(CORPUS.values()), [], {})
    ship_all(cfg, tmp_path / "w.db", store)
    client = make_client(cfg)
    index = stream_name("events", namespace)
    client.indices.refresh(index=index)
    corpus = Corpus(store)
    from tests.search.test_es_dsl import PARITY

    for query in PARITY:
        found = es_search(client, index, query, limit=100)
        assert [e.id for e in found] == [CORPUS[n].id for n in corpus.names(query)], query
    local = {e.id: e for e in CORPUS.values()}
    for ev in es_search(client, index, "", limit=100):
        assert ev == replace(local[ev.id], host_name=local[ev.id].host_name or "fs-test")
    client.close()
    store.close()


@pytest.mark.skipif(not KIBANA, reason="WALLWATCH_TEST_KIBANA not set")
def test_dashboards_import_into_kibana(tmp_path: Path) -> None:
    config = write_config(tmp_path / "w.yaml", tmp_path / "w.db", [], extra=section())
    result = wallwatch(config, "dashboards", "install", "--kibana", KIBANA)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(result.stdout.splitlines()) == 7
