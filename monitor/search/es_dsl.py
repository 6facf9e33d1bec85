"""`wallwatch search --backend es`: the local query language as Elasticsearch query DSL.

The parsed tree (monitor/search/query.py) becomes bool / term / wildcard /
range / exists queries built as data, never a query_string: what a user typed
is always a value, so a quote, colon or parenthesis in it cannot change what
the query means. The meaning follows the local search (monitor/search/sql.py):

- free text is a case-insensitive substring of file.path, file.target_path or
  user.name (a `wildcard` query `*text*` on those keyword fields);
- `user.name` and `wallwatch.client` compare without case (as the store's
  NOCASE columns); paths and other text exactly;
- `field:*` means the field is present; NOT also matches events without the field;
- `*` and `?` in values are wildcards, `\\` makes them literal (the same
  escapes Elasticsearch's wildcard query uses).

Numbers and flags are compared as such. A wildcard over a numeric field can only
be a leading-digits pattern (`source.port:44*`), which becomes ranges; other
numeric patterns are refused with a hint. Fields of the sources (`samba.*`,
`winlog.*`) use the index mapping's type where it is known.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, TransportError

from monitor.config import Config
from monitor.errors import QueryError, WallwatchError
from monitor.event import Event, format_ts
from monitor.search.fields import FieldSpec, UnknownField, field_spec
from monitor.search.query import NUMBER, And, Node, Not, Or, Term, parse_query

EVENTS_PATTERN = "logs-wallwatch.events-*"  # every host's namespace
PAGE = 5000
_COMPARE = {"lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}
_FREE_TEXT_FIELDS = ("file.path", "file.target_path", "user.name")
_DIGITS_STAR = re.compile(r"^(\d*)\*+$")
_MAX_DIGITS = 19  # a long has at most 19 digits
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_OMITTED = {"wallwatch.count": 1}  # fields to_ecs() leaves out at this value


def to_dsl(node: Node) -> dict[str, Any]:
    """The query for `node` (a tree from parse_query)."""
    if isinstance(node, Term):
        return _term(node)
    if isinstance(node, Not):
        if isinstance(node.item, Not):  # NOT NOT x is x, one level less for the cluster
            return to_dsl(node.item.item)
        return {"bool": {"must_not": [to_dsl(node.item)]}}
    items = _flatten(node)
    if not items:
        return {"match_all": {}} if isinstance(node, And) else {"match_none": {}}
    if len(items) == 1:
        return to_dsl(items[0])
    if isinstance(node, Or):
        return {"bool": {"should": [to_dsl(i) for i in items], "minimum_should_match": 1}}
    query: dict[str, Any] = {}
    plain = [to_dsl(i) for i in items if not isinstance(i, Not)]
    negated = [to_dsl(i.item) for i in items if isinstance(i, Not)]
    if plain:
        query["filter"] = plain
    if negated:
        query["must_not"] = negated
    return {"bool": query}


def _flatten(node: And | Or) -> list[Node]:
    out: list[Node] = []
    for item in node.items:
        if type(item) is type(node):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def literal(value: str) -> str:
    """`value` as a wildcard pattern matching exactly itself."""
    return re.sub(r"([*?\\])", r"\\\1", value)


def _error(term: Term, message: str, hint: str | None = None) -> QueryError:
    return QueryError(message, "<query>", 1, term.col or 1, hint)


def _term(term: Term) -> dict[str, Any]:
    if term.field is None:
        pattern = term.value if term.kind == "wildcard" else literal(term.value)
        pattern = f"*{pattern}*"
        return {"bool": {"should": [
            {"wildcard": {f: {"value": pattern, "case_insensitive": True}}}
            for f in _FREE_TEXT_FIELDS], "minimum_should_match": 1}}
    try:
        spec = field_spec(term.field)
    except UnknownField as exc:
        raise _error(term, f"unknown field {term.field!r}", exc.hint) from None
    query = _field_term(term, spec)
    default = _OMITTED.get(term.field)
    if default is not None and _holds(term, default):
        # to_ecs() leaves the field out at its default value: absent means default
        missing = {"bool": {"must_not": [{"exists": {"field": term.field}}]}}
        return {"bool": {"should": [query, missing], "minimum_should_match": 1}}
    return query


def _holds(term: Term, value: int) -> bool:
    """Whether `value` satisfies a numeric term (for fields left out at their default)."""
    if term.kind == "wildcard":
        match = _DIGITS_STAR.match(term.value)
        return bool(match) and str(value).startswith(match.group(1) if match else "")
    if not NUMBER.match(term.value):
        return False
    bound = float(term.value)
    return {"lt": value < bound, "le": value <= bound, "gt": value > bound,
            "ge": value >= bound}.get(term.kind, value == bound)


def _field_term(term: Term, spec: FieldSpec) -> dict[str, Any]:
    field, kind, value = str(term.field), term.kind, term.value
    mapped = _mapped_type(field, spec)
    if kind == "wildcard" and set(value) == {"*"}:
        return {"exists": {"field": field}}
    if kind in _COMPARE:
        number = _number(value)
        if mapped == "long" and not _LONG_MIN <= number <= _LONG_MAX:
            # beyond a long: every stored value is on one side of it
            below = number > _LONG_MAX
            holds = below == (kind in ("lt", "le"))
            return {"exists": {"field": field}} if holds else {"match_none": {}}
        return {"range": {field: {_COMPARE[kind]: number}}}
    if mapped == "boolean":
        if value not in ("true", "false"):
            return {"match_none": {}}  # a flag is never anything else
        return {"term": {field: value == "true"}}
    if mapped == "long":
        if kind == "wildcard":
            return _numeric_pattern(term)
        if not NUMBER.match(value) or not _LONG_MIN <= _number(value) <= _LONG_MAX:
            return {"match_none": {}}  # a number field never holds this
        return {"term": {field: _number(value)}}
    if mapped == "ip" and kind == "wildcard":
        raise _error(term, f"{field} holds IP addresses: wildcards do not apply",
                     f"write an address or a CIDR range, e.g. {field}:10.0.0.0/8")
    if spec.type == "directory":
        value = _strip_slashes(value)
    insensitive = spec.type == "nocase"
    if kind == "wildcard":
        return {"wildcard": {field: {"value": value, "case_insensitive": insensitive}}}
    if insensitive:
        return {"term": {field: {"value": value, "case_insensitive": True}}}
    return {"term": {field: value}}


def _mapped_type(field: str, spec: FieldSpec) -> str:
    """How the cluster indexes the field: from the search spec of known fields, else
    from our index mapping, else keyword (strings are mapped dynamically as keyword)."""
    from monitor.sinks.es_templates import FIELDS

    if spec.type == "bool":
        return "boolean"
    if spec.type == "int":
        return "long"
    if field in ("source.ip", "related.ip"):
        return "ip"
    return str(FIELDS.get(field, {}).get("type", "keyword"))


def _strip_slashes(value: str) -> str:
    """A directory is matched without its trailing '/' (as posixpath.dirname gives it)."""
    while len(value) > 1 and value.endswith("/") and not value.endswith("\\/"):
        value = value[:-1]
    return value


def _number(value: str) -> int | float:
    return float(value) if "." in value else int(value)


def _numeric_pattern(term: Term) -> dict[str, Any]:
    match = _DIGITS_STAR.match(term.value)
    if not match:
        raise _error(term, f"{term.field} holds numbers: only a leading-digits pattern like"
                           " 44* can match it", f"or compare: {term.field}:>=4400")
    prefix = match.group(1)
    if not prefix:
        return {"exists": {"field": term.field}}
    field, start = str(term.field), int(prefix)
    ranges: list[dict[str, Any]] = [{"term": {field: start}}]
    for extra in range(1, _MAX_DIGITS - len(prefix) + 1):
        low = start * 10**extra
        if low == 0:
            continue  # 0* is 0 alone: numbers have no leading zeros
        ranges.append({"range": {field: {"gte": low, "lte": (start + 1) * 10**extra - 1}}})
    return {"bool": {"should": ranges, "minimum_should_match": 1}}


def es_search(client: Elasticsearch, index: str, query_text: str,
              since: datetime | None = None, until: datetime | None = None,
              limit: int = 100) -> list[Event]:
    """Events in `index` matching `query_text` with since <= @timestamp < until, newest
    first, at most `limit`. Raises QueryError for a bad query (the parser's, or one the
    cluster refuses)."""
    from monitor.sinks.es_docs import event_from_doc

    if limit < 1:
        raise ValueError(f"limit must be positive, not {limit}")
    filters = [to_dsl(parse_query(query_text))]
    window: dict[str, str] = {}
    if since is not None:
        window["gte"] = format_ts(since)
    if until is not None:
        window["lt"] = format_ts(until)
    if window:
        filters.append({"range": {"@timestamp": window}})
    query = filters[0] if len(filters) == 1 else {"bool": {"filter": filters}}
    sort = [{"@timestamp": {"order": "desc"}}, {"event.id": {"order": "desc"}}]
    events: list[Event] = []
    after: list[Any] | None = None
    while len(events) < limit:
        size = min(PAGE, limit - len(events))
        extra: dict[str, Any] = {"search_after": after} if after is not None else {}
        try:
            answer = client.search(index=index, query=query, size=size, sort=sort,
                                   track_total_hits=False, **extra)
        except BadRequestError as exc:
            raise QueryError(f"the cluster refused the query: {_reason(exc)}", "<query>", 1, 1,
                             "simplify the query") from None
        hits = answer["hits"]["hits"]
        events.extend(event_from_doc(hit["_source"]) for hit in hits)
        if len(hits) < size:
            break
        after = hits[-1]["sort"]
    return events


def _reason(exc: ApiError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        root = body["error"].get("root_cause") or [body["error"]]
        return str(root[0].get("reason") or body["error"].get("type"))[:300]
    return str(exc.message)[:300]


def search_cluster(config: Config, query_text: str, since: datetime | None = None,
                   until: datetime | None = None, limit: int = 100) -> list[Event]:
    """`wallwatch search --backend es`: search every host's events on the configured
    cluster. Raises QueryError for the query, WallwatchError for the cluster."""
    from monitor.sinks.es_client import describe, make_client
    from monitor.sinks.es_config import parse_es_config

    cfg = parse_es_config(config)
    if cfg is None:
        raise WallwatchError("--backend es needs an 'elasticsearch:' section", config.path)
    parse_query(query_text)  # a bad query fails here, before any connection
    client = make_client(cfg)
    try:
        return es_search(client, EVENTS_PATTERN, query_text, since, until, limit)
    except (ApiError, TransportError) as exc:
        raise WallwatchError(f"cannot search Elasticsearch: {describe(exc, cfg.auth)}",
                             ",".join(cfg.urls)) from None
    finally:
        client.close()
