"""A Sigma rule's detection (pySigma's condition tree, selections already resolved,
`1 of` / `all of` expanded, modifiers applied) → one Condition, the same compiled
predicate our own `when:` blocks give. Compiled once, at load time.

The values an OR compares one field against become one test of that field (see
values.Bucket), so a Sigma value list costs what a native list costs. Field names
are read through the logsource's mapping; the mapping's own `when` is ANDed in
front, and gives the engine its index requirements (event.dataset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import SigmaExists, SigmaFieldReference

from monitor.event import FIELDS, Event
from monitor.rules.condition import _all_of, _any_of, _text
from monitor.rules.model import Condition, Predicate
from monitor.rules.sigma.mapping import LogsourceMapping, combined_getter
from monitor.rules.sigma.values import Bucket, Unsupported, keyword_pattern

Compiled = tuple[Predicate, str]  # the test and its canonical text
_ATTRS = tuple(attr for name, attr in FIELDS.items() if name != "@timestamp")


def _flat(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flat(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flat(item)
    elif value is not None:
        yield _text(value)


def event_texts(ev: Event) -> Iterator[str]:
    """Every value of the event as text: where keywords are searched by default (a
    Sigma keyword means "anywhere in the log record")."""
    for attr in _ATTRS:
        value = getattr(ev, attr)
        if value is not None:
            yield from _flat(value)
    for value in ev.extra.values():
        yield from _flat(value)


class DetectionCompiler:
    def __init__(self, mapping: LogsourceMapping) -> None:
        self.mapping = mapping
        self.fields: set[str] = set()

    def read(self, sigma_field: str) -> tuple[Callable[[Event], Any], str]:
        try:
            targets = self.mapping.targets(sigma_field)
        except ValueError as exc:
            raise Unsupported(str(exc)) from None
        self.fields.update(t.base for t in targets)
        return combined_getter(targets), "|".join(t.text for t in targets)

    def compile(self, node: Any) -> Compiled:
        if isinstance(node, ConditionAND):
            parts = [self.compile(arg) for arg in _flatten(node, ConditionAND)]
            return _all_of([t for t, _ in parts]), "and(" + ",".join(s for _, s in parts) + ")"
        if isinstance(node, ConditionOR):
            return self._any(_flatten(node, ConditionOR))
        if isinstance(node, ConditionNOT):
            inner, source = self.compile(node.args[0])
            return (lambda ev: not inner(ev)), f"not({source})"
        if isinstance(node, ConditionFieldEqualsValueExpression | ConditionValueExpression):
            return self._any([node])
        raise Unsupported(f"an empty or unknown condition part ({type(node).__name__})")

    def _any(self, args: list[Any]) -> Compiled:
        """OR: the values compared against one field become one test of that field."""
        buckets: dict[str, Bucket] = {}
        keywords: list[tuple[Callable[[str], bool], str]] = []
        others: list[Compiled] = []
        for arg in args:
            if isinstance(arg, ConditionFieldEqualsValueExpression) and \
                    not isinstance(arg.value, SigmaExists | SigmaFieldReference):
                buckets.setdefault(arg.field, Bucket()).add(arg.value)
            elif isinstance(arg, ConditionFieldEqualsValueExpression):
                others.append(self._special(arg))
            elif isinstance(arg, ConditionValueExpression):
                keywords.append(keyword_pattern(arg.value))
            else:
                others.append(self.compile(arg))
        parts = [self._field(name, bucket) for name, bucket in buckets.items()]
        if keywords:
            parts.append(self._keywords(keywords))
        parts += others
        if len(parts) == 1:
            return parts[0]
        return _any_of([t for t, _ in parts]), "or(" + ",".join(s for _, s in parts) + ")"

    def _field(self, name: str, bucket: Bucket) -> Compiled:
        get, where = self.read(name)
        source = f"{where}={bucket.source}"
        match = bucket.value_test()
        if bucket.null:
            def test_null(ev: Event) -> bool:
                value = get(ev)
                if value is None or value == "" or value == []:
                    return True
                if isinstance(value, list):
                    return any(match(item) for item in value)
                return match(value)
            return test_null, source
        fast = _fast_text(bucket)
        if fast is not None:
            def test_text(ev: Event) -> bool:  # the hot path: one string, one comparison
                value = get(ev)
                if type(value) is str:
                    return fast(value.casefold())
                if type(value) is int:  # event ids and other counters (never a bool here)
                    return fast(str(value))
                if value is None:
                    return False
                if isinstance(value, list):
                    return any(match(item) for item in value)
                return match(value)
            return test_text, source

        def test(ev: Event) -> bool:
            value = get(ev)
            if value is None:
                return False
            if isinstance(value, list):
                return any(match(item) for item in value)
            return match(value)
        return test, source

    def _special(self, node: ConditionFieldEqualsValueExpression) -> Compiled:
        get, where = self.read(node.field)
        value = node.value
        if isinstance(value, SigmaExists):
            want = bool(value.exists)
            return ((lambda ev: (get(ev) not in (None, [])) == want),
                    f"{where}=exists:{str(want).lower()}")
        assert isinstance(value, SigmaFieldReference)
        other, other_where = self.read(value.field)
        op: Callable[[str, str], bool]
        if value.starts_with and value.ends_with:
            op, kind = (lambda a, b: b in a), "in"
        elif value.starts_with:
            op, kind = str.startswith, "sw"
        elif value.ends_with:
            op, kind = str.endswith, "ew"
        else:
            op, kind = str.__eq__, "eq"

        def test(ev: Event) -> bool:
            mine, theirs = get(ev), other(ev)
            if mine is None or theirs is None:
                return False
            left = [_text(v).casefold() for v in (mine if isinstance(mine, list) else [mine])]
            right = [_text(v).casefold() for v in
                     (theirs if isinstance(theirs, list) else [theirs])]
            return any(op(a, b) for a in left for b in right)
        return test, f"{where}={kind}:field({other_where})"

    def _keywords(self, patterns: list[tuple[Callable[[str], bool], str]]) -> Compiled:
        tests = [p for p, _ in patterns]
        source = "keywords[" + ",".join(s for _, s in patterns) + "]"
        targets = self.mapping.keywords
        if targets is None:
            texts: Callable[[Event], Iterator[str]] = event_texts
        else:
            self.fields.update(t.base for t in targets)
            get = combined_getter(targets)

            def texts(ev: Event) -> Iterator[str]:
                yield from _flat(get(ev))
            source = "|".join(t.text for t in targets) + "~" + source
        return (lambda ev: any(p(t) for t in texts(ev) for p in tests)), source


def _flatten(node: Any, kind: type) -> list[Any]:
    """The operands of nested ANDs (or ORs) as one list: fewer calls per event."""
    out: list[Any] = []
    for arg in node.args:
        out.extend(_flatten(arg, kind) if isinstance(arg, kind) else [arg])
    return out


def _fast_text(bucket: Bucket) -> Callable[[str], bool] | None:
    """For a bucket of only case-insensitive string comparisons of one kind: a test of
    the casefolded text (most Sigma values are exactly this)."""
    if bucket.regexes or bucket.others or bucket.any_value or any(
            getattr(bucket, kind)[True] for kind in ("eq", "starts", "ends", "contains")):
        return None
    kinds = [k for k in ("eq", "starts", "ends", "contains") if getattr(bucket, k)[False]]
    if len(kinds) != 1:
        return None
    values = getattr(bucket, kinds[0])[False]
    if kinds[0] == "eq":
        wanted = frozenset(values)
        return wanted.__contains__
    if kinds[0] == "starts":
        prefixes = tuple(sorted(values))
        return lambda t: t.startswith(prefixes)
    if kinds[0] == "ends":
        suffixes = tuple(sorted(values))
        return lambda t: t.endswith(suffixes)
    needles = tuple(sorted(values))
    if len(needles) == 1:
        [needle] = needles
        return lambda t: needle in t
    return lambda t: any(n in t for n in needles)


def compile_detection(rule: SigmaRule, mapping: LogsourceMapping) -> Condition:
    """The rule's condition(s) (several are OR-ed, as Sigma says) behind the mapping's
    `when`. Raises Unsupported with the reason when the rule cannot be evaluated."""
    compiler = DetectionCompiler(mapping)
    trees = [c.parse() for c in rule.detection.parsed_condition]
    when = mapping.when
    if len(trees) == 1 and isinstance(trees[0], ConditionAND):  # one flat AND, `when` first
        parts = [compiler.compile(arg) for arg in _flatten(trees[0], ConditionAND)]
        test = _all_of([when.test] + [t for t, _ in parts])
        source = "and(" + ",".join(s for _, s in parts) + ")"
    else:
        compiled = [compiler.compile(tree) for tree in trees]
        inner, source = compiled[0] if len(compiled) == 1 else (
            _any_of([t for t, _ in compiled]), "or(" + ",".join(s for _, s in compiled) + ")")
        test = _all_of([when.test, inner])
    return Condition(test, frozenset(compiler.fields | when.fields),
                     f"sigma[{mapping.name}:{when.source}]{source}", when.requires)
