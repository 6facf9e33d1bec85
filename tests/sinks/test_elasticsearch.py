"""The shipper, driven through the real elasticsearch client against the wire-level
stand-in: everything arrives exactly once and in order whatever the cluster does."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from monitor.config import load_config
from monitor.event import Alert
from monitor.sinks.elasticsearch import keep_from_seq
from monitor.sinks.es_docs import event_doc
from monitor.sinks.es_ship import CURSORS
from monitor.store import Store
from tests.fixtures.es_standin import EsStandin
from tests.fixtures.es_standin_faults import poisoned
from tests.sinks.es_helpers import (
    ALERTS_STREAM,
    CTX,
    EVENTS_STREAM,
    Running,
    by_source,
    caught_up,
    es_config,
    fill,
    install_templates,
    late_arrivals,
    seqs_by_id,
    ship_all,
    source_events,
    standin_server,
    wait_until,
)

standin = pytest.fixture(name="standin")(standin_server)


def test_100k_events_arrive_exactly_once_and_in_order_through_every_fault(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url, timeout=1.0, max_events=1000)
    install_templates(cfg)
    events = source_events(100_000, sources=6)
    store = fill(tmp_path / "w.db", events)
    # a few hundred requests: every kind of fault comes up many times over
    standin.faults(item={"429": 0.03, "503": 0.01, "409": 0.02}, poison=0.0005,
                   request={"503": 0.04, "429": 0.04}, drop_before=0.03, drop_after=0.03,
                   slow=0.03, slow_seconds=[0.05, 1.3], seed=11)

    shipper = ship_all(cfg, tmp_path / "w.db", store)

    stats = standin.state()["stats"]
    for fault in ("item_429", "item_503", "item_409", "item_400", "request_503",
                  "request_429", "dropped_before", "dropped_after"):
        assert stats.get(fault, 0) > 0, f"the run never saw {fault}"
    arrivals = standin.arrivals(EVENTS_STREAM)
    rejected = {e.id for e in events if poisoned(e.id, 0.0005, 11)}
    assert rejected, "the poison rate should reject a few events"
    assert len(arrivals) == len(set(arrivals)), "an event was stored twice"
    assert set(arrivals) == {e.id for e in events} - rejected, "an event was lost"
    dead = store.dead_letters(limit=10_000)
    assert {orjson.loads(d["line"])["event"]["id"] for d in dead} == rejected
    assert shipper.stats.dead == len(rejected)
    seq_of = seqs_by_id(store)
    assert late_arrivals(arrivals, seq_of, cfg.max_events) == []
    sources = by_source(arrivals, {e.id: e for e in events})
    assert len(sources) == 6
    for ids in sources.values():
        # a retried item may land after later items of its own batch, never further
        assert late_arrivals(ids, seq_of, cfg.max_events) == []
    store.close()


def test_request_level_faults_keep_every_source_strictly_in_order(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url, timeout=1.0, max_events=500)
    install_templates(cfg)
    events = source_events(20_000, sources=5, seed=2)
    store = fill(tmp_path / "w.db", events)
    standin.faults(request={"503": 0.05, "500": 0.02, "429": 0.05}, drop_before=0.05,
                   drop_after=0.05, slow=0.05, slow_seconds=[0.05, 1.3], seed=5)

    ship_all(cfg, tmp_path / "w.db", store)

    arrivals = standin.arrivals(EVENTS_STREAM)
    assert arrivals == [e.id for e in events]  # the store's order, exactly
    store.close()


def test_items_the_cluster_rejects_land_in_dead_letters_with_its_reason(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url)
    install_templates(cfg)
    events = source_events(1_000, seed=3)
    store = fill(tmp_path / "w.db", events)
    bad = [events[7].id, events[500].id, events[999].id]
    standin.faults(poison_ids=bad, item={"429": 0.1}, seed=1)

    ship_all(cfg, tmp_path / "w.db", store)

    dead = store.dead_letters()
    seq_of = seqs_by_id(store)
    assert [(d["source"], d["file"], d["offset"]) for d in dead] == [
        ("elasticsearch", EVENTS_STREAM, seq_of[i]) for i in bad]
    for letter, doc_id in zip(dead, bad, strict=True):
        assert letter["reason"].startswith("HTTP 400 document_parsing_exception: ")
        assert "failed to parse field [source.ip]" in letter["reason"]
        assert orjson.loads(letter["line"])["event"]["id"] == doc_id
    assert set(standin.arrivals(EVENTS_STREAM)) == {e.id for e in events} - set(bad)
    assert store.cursor(CURSORS["events"])[0] == store.head()
    store.close()


def test_a_cluster_that_is_down_keeps_the_backlog_through_retention_and_drains_it_in_order(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url)
    install_templates(cfg)
    config = load_config(_config_file(tmp_path, standin.url))
    old = source_events(3_000, seed=4)
    store = fill(tmp_path / "w.db", old[:1_000], batch=500)
    with Running(cfg, tmp_path / "w.db") as shipper:
        wait_until(lambda: caught_up(store), 60, "the first thousand to ship")
        standin.down()
        for i in range(1_000, 3_000, 500):
            store.commit_source_batch("test", old[i:i + 500], [], {})
        wait_until(lambda: shipper.stats.error is not None, 30, "the outage to be noticed")
        removed = store.prune(datetime(2100, 1, 1, tzinfo=UTC),  # every event is "old"
                              keep_from_seq=keep_from_seq(config, store))
        assert removed == 1_000  # what the cluster has; the 2,000 waiting stay
        assert store.count() == 2_000
        assert store.cursor(CURSORS["events"])[0] == 1_000
        standin.up()
        wait_until(lambda: caught_up(store), 60, "the backlog to drain")
        assert shipper.stats.error is None
    assert standin.arrivals(EVENTS_STREAM) == [e.id for e in old]
    store.close()


def test_alerts_ship_to_their_own_data_stream_with_their_own_cursor(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url)
    install_templates(cfg)
    store = fill(tmp_path / "w.db", source_events(50, seed=5))
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    alerts = [Alert(id=Alert.make_id("wall.cross-client-access", (("user.name", f"u{n}"),),
                                     start), timestamp=start, rule_id="wall.cross-client-access",
                    rule_name="Staff opened a client folder they are not assigned to",
                    severity="high", group=(("user.name", f"u{n}"),), window_start=start,
                    event_ids=("a" * 24,), user_name=f"u{n}", client="acme",
                    tags=("T1039",)) for n in range(5)]
    store.commit_consumer("rules", store.head(), None, alerts)

    ship_all(cfg, tmp_path / "w.db", store)

    docs = standin.docs(ALERTS_STREAM)
    assert sorted(d["event"]["id"] for d in docs) == sorted(a.id for a in alerts)
    doc = docs[0]
    assert doc["data_stream"] == {"type": "logs", "dataset": "wallwatch.alerts",
                                  "namespace": "default"}
    assert doc["event"]["kind"] == "alert" and doc["event"]["dataset"] == "wallwatch.alerts"
    assert doc["host"]["name"] == "fs-test" and doc["ecs"]["version"]
    assert doc["threat"]["technique"] == [{"id": "T1039"}]
    assert store.cursor(CURSORS["alerts"])[0] == store.alerts_head()
    assert len(standin.arrivals(EVENTS_STREAM)) == 50
    store.close()


def test_documents_carry_data_stream_dataset_ecs_version_timestamp_and_host(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url)
    install_templates(cfg)
    events = source_events(20, seed=6)
    store = fill(tmp_path / "w.db", events)

    ship_all(cfg, tmp_path / "w.db", store)

    shipped = {d["event"]["id"]: d for d in standin.docs(EVENTS_STREAM)}
    for ev in events:
        doc = shipped[ev.id]
        assert doc == orjson.loads(orjson.dumps(event_doc(ev, CTX)))
        assert doc["data_stream"] == {"type": "logs", "dataset": "wallwatch.events",
                                      "namespace": "default"}
        assert doc["event"]["dataset"] == "samba.audit"
        assert doc["@timestamp"].endswith("Z") and doc["ecs"]["version"]
        assert doc["host"]["name"] == "fs-test"
        assert doc["wallwatch"]["local"]["hour"] == ev.timestamp.hour
    store.close()


def test_a_body_the_cluster_finds_too_large_is_split_and_still_arrives_in_order(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url, max_events=2000)
    install_templates(cfg)
    events = source_events(3_000, seed=7)
    store = fill(tmp_path / "w.db", events)
    standin.faults(max_body=40_000)

    ship_all(cfg, tmp_path / "w.db", store)

    assert standin.state()["stats"]["request_413"] > 0
    assert standin.arrivals(EVENTS_STREAM) == [e.id for e in events]
    assert store.dead_letters() == []
    store.close()


def test_stopping_while_the_cluster_refuses_leaves_the_cursor_where_it_was(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url)
    install_templates(cfg)
    store = fill(tmp_path / "w.db", source_events(500, seed=8))
    standin.faults(item={"429": 1.0})
    with Running(cfg, tmp_path / "w.db") as shipper:
        wait_until(lambda: shipper.stats.retries > 1000, 30, "a few rounds of retries")
    assert store.cursor(CURSORS["events"])[0] == 0
    assert store.dead_letters() == []
    standin.faults()
    ship_all(cfg, tmp_path / "w.db", store)
    assert len(standin.arrivals(EVENTS_STREAM)) == 500
    store.close()


def test_rejected_credentials_are_retried_and_never_logged(
        tmp_path: Path, standin: EsStandin, caplog: pytest.LogCaptureFixture) -> None:
    secret = "d2FsbHdhdGNoOnNlY3JldC1rZXktNzc3"
    install_templates(es_config(standin.url))
    standin.auth(api_key="the-right-key")
    (tmp_path / "key").write_text(secret + "\n")
    (tmp_path / "key").chmod(0o600)
    config = load_config(_config_file(tmp_path, standin.url,
                                      auth=f"{{api_key_file: {tmp_path / 'key'}}}"))
    from monitor.sinks.es_config import parse_es_config

    cfg = parse_es_config(config)
    assert cfg is not None and secret not in repr(cfg)
    cfg = es_config(standin.url, auth=cfg.auth)
    store = fill(tmp_path / "w.db", source_events(100, seed=9))
    caplog.set_level(logging.DEBUG)
    with Running(cfg, tmp_path / "w.db") as shipper:
        wait_until(lambda: shipper.stats.error is not None, 30, "the refusal")
        assert "401" in str(shipper.stats.error)
        standin.auth(api_key=secret)
        wait_until(lambda: caught_up(store), 30, "shipping with the right key")
    assert len(standin.arrivals(EVENTS_STREAM)) == 100
    assert "HTTP 401" in caplog.text and f"file {tmp_path / 'key'}" in caplog.text
    assert secret not in caplog.text
    store.close()


def _config_file(tmp_path: Path, url: str, auth: str = "{}") -> Path:
    path = tmp_path / "wallwatch.yaml"
    path.write_text(f"timezone: UTC\nstore: {{path: {tmp_path / 'w.db'}}}\n"
                    f"elasticsearch: {{url: '{url}', auth: {auth}}}\n")
    return path


def test_shipping_does_not_touch_what_other_consumers_store(
        tmp_path: Path, standin: EsStandin) -> None:
    cfg = es_config(standin.url)
    install_templates(cfg)
    store = fill(tmp_path / "w.db", source_events(100, seed=10))
    store.commit_consumer("rules", 42, b"state")
    ship_all(cfg, tmp_path / "w.db", store)
    assert store.cursor("rules") == (42, b"state")
    assert Store(tmp_path / "w.db").count() == 100
    store.close()


def test_a_backlog_on_a_filling_disk_is_flagged_and_logged(
        tmp_path: Path, standin: EsStandin, caplog: pytest.LogCaptureFixture) -> None:
    cfg = es_config(standin.url, disk_high_water=1.0)  # any real disk is fuller than 1%
    install_templates(cfg)
    standin.down()
    store = fill(tmp_path / "w.db", source_events(200, seed=11))
    caplog.set_level(logging.INFO)
    with Running(cfg, tmp_path / "w.db") as shipper:
        wait_until(lambda: shipper.stats.high_water, 30, "the high-water flag")
        assert shipper.stats.backlog["events"] == 200
        assert shipper.stats.disk_used_percent > 1.0
        standin.up()
        wait_until(lambda: caught_up(store), 30, "the backlog to drain")
    assert "high-water mark 1%" in caplog.text and "while 200 events wait" in caplog.text
    store.close()
