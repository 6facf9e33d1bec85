"""Whatever a Sigma file holds, loading it gives rules, skips with reasons, or one
RuleError with a place — never another exception; and compiled rules never raise
on events, whatever their fields hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.errors import RuleError
from monitor.rules.samples import event_from_fields
from monitor.rules.sigma import SigmaSet
from tests.rules.sigma.helpers import CORPUS, corpus_files

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["*", "a*b", "\\", "%x%", "10.0.0.0/8",
                                                           "selection", "1 of sel*"]))
modifiers = st.lists(st.sampled_from(["contains", "startswith", "endswith", "all", "re", "i",
                                      "m", "s", "cidr", "exists", "windash", "base64",
                                      "base64offset", "lt", "gte", "fieldref", "cased", "neq",
                                      "expand", "wide", "hour", "bogus"]), max_size=3)
keys = st.builds(lambda f, m: "|".join([f, *m]),
                 st.sampled_from(["EventID", "ShareName", "a0", "name", "type", "", "X.Y"]),
                 modifiers)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)), max_leaves=6)
selections = st.dictionaries(st.sampled_from(["selection", "sel_a", "sel_b", "filter", "kw"]),
                             values, min_size=0, max_size=3)
conditions = st.one_of(st.sampled_from(["selection", "1 of sel_*", "all of them",
                                        "selection and not filter", "(sel_a or kw", "kw",
                                        "not", "selection | count() > 5"]), scalars,
                       st.lists(st.sampled_from(["selection", "sel_a"]), max_size=2))
logsources = st.one_of(st.fixed_dictionaries({"product": st.sampled_from(["windows", "linux"]),
                                              "service": st.sampled_from(["security", "auditd",
                                                                          "sysmon"])}),
                       values)
detection_docs = st.fixed_dictionaries(
    {"title": st.one_of(st.text(min_size=1, max_size=8), scalars),
     "logsource": logsources,
     "detection": st.one_of(st.builds(lambda s, c: {**s, "condition": c}, selections,
                                      conditions), values)},
    optional={"id": st.one_of(st.uuids().map(str), scalars), "level": scalars,
              "tags": st.one_of(st.lists(st.text(max_size=10), max_size=2), scalars),
              "name": scalars})
correlation_docs = st.fixed_dictionaries(
    {"title": st.text(min_size=1, max_size=8),
     "correlation": st.one_of(values, st.fixed_dictionaries(
         {"type": st.one_of(st.sampled_from(["event_count", "value_count", "temporal",
                                             "temporal_ordered", "value_sum"]), scalars),
          "rules": st.one_of(st.lists(st.sampled_from(["a", "b", "x"]), max_size=3), scalars),
          "timespan": st.one_of(st.sampled_from(["5m", "1h", "0s", "5 m"]), scalars)},
         optional={"group-by": values, "condition": values, "aliases": values,
                   "generate": scalars}))})
base = ("title: a\nname: a\nlogsource: {product: windows, service: security}\n"
        "detection: {s: {EventID: 1}, condition: s}\n---\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(st.one_of(detection_docs, correlation_docs), min_size=1, max_size=3))
@example(docs=[{"title": "0", "correlation": {"type": "temporal", "rules": [],
                                               "timespan": "5m"}}])  # crashed: max() of none
def test_any_document_loads_or_is_skipped_or_is_a_located_rule_error(
        docs: list[dict[str, Any]]) -> None:
    text = base + yaml.safe_dump_all(docs)
    sigma = SigmaSet()
    try:
        rules = sigma.add(Path("/x/fuzz.yml"), text)
        linked, errors = sigma.finish()
    except RuleError as exc:
        assert exc.path == "/x/fuzz.yml" and exc.line is not None, exc
        return
    for err in errors:
        assert err.path == "/x/fuzz.yml" and err.line is not None
    for rule in rules + linked:
        rule.when.test(event_from_fields({"event.dataset": "windows.security"}))


field_values = st.one_of(scalars, st.lists(scalars, max_size=3),
                         st.dictionaries(st.text(max_size=3), scalars, max_size=2))


@settings(max_examples=80, deadline=None)
@given(data=st.dictionaries(st.sampled_from(
    ["winlog.event_id", "winlog.event_data.ShareName", "winlog.event_data.IpAddress",
     "winlog.event_data.RelativeTargetName", "winlog.event_data.SubjectUserName",
     "auditd.record_types", "process.args", "auditd.paths", "tags", "process.title",
     "winlog.event_data.Status", "winlog.event_data.ObjectName"]), field_values))
def test_corpus_rules_never_raise_on_odd_field_values(data: dict[str, Any]) -> None:
    rules = []
    for path in corpus_files():
        if "correlation" not in path.parts:
            rules += SigmaSet().add(path, path.read_text())
    assert CORPUS.exists()
    for dataset in ("windows.security", "auditd.log"):
        ev = event_from_fields({"event.dataset": dataset, **data})
        for rule in rules:
            assert rule.when.test(ev) in (True, False)
