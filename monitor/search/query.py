"""The `wallwatch search` query language: tokenizer and recursive-descent parser.

    query   := or EOF                      (an empty query matches every event)
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*      (adjacent terms are ANDed)
    unary   := ("NOT" | "-") unary | "(" or ")" | term
    term    := field ":" value | field ":" '"' phrase '"' | field ":" (">"|">="|"<"|"<=") number
             | word | '"' phrase '"'

Precedence is NOT > AND > OR; keywords are uppercase. In a word `*` and `?` are
wildcards and a backslash makes any of ` "()*?\\:-<>` literal (other backslashes
stay, so Windows paths need no doubling). In a phrase a backslash escapes `"`
and `\\`. A word or phrase without a field is free text: a substring of the
path, the rename target or the user name. Every mistake raises QueryError with
the 1-based column of the offending character.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from monitor.errors import QueryError
from monitor.search.fields import FIELD_NAME, UnknownField, field_spec

TermKind = Literal["exact", "wildcard", "phrase", "lt", "le", "gt", "ge"]

MAX_LENGTH = 4096  # characters in a query
MAX_DEPTH = 50  # nested parentheses and NOTs
MAX_TERMS = 200  # keeps the SQL within SQLite's expression and parameter limits


@dataclass(frozen=True, slots=True)
class Term:
    """One condition. `field` None is free text. For kind "wildcard" the value
    is a pattern: `*` and `?` are wildcards and `\\` makes the next character
    literal; for the other kinds it is the literal value. `col` (not compared)
    is where the term starts in the query."""

    field: str | None
    value: str
    kind: TermKind = "exact"
    col: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = Term | And | Or | Not
MATCH_ALL: Node = And(())  # what an empty query means

_ESCAPABLE = frozenset(' \t\n\r"()*?\\:-<>')
_OPS: dict[str, TermKind] = {">=": "ge", "<=": "le", ">": "gt", "<": "lt"}
NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")
_INTEGER = re.compile(r"-?\d+\Z")
TokKind = Literal["(", ")", "AND", "OR", "NOT", "TERM", "END"]
_KEYWORDS: dict[str, TokKind] = {"AND": "AND", "OR": "OR", "NOT": "NOT"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: TokKind
    col: int
    term: Term | None = None


def _error(message: str, col: int, hint: str | None = None) -> QueryError:
    return QueryError(message, "<query>", 1, col, hint)


def parse_query(text: str) -> Node:
    """Parse a search query into a tree of Term, And, Or and Not."""
    tokens = _Lexer(text).tokens()
    return _Parser(tokens).parse()


class _Lexer:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise _error(f"query is longer than {MAX_LENGTH} characters", MAX_LENGTH + 1,
                         "search for fewer things at once")
        for i, c in enumerate(text):
            if unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r":
                raise _error(f"control character U+{ord(c):04X} in query", i + 1,
                             "remove it; a ? in a pattern stands for any one character")
        self.text = text
        self.pos = 0
        self.out: list[_Tok] = []
        self.terms = 0

    def tokens(self) -> list[_Tok]:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            col = self.pos + 1
            if c.isspace():
                self.pos += 1
            elif c in "()":
                self.out.append(_Tok("(" if c == "(" else ")", col))
                self.pos += 1
            elif c == '"':
                self._term(Term(None, self._phrase(), "phrase", col))
            elif c == "-":
                nxt = text[self.pos + 1: self.pos + 2]
                if not nxt or nxt.isspace() or nxt == ")":
                    raise _error("'-' must be followed directly by a term", col,
                                 "write -user.name:bob, or \\- for a literal '-'")
                self.out.append(_Tok("NOT", col))
                self.pos += 1
            else:
                self._word(col)
        self.out.append(_Tok("END", len(text) + 1))
        return self.out

    def _term(self, term: Term) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise _error(f"more than {MAX_TERMS} terms in one query", term.col,
                         "split the search into several")
        if term.kind == "phrase" and not term.value:
            raise _error("empty phrase", term.col, 'put text between the quotes: "..."')
        self.out.append(_Tok("TERM", term.col, term))

    def _phrase(self) -> str:
        """Read a quoted phrase starting at self.pos; return its text."""
        text, start = self.text, self.pos
        i, chars = start + 1, []
        while i < len(text):
            c = text[i]
            if c == "\\" and text[i + 1: i + 2] in ('"', "\\"):
                chars.append(text[i + 1])
                i += 2
            elif c == '"':
                self.pos = i + 1
                return "".join(chars)
            else:
                chars.append(c)
                i += 1
        raise _error("unterminated quote", start + 1,
                     'close the phrase with ", or write \\" for a quote inside it')

    def _word(self, col: int) -> None:
        text = self.text
        chars: list[tuple[str, bool]] = []  # (character, escaped)
        while self.pos < len(text):
            c = text[self.pos]
            if c.isspace() or c in '()"':
                break
            if c == "\\" and text[self.pos + 1: self.pos + 2] in _ESCAPABLE:
                chars.append((text[self.pos + 1], True))
                self.pos += 2
            else:
                chars.append((c, False))
                self.pos += 1
        plain = "".join(c for c, _ in chars)
        keyword = _KEYWORDS.get(plain)
        if keyword is not None and not any(e for _, e in chars):
            self.out.append(_Tok(keyword, col))
            return
        colon = next((i for i, (c, e) in enumerate(chars) if c == ":" and not e), -1)
        field = plain[:colon]
        if colon > 0 and not any(e for _, e in chars[:colon]) and FIELD_NAME.match(field):
            self._field_term(field, chars[colon + 1:], col, col + colon)
        else:
            self._term(Term(None, *_value(chars), col))

    def _field_term(self, field: str, chars: list[tuple[str, bool]], col: int,
                    colon_col: int) -> None:
        try:
            spec = field_spec(field)
        except UnknownField as exc:
            raise _error(f"unknown field {field!r}", col, exc.hint) from None
        text = self.text
        value_col = colon_col + 1
        kind: TermKind
        if not chars and text[self.pos: self.pos + 1] == '"':
            value, kind = self._phrase(), "phrase"
            if not value:
                raise _error(f"empty value for {field}", value_col,
                             f'write a value in the quotes, or {field}:* for any value')
        elif not chars:
            hint = f"write {field}:value with no space after the colon"
            if text[self.pos: self.pos + 1] == "(":
                hint = f"write ({field}:a OR {field}:b) instead of {field}:(a OR b)"
            raise _error(f"empty value for {field}", colon_col, hint)
        elif chars[0] in ((">", False), ("<", False)):
            op = chars[0][0] + ("=" if chars[1:2] == [("=", False)] else "")
            number = "".join(c for c, _ in chars[len(op):])
            if spec.type not in ("int", "json"):
                raise _error(f"{field} cannot be compared with {op}", value_col,
                             "only numeric fields take >, >=, < and <=")
            if not NUMBER.match(number):
                raise _error(f"{op} needs a number", value_col + len(op), f"e.g. {field}:{op}10")
            value, kind = number, _OPS[op]
        else:
            value, kind = _value(chars)
        if spec.type == "bool":
            value = _flag(field, value, kind, value_col)
        elif spec.type == "int" and kind in ("exact", "phrase") and not _INTEGER.match(value):
            raise _error(f"{field} holds whole numbers, not {value!r}", value_col,
                         f"e.g. {field}:445 or {field}:>=1024")
        self._term(Term(field, value, kind, col))


def _value(chars: list[tuple[str, bool]]) -> tuple[str, TermKind]:
    """A word's value: a wildcard pattern if it has an unescaped * or ?."""
    if not any(c in "*?" and not e for c, e in chars):
        return "".join(c for c, _ in chars), "exact"
    # in a pattern a backslash marks a literal *, ? or backslash
    pattern = ("\\" + c if c == "\\" or (e and c in "*?") else c for c, e in chars)
    return "".join(pattern), "wildcard"


def _flag(field: str, value: str, kind: TermKind, col: int) -> str:
    if kind == "wildcard" and set(value) == {"*"}:
        return value
    if kind in ("exact", "phrase") and value.lower() in ("true", "false"):
        return value.lower()
    raise _error(f"{field} is true or false, not {value!r}", col,
                 f"write {field}:true, {field}:false or {field}:* for known")


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.i = 0

    def _peek(self) -> _Tok:
        return self.tokens[self.i]

    def _next(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self._peek().kind == "END":
            return MATCH_ALL
        node = self._or(0, None)
        tok = self._peek()
        if tok.kind == ")":
            raise _error("unbalanced ')': nothing opened it", tok.col,
                         "remove it or add '(' where the group starts")
        return node

    def _or(self, depth: int, opener: _Tok | None) -> Node:
        items = [self._and(depth, opener)]
        while self._peek().kind == "OR":
            op = self._next()
            items.append(self._and(depth, op))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self, depth: int, after: _Tok | None) -> Node:
        items = [self._unary(depth, after)]
        while True:
            kind = self._peek().kind
            if kind == "AND":
                op = self._next()
                items.append(self._unary(depth, op))
            elif kind in ("TERM", "(", "NOT"):
                items.append(self._unary(depth, None))
            else:
                break
        return items[0] if len(items) == 1 else And(tuple(items))

    def _unary(self, depth: int, after: _Tok | None) -> Node:
        tok = self._peek()
        if tok.kind == "TERM" and tok.term is not None:
            self._next()
            return tok.term
        if tok.kind in ("NOT", "("):
            if depth >= MAX_DEPTH:
                raise _error(f"query nests deeper than {MAX_DEPTH} levels", tok.col,
                             "flatten the parentheses and NOTs")
            self._next()
            if tok.kind == "NOT":
                return Not(self._unary(depth + 1, tok))
            if self._peek().kind == ")":
                raise _error("empty parentheses", self._peek().col, "put a term inside ( )")
            inner = self._or(depth + 1, tok)
            if self._peek().kind != ")":
                raise _error("unbalanced '(': it is never closed", tok.col,
                             "add ')' where the group ends")
            self._next()
            return inner
        after_name = after.kind if after is not None and after.kind != "(" else None
        if after is not None and after_name and tok.kind in ("END", ")"):
            raise _error(f"{after_name} has nothing after it", after.col,
                         f"put a term after {after_name} or remove it")
        if tok.kind in ("AND", "OR"):
            if after_name is None:
                raise _error(f"{tok.kind} has nothing before it", tok.col,
                             f"put a term before {tok.kind} or remove it")
            raise _error(f"{tok.kind} cannot follow {after_name}", tok.col,
                         f"put a term between {after_name} and {tok.kind}")
        raise _error("unbalanced ')': nothing opened it", tok.col,
                     "remove it or add '(' where the group starts")
