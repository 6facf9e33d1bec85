"""What is shipped for an event is exactly Event.to_ecs() plus the data stream, host
and local-time fields, whichever way it is built; and a shipped document reads
back as the event it came from."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.event import Event, event_id
from monitor.sinks.es_docs import DocContext, event_doc, event_from_doc
from monitor.sinks.es_rows import RowDocs
from monitor.store import Store
from tests.search.corpus import EVENTS as CORPUS
from tests.sinks.es_helpers import source_events
from tests.workloads.events import stream

ZONES = [ZoneInfo(z) for z in ("UTC", "Asia/Shanghai", "Asia/Kolkata", "Asia/Kathmandu",
                               "America/St_Johns", "Europe/London")]
_counter = itertools.count()


def rows_and_events(tmp: Path, events: list[Event], ctx: DocContext
                    ) -> list[tuple[dict[str, Any], Event]]:
    store = Store(tmp / f"docs-{next(_counter)}.db")
    try:
        store.commit_source_batch("t", events, [], {})
        fast = list(RowDocs(ctx).read(store, 0, len(events) + 1))
        stored = store.events_after(0, len(events) + 1)
    finally:
        store.close()
    assert [seq for seq, _, _ in fast] == [seq for seq, _ in stored]
    return [(doc, ev) for (_, _, doc), (_, ev) in zip(fast, stored, strict=True)]


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_documents_built_from_rows_equal_event_doc_of_the_stored_event(
        tmp_path: Path, zone: ZoneInfo) -> None:
    ctx = DocContext("ns1", "fs-docs", zone)
    events = [*CORPUS.values(), *stream(3000, seed=4), *source_events(500, seed=8)]
    pairs = rows_and_events(tmp_path, events, ctx)
    assert len(pairs) == len(events)
    for doc, ev in pairs:
        assert doc == event_doc(ev, ctx)


_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
_extra_key = st.sampled_from(["samba.operation", "file.name", "user.name", "host.name",
                              "winlog.event_data.LogonType", "wallwatch.widened", "tags",
                              "event.code", "process.pid", "labels.x", "ecs.extra"])
_extra_value = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), _text,
                         st.lists(_text, max_size=3),
                         st.dictionaries(st.sampled_from(["a", "b.c"]), st.integers(0, 9),
                                         max_size=2))


@st.composite
def events(draw: st.DrawFn) -> Event:
    n = next(_counter)

    def opt(values: st.SearchStrategy[Any]) -> Any:
        return draw(st.one_of(st.none(), values))

    path = opt(st.sampled_from(["/srv/a/b.txt", "/", "//", "/x/", "rel/name", "a//b//",
                                "/srv/发票/清单.xlsx", "noslash"]))
    return Event(
        id=event_id("hyp", n),
        timestamp=datetime(1971, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=draw(st.integers(0, 4_000_000_000_000_000))),
        dataset=draw(_text), category=draw(_text), type=draw(_text), action=draw(_text),
        outcome=draw(st.sampled_from(["success", "failure", "unknown"])),
        kind=draw(st.sampled_from(["event", "alert"])),
        user_name=opt(_text), source_ip=opt(st.sampled_from(["10.0.0.1", "::1", "bogus"])),
        source_port=opt(st.integers(0, 65535)), host_name=opt(_text), file_path=path,
        file_target_path=opt(_text), file_mode=opt(st.just("0644")), client=opt(_text),
        assigned=opt(st.booleans()), off_hours=opt(st.booleans()), share=opt(_text),
        count=draw(st.integers(0, 5)), departed=opt(st.booleans()),
        archived=opt(st.booleans()), log_file=opt(_text), log_offset=opt(st.integers(0, 2**40)),
        extra=draw(st.dictionaries(_extra_key, _extra_value, max_size=4)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(batch=st.lists(events(), min_size=1, max_size=12), zone=st.sampled_from(ZONES))
def test_any_stored_event_gives_the_same_document_both_ways(
        tmp_path: Path, batch: list[Event], zone: ZoneInfo) -> None:
    ctx = DocContext("default", "fs-hyp", zone)
    for doc, ev in rows_and_events(tmp_path, batch, ctx):
        assert doc == event_doc(ev, ctx)


def test_a_shipped_document_reads_back_as_the_event_it_came_from() -> None:
    ctx = DocContext("default", "fs-docs", ZoneInfo("Asia/Shanghai"))
    samples = [*CORPUS.values(), *stream(500, seed=2), *source_events(100, seed=3),
               Event(id=event_id("x"), timestamp=datetime(2026, 1, 1, tzinfo=UTC),
                     dataset="auditd.log", category="file", type="change",
                     action="changed-file-permissions-of", file_path="/srv/x",
                     extra={"auditd.socket": {"family": "ipv4", "port": 22},
                            "auditd.data.syscall": "chmod", "file.mode_before": "0600"})]
    for ev in samples:
        expected = dataclasses.replace(ev, host_name=ev.host_name or ctx.host_name)
        assert event_from_doc(event_doc(ev, ctx)) == expected


def test_local_hour_and_weekday_are_in_the_firms_time_zone() -> None:
    ev = CORPUS["invoice"]  # 2024-03-04 09:00 UTC, a Monday
    assert event_doc(ev, DocContext("d", "h", ZoneInfo("Asia/Shanghai")))["wallwatch"][
        "local"] == {"hour": 17, "weekday": "1-Mon"}
    late = dataclasses.replace(ev, timestamp=datetime(2024, 3, 3, 20, 30, tzinfo=UTC))
    assert event_doc(late, DocContext("d", "h", ZoneInfo("Asia/Kolkata")))["wallwatch"][
        "local"] == {"hour": 2, "weekday": "1-Mon"}
