"""`wallwatch search --backend es`: the query language as Elasticsearch DSL. Every
operator, hostile input that must stay a value, and the same answers as the local
search on the same events (through the real client and the stand-in)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import QueryError
from monitor.search.es_dsl import es_search, literal, to_dsl
from monitor.search.fields import FIELD_NAME
from monitor.search.query import parse_query
from monitor.store import Store
from tests.fixtures.es_standin import EsStandin
from tests.search.corpus import EVENTS, Corpus
from tests.sinks.es_helpers import es_config, install_templates, ship_all

MATCH_NONE: dict[str, Any] = {"match_none": {}}


def dsl(query: str) -> dict[str, Any]:
    return to_dsl(parse_query(query))


def ci(field: str, value: str) -> dict[str, Any]:
    return {"term": {field: {"value": value, "case_insensitive": True}}}


def free(pattern: str) -> dict[str, Any]:
    return {"bool": {"should": [
        {"wildcard": {f: {"value": pattern, "case_insensitive": True}}}
        for f in ("file.path", "file.target_path", "user.name")], "minimum_should_match": 1}}


# -- every operator ---------------------------------------------------------------

def test_an_empty_query_matches_everything() -> None:
    assert dsl("") == {"match_all": {}}
    assert dsl("   ") == {"match_all": {}}


def test_field_values_are_terms_case_blind_where_the_store_is() -> None:
    assert dsl("event.action:read") == {"term": {"event.action": "read"}}
    assert dsl("user.name:Bob") == ci("user.name", "Bob")
    assert dsl("wallwatch.client:ACME") == ci("wallwatch.client", "ACME")
    assert dsl("related.user:alice") == ci("related.user", "alice")
    assert dsl('file.path:"/srv/a b/c.txt"') == {"term": {"file.path": "/srv/a b/c.txt"}}
    assert dsl("samba.operation:renameat") == {"term": {"samba.operation": "renameat"}}
    assert dsl("winlog.event_id:4625") == {"term": {"winlog.event_id": "4625"}}


def test_wildcards_become_wildcard_queries_with_the_same_escapes() -> None:
    assert dsl("file.path:/srv/*/acme/*") == {
        "wildcard": {"file.path": {"value": "/srv/*/acme/*", "case_insensitive": False}}}
    assert dsl("user.name:?ave") == {
        "wildcard": {"user.name": {"value": "?ave", "case_insensitive": True}}}
    assert dsl(r"file.path:*/a\*b*") == {
        "wildcard": {"file.path": {"value": r"*/a\*b*", "case_insensitive": False}}}
    assert dsl("file.path:*") == {"exists": {"field": "file.path"}}


def test_free_text_is_a_case_blind_substring_of_path_target_or_user() -> None:
    assert dsl("发票") == free("*发票*")
    assert dsl('"2024年 发票"') == free("*2024年 发票*")
    assert dsl("q1*report") == free("*q1*report*")
    assert dsl('"a*b?"') == free(r"*a\*b\?*")
    assert literal("a\\b*?") == "a\\\\b\\*\\?"


def test_comparisons_flags_and_numbers() -> None:
    assert dsl("source.port:>50000") == {"range": {"source.port": {"gt": 50000}}}
    assert dsl("source.port:>=1024") == {"range": {"source.port": {"gte": 1024}}}
    assert dsl("source.port:<10") == {"range": {"source.port": {"lt": 10}}}
    assert dsl("source.port:<=10") == {"range": {"source.port": {"lte": 10}}}
    assert dsl("process.pid:>1.5") == {"range": {"process.pid": {"gt": 1.5}}}
    assert dsl("source.port:445") == {"term": {"source.port": 445}}
    assert dsl("wallwatch.assigned:false") == {"term": {"wallwatch.assigned": False}}
    assert dsl("wallwatch.off_hours:TRUE") == {"term": {"wallwatch.off_hours": True}}
    assert dsl("process.pid:abc") == MATCH_NONE  # a long never holds text
    assert dsl(f"source.port:{10**30}") == MATCH_NONE
    assert dsl(f"source.port:<{10**30}") == {"exists": {"field": "source.port"}}
    assert dsl(f"source.port:>{10**30}") == MATCH_NONE


def test_a_number_pattern_becomes_ranges_and_other_patterns_are_refused() -> None:
    query = dsl("source.port:44*")
    should = query["bool"]["should"]
    assert should[0] == {"term": {"source.port": 44}}
    assert should[1] == {"range": {"source.port": {"gte": 440, "lte": 449}}}
    assert should[2] == {"range": {"source.port": {"gte": 4400, "lte": 4499}}}
    with pytest.raises(QueryError) as caught:
        dsl("source.port:4?5")
    assert caught.value.col == 1 and "leading-digits" in caught.value.message
    with pytest.raises(QueryError) as caught:
        dsl("event.action:a source.ip:10.*")
    assert caught.value.col == 16 and "CIDR" in str(caught.value.hint)


def test_a_count_left_out_at_one_still_matches_one() -> None:
    missing = {"bool": {"must_not": [{"exists": {"field": "wallwatch.count"}}]}}
    assert dsl("wallwatch.count:1") == {"bool": {"should": [
        {"term": {"wallwatch.count": 1}}, missing], "minimum_should_match": 1}}
    assert dsl("wallwatch.count:>=2") == {"range": {"wallwatch.count": {"gte": 2}}}


def test_and_or_not_and_grouping_become_bool_queries() -> None:
    a, b, c = ({"term": {"event.action": x}} for x in ("a", "b", "c"))
    assert dsl("event.action:a AND event.action:b") == {"bool": {"filter": [a, b]}}
    assert dsl("event.action:a event.action:b") == {"bool": {"filter": [a, b]}}
    assert dsl("event.action:a OR event.action:b") == {
        "bool": {"should": [a, b], "minimum_should_match": 1}}
    assert dsl("NOT event.action:a") == {"bool": {"must_not": [a]}}
    assert dsl("-event.action:a event.action:b") == {"bool": {"filter": [b], "must_not": [a]}}
    assert dsl("NOT NOT event.action:a") == a
    assert dsl("(event.action:a OR event.action:b) AND event.action:c") == {"bool": {
        "filter": [{"bool": {"should": [a, b], "minimum_should_match": 1}}, c]}}
    assert dsl("event.action:a AND (event.action:b AND event.action:c)") == {
        "bool": {"filter": [a, b, c]}}  # nested ANDs flatten: shallower for the cluster


def test_unknown_fields_are_refused_where_they_are() -> None:
    with pytest.raises(QueryError) as caught:
        dsl("user.nme:bob")
    assert caught.value.col == 1 and "user.name" in str(caught.value.hint)


# -- hostile input ---------------------------------------------------------------------

_KEYS = {"bool", "filter", "should", "must_not", "minimum_should_match", "term", "wildcard",
         "range", "exists", "match_all", "match_none", "value", "case_insensitive", "gt",
         "gte", "lt", "lte", "field"}


def _walk(node: Any, fields: set[str], strings: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in _KEYS:
                fields.add(key)
            _walk(value, fields, strings)
    elif isinstance(node, list):
        for item in node:
            _walk(item, fields, strings)
    elif isinstance(node, str):
        strings.append(node)


@pytest.mark.parametrize("value", [
    '" OR *:*', "x\\\" OR user.name:*", '{"query_string":{"query":"*"}}', "a:b:c",
    "*:*", "_all", "user.name:*) OR (*", "\\", "' OR 1=1 --", "${jndi:ldap://x}",
    "<script>", "名字\u202e反转", "a\tb", "NOT", "AND OR",
])
def test_a_quoted_value_stays_one_literal_value(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    for query in (f'file.path:"{escaped}"', f'"{escaped}"'):
        built = dsl(query)
        text = json.dumps(built)
        assert "query_string" not in json.dumps(list(_keys(built)))
        fields: set[str] = set()
        strings: list[str] = []
        _walk(built, fields, strings)
        assert fields <= {"file.path", "file.target_path", "user.name"}
        assert value in strings or f"*{literal(value)}*" in strings, text


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_query_that_parses_only_ever_builds_structure_from_the_grammar(text: str) -> None:
    try:
        built = dsl(text)
    except QueryError:
        return
    fields: set[str] = set()
    _walk(built, fields, [])
    assert all(FIELD_NAME.match(f) and "*" not in f for f in fields)
    json.dumps(built)  # plain data, serialisable as it is


def test_deep_nesting_stays_within_the_parsers_limits() -> None:
    query = "(" * 20 + "event.action:a" + ")" * 20
    assert dsl(query) == {"term": {"event.action": "a"}}
    assert dsl("NOT " * 49 + "event.action:a") == {"bool": {"must_not": [
        {"term": {"event.action": "a"}}]}}


# -- the same answers as the local search -------------------------------------------

@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Elasticsearch,
                                                                        Corpus]]:
    tmp = tmp_path_factory.mktemp("es-search")
    with EsStandin(tmp / "standin") as standin:
        cfg = es_config(standin.url)
        install_templates(cfg)
        store = Store(tmp / "w.db")
        store.commit_source_batch("test", list(EVENTS.values()), [], {})
        ship_all(cfg, tmp / "w.db", store)
        client = Elasticsearch(standin.url)
        yield client, Corpus(store)
        client.close()
        store.close()


PARITY = [
    "", "user.name:bob", "user.name:BOB", "user.name:bo", "wallwatch.client:ACME",
    "user.name:B*", "user.name:?ave", "event.action:rename", "event.action:RENAME",
    "event.action:logon-*", "source.ip:10.0.0.5", "related.ip:192.0.2.7",
    "related.user:ALICE", "file.path:/srv/share/clients/acme/2024年发票汇总.xlsx",
    "file.path:/srv/*/acme/*", "file.path:*Q1?report*", "file.path:*.pd?", "file.path:*发票*",
    r"file.path:*/a\*b*", "file.path:*[v2]*", 'file.path:"/srv/*"', "file.target_path:*",
    "file.name:*.pdf", "file.name:发票.pdf", "file.directory:/srv/share/clients/acme/",
    "file.directory:/srv/*/initech", "发票", "票", '"2024年 发票"', "2024年 发票", "caro",
    "DRAFT", "0%d", "_", "q1*report", r"a\*b", "user.name:bob AND wallwatch.client:acme",
    "user.name:alice OR user.name:carol", "NOT wallwatch.client:acme",
    "-user.name:bob -user.name:alice", "NOT file.path:*", "-wallwatch.assigned:true",
    "NOT NOT wallwatch.off_hours:true", "wallwatch.assigned:*", "source.port:>50000",
    "source.port:<=50123", "source.port:501*", "wallwatch.count:>=2", "wallwatch.count:1",
    "wallwatch.count:<3", "samba.operation:*re*", "winlog.event_id:4625",
    "winlog.event_id:4663", f"source.port:{10**30}", f"source.port:<{10**30}",
]


@pytest.mark.parametrize("query", PARITY)
def test_the_cluster_gives_what_the_local_search_gives(
        cluster: tuple[Elasticsearch, Corpus], query: str) -> None:
    client, corpus = cluster
    found = es_search(client, "logs-wallwatch.events-*", query, limit=100)
    assert [e.id for e in found] == [EVENTS[n].id for n in corpus.names(query)]


def test_results_read_back_as_the_local_events_and_pages_follow_the_limit(
        cluster: tuple[Elasticsearch, Corpus]) -> None:
    client, corpus = cluster
    local = {e.id: e for e in EVENTS.values()}
    found = es_search(client, "logs-wallwatch.events-*", "", limit=100)
    assert len(found) == len(local)
    for ev in found:  # the shipper names the host where the source did not
        assert ev == dataclasses.replace(local[ev.id],
                                         host_name=local[ev.id].host_name or "fs-test")
    first = es_search(client, "logs-wallwatch.events-*", "", limit=3)
    assert [e.id for e in first] == [EVENTS[n].id for n in corpus.names("", limit=3)]


def test_since_and_until_bound_the_time(cluster: tuple[Elasticsearch, Corpus]) -> None:
    client, corpus = cluster
    since, until = EVENTS["globex"].timestamp, EVENTS["short"].timestamp
    found = es_search(client, "logs-wallwatch.*", "", since=since, until=until)
    assert [e.id for e in found] == [EVENTS[n].id for n in corpus.names(
        "", since=since, until=until)]
