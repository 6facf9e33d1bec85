"""`when:` blocks → compiled predicates.

    when:                            # a map is AND
      event.category: file
      event.action: [read, write]    # a list of values is any-of
      file.path|startswith: /srv/    # Sigma-spelled modifiers
      file.name|endswith: {list: bait_files}   # a named list from `lists:`
      not: {user.name: backup}       # nested not / any / all
      any: [{a: 1}, {b: 2}]

String comparisons ignore case unless `|cased` is given (as in Sigma); `|all`
makes a list of values all-of. A field the event lacks matches nothing (except
`|exists: false`). A list-valued field (related.user) matches if any item does.
Everything is compiled once at load time into closures.
"""

from __future__ import annotations

import difflib
import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from monitor.errors import RuleError
from monitor.event import DERIVED_FIELDS, FIELDS, Event
from monitor.rules.model import INDEX_FIELDS, Condition, Predicate
from monitor.yamlloc import YDict, YList

MODIFIERS = frozenset({"startswith", "endswith", "contains", "re", "cidr", "gt", "gte", "lt",
                       "lte", "exists", "cased", "all"})
# wallwatch.widened: set by sources that can tell a permission change grants more
KNOWN_FIELDS = frozenset(FIELDS) | frozenset(DERIVED_FIELDS) | {"event.id", "tags",
                                                               "wallwatch.widened"}
# sources keep their own fields under these namespaces (Event.extra)
NATIVE_PREFIXES = ("samba.", "auditd.", "winlog.", "system.", "ssh.", "process.", "error.",
                   "file.", "event.", "user.", "source.", "destination.", "host.", "fswatch.",
                   "related.", "log.", "network.", "url.", "group.", "wallwatch.")
_FIELD_NAME = re.compile(r"^[A-Za-z_@][A-Za-z0-9_@.-]*$")
_NUMERIC = frozenset({"gt", "gte", "lt", "lte"})
Lists = Mapping[str, tuple[str, ...]]


def field_problem(name: str) -> str | None:
    """Why `name` cannot be a field (with a suggestion), or None when it can."""
    if name in KNOWN_FIELDS:
        return None
    close = difflib.get_close_matches(name, sorted(KNOWN_FIELDS), n=3, cutoff=0.75)
    if close:
        return f"did you mean {', '.join(close)}?"
    if not _FIELD_NAME.match(name):
        return "field names are dotted ECS names like user.name"
    if name.startswith("wallwatch."):
        return "wallwatch.* fields are: " + ", ".join(sorted(
            f for f in KNOWN_FIELDS if f.startswith("wallwatch.")))
    if not name.startswith(NATIVE_PREFIXES):
        return ("not an ECS field we write nor a source's own field "
                f"(those start with {', '.join(p.rstrip('.') for p in NATIVE_PREFIXES[:4])}…)")
    return None


class _Compiler:
    def __init__(self, path: str, lists: Lists) -> None:
        self.path = path
        self.lists = lists
        self.fields: set[str] = set()

    def fail(self, node: YDict | YList, key: Any, message: str,
             hint: str | None = None) -> RuleError:
        line, col = node.where(key) if key is not None else node.pos
        return RuleError(message, self.path, line, col, hint)

    def block(self, node: Any, parent: YDict | YList, key: Any) -> Predicate:
        """A map (AND of its entries) or a list of maps (OR, inside `any:`)."""
        if isinstance(node, YDict):
            if not node:
                raise self.fail(parent, key, "empty condition")
            return _all_of([self.entry(node, k) for k in node])
        raise self.fail(parent, key, "a condition must be a mapping of field: value",
                        "e.g. {event.category: file}")

    def group(self, node: YDict, key: str) -> list[Predicate]:
        value = node[key]
        if isinstance(value, YList):
            if not value:
                raise self.fail(node, key, f"'{key}' needs at least one condition")
            return [self.block(item, value, i) for i, item in enumerate(value)]
        if isinstance(value, YDict):  # any: {a: 1, b: 2} → any of the entries
            if not value:
                raise self.fail(node, key, f"'{key}' needs at least one condition")
            return [self.entry(value, k) for k in value]
        raise self.fail(node, key, f"'{key}' takes a list of conditions or a mapping")

    def entry(self, node: YDict, key: str) -> Predicate:
        if key == "not":
            inner = self.block(node[key], node, key)
            return lambda ev: not inner(ev)
        if key == "any":
            return _any_of(self.group(node, key))
        if key == "all":
            return _all_of(self.group(node, key))
        name, *mods = key.split("|")
        problem = field_problem(name)
        if problem:
            line, col = node.where_key(key)
            raise RuleError(f"unknown field '{name}'", self.path, line, col, problem)
        for mod in mods:
            if mod not in MODIFIERS:
                line, col = node.where_key(key)
                raise RuleError(f"unknown modifier '{mod}'", self.path, line, col,
                                f"modifiers are: {', '.join(sorted(MODIFIERS))}")
        self.fields.add(name)
        return self.field_test(name, mods, node, key)

    def values(self, node: YDict, key: str) -> list[Any]:
        raw = node[key]
        if isinstance(raw, YDict):
            if set(raw) != {"list"} or not isinstance(raw["list"], str):
                raise self.fail(node, key, "a value mapping must be {list: NAME}",
                                "named lists are declared under `lists:`")
            name = raw["list"]
            if name not in self.lists:
                raise self.fail(node, key, f"unknown list '{name}'",
                                f"lists in this file: {', '.join(sorted(self.lists)) or 'none'}")
            return list(self.lists[name])
        if isinstance(raw, YList):
            if not raw:
                raise self.fail(node, key, "an empty list of values never matches")
            if any(isinstance(v, YDict | YList) for v in raw):
                raise self.fail(node, key, "values must be plain strings, numbers or booleans")
            return list(raw)
        return [raw]

    def field_test(self, name: str, mods: list[str], node: YDict, key: str) -> Predicate:
        values = self.values(node, key)
        cased = "cased" in mods
        want_all = "all" in mods
        ops = [m for m in mods if m not in ("cased", "all")]
        if len(ops) > 1:
            raise self.fail(node, key, f"one comparison per field, not {'|'.join(ops)}")
        op = ops[0] if ops else "eq"
        try:
            match = _value_test(op, values, cased)
            match_each = [_value_test(op, [v], cased) for v in values] if want_all else []
        except ValueError as exc:
            raise self.fail(node, key, str(exc)) from None
        get = getter(name)
        if op == "exists":
            return lambda ev: match(get(ev))
        if want_all:
            def test_all(ev: Event) -> bool:
                value = get(ev)
                if value is None:
                    return False
                items = value if isinstance(value, list) else [value]
                return any(all(m(item) for m in match_each) for item in items)
            return test_all

        if op == "eq" and not cased and all(type(v) is str for v in values):
            wanted = frozenset(str(v).casefold() for v in values)

            def test_text(ev: Event) -> bool:  # the hottest path: a string among strings
                value = get(ev)
                if type(value) is str:
                    return value.casefold() in wanted
                if value is None:
                    return False
                if isinstance(value, list):
                    return any(match(item) for item in value)
                return match(value)
            return test_text

        def test(ev: Event) -> bool:  # the hot path: one lookup, one comparison
            value = get(ev)
            if value is None:
                return False
            if isinstance(value, list):
                return any(match(item) for item in value)
            return match(value)
        return test


def getter(name: str) -> Callable[[Event], Any]:
    """The fastest way to read a public field off an Event."""
    attr = FIELDS.get(name)
    if attr is not None:
        return operator.attrgetter(attr)
    if name in DERIVED_FIELDS:
        return lambda ev: ev.get(name)
    return lambda ev: ev.extra.get(name)


def _all_of(tests: list[Predicate]) -> Predicate:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda ev: a(ev) and b(ev)
    if len(tests) == 3:
        a, b, c = tests
        return lambda ev: a(ev) and b(ev) and c(ev)

    def every(ev: Event) -> bool:
        for t in tests:  # noqa: SIM110 (a plain loop: no generator per event on the hot path)
            if not t(ev):
                return False
        return True
    return every


def _any_of(tests: list[Predicate]) -> Predicate:
    if len(tests) == 2:
        a, b = tests
        return lambda ev: a(ev) or b(ev)

    def some(ev: Event) -> bool:
        for t in tests:  # noqa: SIM110 (a plain loop: no generator per event on the hot path)
            if t(ev):
                return True
        return False
    return some


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value_test(op: str, values: list[Any], cased: bool) -> Callable[[Any], bool]:
    """A test of one event value against the rule's values (any-of)."""
    if op == "exists":
        if len(values) != 1 or not isinstance(values[0], bool):
            raise ValueError("|exists takes true or false")
        want = values[0]
        return lambda v: (v is not None and v != []) == want
    if op in _NUMERIC:
        try:
            limits = [float(v) for v in values if not isinstance(v, bool)]
        except (TypeError, ValueError):
            raise ValueError(f"|{op} needs numbers") from None
        if len(limits) != len(values):
            raise ValueError(f"|{op} needs numbers")
        cmp: Callable[[float, float], bool] = {
            "gt": float.__gt__, "gte": float.__ge__, "lt": float.__lt__, "lte": float.__le__}[op]

        def numeric(v: Any) -> bool:
            try:
                x = float(v)
            except (TypeError, ValueError):
                return False
            return any(cmp(x, limit) for limit in limits)
        return numeric
    if op == "cidr":
        try:
            nets = [ipaddress.ip_network(str(v), strict=False) for v in values]
        except ValueError as exc:
            raise ValueError(f"|cidr: {exc}") from None

        def in_net(v: Any) -> bool:
            try:
                ip = ipaddress.ip_address(str(v))
            except ValueError:
                return False
            return any(ip in net for net in nets)
        return in_net
    if op == "re":
        try:
            patterns = [re.compile(str(v), 0 if cased else re.IGNORECASE) for v in values]
        except re.error as exc:
            raise ValueError(f"bad regular expression: {exc}") from None
        return lambda v: any(p.search(_text(v)) for p in patterns)
    if op == "eq" and all(isinstance(v, bool) for v in values):
        bools = set(values)
        return lambda v: isinstance(v, bool) and v in bools
    fold: Callable[[str], str] = (lambda s: s) if cased else str.casefold
    texts = [fold(_text(v)) for v in values]
    if op == "eq":
        wanted = frozenset(texts)
        if cased:
            return lambda v: (v in wanted if type(v) is str
                              else not isinstance(v, bool) and _text(v) in wanted)
        return lambda v: (v.casefold() in wanted if type(v) is str
                          else not isinstance(v, bool) and _text(v).casefold() in wanted)
    method = {"startswith": str.startswith, "endswith": str.endswith,
              "contains": str.__contains__}[op]
    return lambda v: any(method(fold(_text(v)), t) for t in texts)


def compile_condition(node: Any, parent: YDict | YList, key: Any, path: str,
                      lists: Lists) -> Condition:
    compiler = _Compiler(path, lists)
    test = compiler.block(node, parent, key)
    requires = []
    if isinstance(node, YDict):
        for name in INDEX_FIELDS:
            if name in node:  # plain equality (a key with modifiers is spelled differently)
                values = compiler.values(node, name)
                if all(isinstance(v, str) for v in values):
                    requires.append((name, frozenset(str(v).casefold() for v in values)))
    return Condition(test, frozenset(compiler.fields), _canonical(node), tuple(requires))


def _canonical(node: Any) -> str:
    if isinstance(node, dict):
        return "{" + ",".join(f"{k}:{_canonical(v)}" for k, v in sorted(node.items())) + "}"
    if isinstance(node, list):
        return "[" + ",".join(_canonical(v) for v in node) + "]"
    return repr(node)
