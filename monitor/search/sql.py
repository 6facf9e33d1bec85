"""Compile a parsed query to SQL against the store, and run searches.

The WHERE fragment refers to EVENT_SELECT's aliases (`e` events; paths through
`e.path_id` / `e.target_id` into `strings`). Every value the user typed goes in
as a parameter; the only text spliced into the SQL is column names from
monitor.event.FIELDS and constants of this module.

Paths are matched through the `strings` table. Its trigram index (strings_fts)
answers LIKE and GLOB exactly when the pattern has a run of at least three
literal characters; SQLite 3.40's trigram index wrongly returns no rows for
shorter non-ASCII runs (`%发票%`), so shorter patterns scan `strings` instead.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Literal

from monitor.errors import QueryError
from monitor.event import Event, ts_to_us
from monitor.search.fields import UnknownField, field_spec
from monitor.search.query import NUMBER, And, Node, Not, Or, Term, parse_query
from monitor.store import EVENT_SELECT, Store, row_to_event

Piece = tuple[str, bool]  # (character, is a wildcard)
Check = tuple[str, list[Any]]  # an exact condition on s.text, with its parameters

_ESC = " ESCAPE '\\'"
_HEAD = "rtrim(s.text, replace(s.text, '/', ''))"  # the path up to its last '/'
_BASENAME = f"substr(s.text, length({_HEAD}) + 1)"
_DIRNAME = f"coalesce(nullif(rtrim({_HEAD}, '/'), ''), {_HEAD})"  # as posixpath.dirname
_EXTRA = "json_each(CAST(extra_json(e.extra) AS TEXT), ?)"
_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_TOO_COMPLEX = ("parser stack overflow", "too large", "too many", "too complex")


def compile_where(node: Node) -> tuple[str, list[Any]]:
    """A WHERE fragment for `node` and its parameters, in order."""
    params: list[Any] = []
    return _compile(node, params), params


def _compile(node: Node, params: list[Any]) -> str:
    # SQLite 3.40's parser has a fixed stack of 100 entries. An open parenthesis
    # costs one, but `x OR (` or `NOT f(` cost three or four: so nested operands
    # go first, nested ANDs (ORs) are flattened, and NOT is `operand IS NOT TRUE`.
    if isinstance(node, Term):
        return _term(node, params)
    if isinstance(node, Not):
        # NOT of a condition on an absent field (NULL) must be true
        inner = _compile(node.item, params)
        enclosed = not isinstance(node.item, Term) or node.item.field is None
        return f"{inner if enclosed else f'({inner})'} IS NOT TRUE"
    items = sorted(_flatten(node), key=_depth, reverse=True)
    if not items:
        return "1" if isinstance(node, And) else "0"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(_compile(item, params) for item in items) + ")"


def _flatten(node: And | Or) -> list[Node]:
    """The operands of `node`, with those of nested nodes of its kind inlined."""
    out: list[Node] = []
    for item in node.items:
        if isinstance(item, And | Or) and type(item) is type(node):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _depth(node: Node) -> int:
    if isinstance(node, Term):
        return 0
    if isinstance(node, Not):
        return _depth(node.item)  # IS NOT TRUE adds no nesting
    return 1 + max((_depth(item) for item in node.items), default=0)


def _pieces(term: Term) -> list[Piece]:
    if term.kind != "wildcard":
        return [(c, False) for c in term.value]
    out: list[Piece] = []
    value, i = term.value, 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append((value[i + 1], False))
            i += 1
        elif c not in "*?":
            out.append((c, False))
        elif not (c == "*" and out[-1:] == [("*", True)]):
            out.append((c, True))
        i += 1
    return out


def _glob(pieces: list[Piece]) -> str:
    return "".join(c if w else f"[{c}]" if c in "*?[" else c for c, w in pieces)


def _like(pieces: list[Piece], loose: bool = False) -> str:
    """A LIKE pattern for use with ESCAPE '\\'; a loose one has no escapes, so
    literal % and _ act as wildcards and it matches a superset."""
    out = []
    for c, wild in pieces:
        if wild:
            out.append("%" if c == "*" else "_")
        else:
            out.append(c if loose or c not in "%_\\" else "\\" + c)
    return "".join(out)


def _longest_literal(pieces: list[Piece], breaks: str) -> int:
    best = run = 0
    for c, wild in pieces:
        run = 0 if wild or c in breaks else run + 1
        best = max(best, run)
    return best


def _string_ids(params: list[Any], op: Literal["GLOB", "LIKE"], pattern: str, literal_run: int,
                check: Check | None) -> str:
    """SQL selecting the ids of strings matching `pattern` (and `check`, which
    makes the result exact when the pattern only matches a superset)."""
    if literal_run >= 3:
        params.append(pattern)
        fts = f"SELECT rowid FROM strings_fts WHERE text {op} ?"
        if check is None:
            return fts
        params.extend(check[1])
        return f"SELECT s.id FROM strings s WHERE s.id IN ({fts}) AND {check[0]}"
    condition, values = check if check is not None else (f"s.text {op} ?", [pattern])
    params.extend(values)
    return f"SELECT s.id FROM strings s WHERE {condition}"


def _free_text(term: Term, params: list[Any]) -> str:
    star: Piece = ("*", True)
    pieces = _pieces(term)  # a substring: anything before and after it
    if pieces[:1] != [star]:
        pieces.insert(0, star)
    if pieces[-1:] != [star]:
        pieces.append(star)
    like = _like(pieces)
    exact = not any(c in "%_" and not w for c, w in pieces)
    check: Check | None = None if exact else ("s.text LIKE ?" + _ESC, [like])
    run = _longest_literal(pieces, "%_")
    loose = _like(pieces, loose=True)
    paths = _string_ids(params, "LIKE", loose, run, check)
    targets = _string_ids(params, "LIKE", loose, run, check)
    params.append(like)
    return f"(e.path_id IN ({paths}) OR e.target_id IN ({targets}) OR e.user_name LIKE ?{_ESC})"


def _number(value: str) -> int | float:
    """A parameter for a number the parser accepted; beyond SQLite's 64-bit
    integers it becomes a float (which compares as expected)."""
    if "." in value:
        return float(value)
    number = int(value)
    return number if -(2**63) <= number < 2**63 else float(value)


def _term(term: Term, params: list[Any]) -> str:
    if term.field is None:
        return _free_text(term, params)
    try:
        spec = field_spec(term.field)
    except UnknownField as exc:
        raise QueryError(f"unknown field {term.field!r}", "<query>", 1, term.col,
                         exc.hint) from None
    if not spec.column.isidentifier():
        raise ValueError(f"not a column: {spec.column!r}")
    col, kind = f"e.{spec.column}", term.kind
    pieces = _pieces(term)
    anything = kind == "wildcard" and all(w and c == "*" for c, w in pieces)
    if spec.type == "json":
        return _extra(term, pieces, anything, params)
    if anything:
        return f"{col} IS NOT NULL"
    if kind in _COMPARE:
        params.append(_number(term.value))
        return f"{col} {_COMPARE[kind]} ?"
    wildcard = kind == "wildcard"
    if spec.type == "path":
        if not wildcard:
            params.append(term.value)
            return f"{col} = (SELECT id FROM strings WHERE text = ?)"
        glob = _glob(pieces)
        return f"{col} IN ({_string_ids(params, 'GLOB', glob, _run(pieces), None)})"
    if spec.type in ("name", "directory"):
        if spec.type == "directory":
            while len(pieces) > 1 and pieces[-1] == ("/", False):
                pieces.pop()
            fts = [*pieces, ("/", False), ("*", True)]
            part = _DIRNAME
        else:
            fts = [("*", True), *pieces]
            part = _BASENAME
        value = _glob(pieces) if wildcard else "".join(c for c, _ in pieces)
        check = (f"{part} {'GLOB' if wildcard else '='} ?", [value])
        return f"{col} IN ({_string_ids(params, 'GLOB', _glob(fts), _run(fts), check)})"
    if spec.type == "bool":
        if term.value not in ("true", "false"):
            raise QueryError(f"{term.field} is true or false", "<query>", 1, term.col)
        params.append(1 if term.value == "true" else 0)
        return f"{col} = ?"
    if not wildcard:
        params.append(_number(term.value) if spec.type == "int" else term.value)
        return f"{col} = ?"
    if spec.type == "nocase":  # LIKE ignores ASCII case, as COLLATE NOCASE does
        params.append(_like(pieces))
        return f"{col} LIKE ?{_ESC}"
    params.append(_glob(pieces))
    return f"CAST({col} AS TEXT) GLOB ?" if spec.type == "int" else f"{col} GLOB ?"


def _run(pieces: list[Piece]) -> int:
    return _longest_literal(pieces, "*?[")  # GLOB writes these literals as [c]


def _extra(term: Term, pieces: list[Piece], anything: bool, params: list[Any]) -> str:
    """A condition on a source's own field, kept in the JSON `extra` column; a
    list value matches when any of its items does."""
    params.append(f'$."{term.field}"')
    if anything:
        return "coalesce(json_type(CAST(extra_json(e.extra) AS TEXT), ?), 'null') <> 'null'"
    head = f"EXISTS (SELECT 1 FROM {_EXTRA} WHERE "
    if term.kind in _COMPARE:
        params.append(_number(term.value))
        return head + f"type IN ('integer', 'real') AND value {_COMPARE[term.kind]} ?)"
    if term.kind == "wildcard":
        params.append(_glob(pieces))
        return head + "type NOT IN ('object', 'array', 'null') AND CAST(value AS TEXT) GLOB ?)"
    alternatives = ["value = ?"]
    params.append(term.value)
    if NUMBER.match(term.value):
        alternatives.append("value = ?")
        params.append(_number(term.value))
    if term.value in ("true", "false"):
        alternatives.append("type = 'true'" if term.value == "true" else "type = 'false'")
    return head + "type NOT IN ('object', 'array') AND (" + " OR ".join(alternatives) + "))"


def search(store: Store, query_text: str, since: datetime | None = None,
           until: datetime | None = None, limit: int = 100,
           newest_first: bool = True) -> list[Event]:
    """Events matching `query_text` with since <= @timestamp < until, newest
    first unless told otherwise, at most `limit`. Raises QueryError."""
    if limit < 1:
        raise ValueError(f"limit must be positive, not {limit}")
    where, params = compile_where(parse_query(query_text))
    where = f"({where})"
    if since is not None:
        where += " AND e.ts >= ?"
        params.append(ts_to_us(since))
    if until is not None:
        where += " AND e.ts < ?"
        params.append(ts_to_us(until))
    order = "DESC" if newest_first else "ASC"
    sql = f"{EVENT_SELECT} WHERE {where} ORDER BY e.ts {order}, e.seq {order} LIMIT ?"
    params.append(limit)
    try:
        return [row_to_event(row) for row in store.query(sql, params)]
    except sqlite3.OperationalError as exc:  # a last guard; the parser's limits keep within
        if not any(s in str(exc) for s in _TOO_COMPLEX):
            raise
        raise QueryError(f"query is too complex for the store ({exc})", "<query>", 1, 1,
                         "use fewer terms or less nesting") from None
