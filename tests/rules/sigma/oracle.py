"""Events built from a Sigma rule's own detection, and a slow reference evaluator.

`cases(rule, mapping)` walks pySigma's condition tree (not our compiled closures)
for a set of literals that satisfies it, builds an event from them, and then the
near misses: the same event with one literal broken (a selection value changed,
or a filter made to match). `oracle(rule, mapping, event)` evaluates the tree
directly with Sigma's plain semantics; the tests compare the compiled rule to it
on every event, so neither side grades its own homework.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from itertools import islice, product
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from monitor.event import FIELDS, Event
from monitor.rules.samples import event_from_fields
from monitor.rules.sigma.mapping import FieldTarget, LogsourceMapping

Literal = tuple[Any, bool]  # (a leaf of the condition tree, whether it must hold)
NOT_SAMPLED = object()


# -- the reference evaluator ---------------------------------------------------------
def _read(ev: Event, target: FieldTarget) -> list[Any]:
    value = ev.get(target.base)
    if target.index is not None:
        value = value[target.index] if isinstance(value, list) and \
            target.index < len(value) else None
    elif target.each:
        value = [v.get(target.key) if target.key else v
                 for v in (value if isinstance(value, list) else [])]
        value = [v for v in value if v is not None] or None
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def values_of(ev: Event, mapping: LogsourceMapping, field: str) -> list[Any]:
    return [v for t in mapping.targets(field) for v in _read(ev, t)]


def _text(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _glob(value: SigmaString, anchored: bool) -> re.Pattern[str]:
    body = "".join(".*" if p is SpecialChars.WILDCARD_MULTI else "." if
                   p is SpecialChars.WILDCARD_SINGLE else re.escape(str(p)) for p in value.s)
    flags = re.DOTALL | (0 if isinstance(value, SigmaCasedString) else re.IGNORECASE)
    return re.compile(f"^{body}$" if anchored else body, flags)


def _one(value: SigmaType, v: Any) -> bool:
    if isinstance(value, SigmaExpansion):
        return any(_one(x, v) for x in value.values)
    if isinstance(value, SigmaString):
        return _glob(value, True).match(_text(v)) is not None
    if isinstance(value, SigmaBool):
        return _text(v).lower() == _text(value.boolean)
    if isinstance(value, SigmaNumber):
        return _text(v) == str(value.number)
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for f in value.flags:
            flags |= {SigmaRegularExpressionFlag.IGNORECASE: re.I,
                      SigmaRegularExpressionFlag.MULTILINE: re.M,
                      SigmaRegularExpressionFlag.DOTALL: re.S}[f]
        return re.search(str(value.regexp), _text(v), flags) is not None
    if isinstance(value, SigmaCIDRExpression):
        try:
            return ipaddress.ip_address(_text(v)) in value.network
        except ValueError:
            return False
    if isinstance(value, SigmaCompareExpression):
        try:
            x, n = float(v), float(value.number.number)
        except (TypeError, ValueError):
            return False
        return {CompareOperators.LT: x < n, CompareOperators.LTE: x <= n,
                CompareOperators.GT: x > n, CompareOperators.GTE: x >= n,
                CompareOperators.NEQ: x != n}[value.op]
    raise NotImplementedError(type(value).__name__)


def _all_texts(ev: Event) -> list[str]:
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)
        elif v is not None:
            out.append(_text(v))
    for name, attr in FIELDS.items():
        if name != "@timestamp":
            walk(getattr(ev, attr))
    walk(dict(ev.extra))
    return out


def _leaf(node: Any, mapping: LogsourceMapping, ev: Event) -> bool:
    if isinstance(node, ConditionValueExpression):
        value = node.value
        if isinstance(value, SigmaString):
            return any(_glob(value, False).search(t) for t in _all_texts(ev))
        return any(_one(value, t) for t in _all_texts(ev))
    values = values_of(ev, mapping, node.field)
    value = node.value
    if isinstance(value, SigmaExists):
        return bool(values) == value.exists
    if isinstance(value, SigmaNull):
        return not values or values == [""]
    if isinstance(value, SigmaFieldReference):
        theirs = [_text(v).casefold() for v in values_of(ev, mapping, value.field)]
        for mine in (_text(v).casefold() for v in values):
            for other in theirs:
                if (value.starts_with and value.ends_with and other in mine) or \
                        (value.starts_with and not value.ends_with and mine.startswith(other)) \
                        or (value.ends_with and not value.starts_with and mine.endswith(other)) \
                        or (not value.starts_with and not value.ends_with and mine == other):
                    return True
        return False
    return any(_one(value, v) for v in values)


def evaluate(node: Any, mapping: LogsourceMapping, ev: Event) -> bool:
    if isinstance(node, ConditionAND):
        return all(evaluate(a, mapping, ev) for a in node.args)
    if isinstance(node, ConditionOR):
        return any(evaluate(a, mapping, ev) for a in node.args)
    if isinstance(node, ConditionNOT):
        return not evaluate(node.args[0], mapping, ev)
    return _leaf(node, mapping, ev)


def oracle(rule: SigmaRule, mapping: LogsourceMapping, ev: Event) -> bool:
    required = all(str(ev.get(name)).casefold() in allowed
                   for name, allowed in mapping.when.requires)
    return required and any(evaluate(c.parse(), mapping, ev)
                            for c in rule.detection.parsed_condition)


# -- the event builder ----------------------------------------------------------------
def solutions(node: Any, want: bool = True, limit: int = 12) -> list[list[Literal]]:
    """Sets of literals, each of which makes `node` evaluate to `want`."""
    if isinstance(node, ConditionNOT):
        return solutions(node.args[0], not want, limit)
    if isinstance(node, ConditionAND | ConditionOR):
        every = isinstance(node, ConditionAND) == want
        parts = [solutions(a, want, limit) for a in node.args]
        if every:
            combos = islice(product(*[p[:3] for p in parts]), limit)
            return [[lit for part in combo for lit in part] for combo in combos]
        return [s for p in parts for s in p][:limit]
    return [[(node, want)]]


def sample(value: SigmaType) -> Any:
    """A value that the Sigma value matches."""
    if isinstance(value, SigmaExpansion):
        return sample(value.values[0])
    if isinstance(value, SigmaString):
        return "".join("zz" if p is SpecialChars.WILDCARD_MULTI else "z"
                       if p is SpecialChars.WILDCARD_SINGLE else str(p) for p in value.s)
    if isinstance(value, SigmaBool):
        return bool(value.boolean)
    if isinstance(value, SigmaNumber):
        return value.number
    if isinstance(value, SigmaCIDRExpression):
        net = value.network
        return str(net[1] if net.num_addresses > 1 else net[0])
    if isinstance(value, SigmaCompareExpression):
        n = value.number.number
        return {CompareOperators.LT: n - 1, CompareOperators.LTE: n, CompareOperators.GT: n + 1,
                CompareOperators.GTE: n, CompareOperators.NEQ: n + 1}[value.op]
    if isinstance(value, SigmaExists):
        return "zz" if value.exists else None
    if isinstance(value, SigmaNull):
        return None
    return NOT_SAMPLED  # regular expressions: hand-written cases cover them


def miss(value: SigmaType) -> Any:
    """A value that the Sigma value does not match (checked by the oracle anyway)."""
    if isinstance(value, SigmaBool):
        return not value.boolean
    if isinstance(value, SigmaNumber):
        return value.number + 7919
    if isinstance(value, SigmaCIDRExpression):
        return "0.0.0.1" if value.network.version == 6 else "::2"
    if isinstance(value, SigmaCompareExpression):
        n = value.number.number
        return n + 1 if value.op in (CompareOperators.LT, CompareOperators.LTE) else n - 1
    if isinstance(value, SigmaExists):
        return None if value.exists else "zz"
    if isinstance(value, SigmaNull):
        return "zz"
    return "no-match"


@dataclass
class Case:
    name: str
    event: Event


class Builder:
    def __init__(self, mapping: LogsourceMapping) -> None:
        self.mapping = mapping
        self.fields: dict[str, Any] = {name: next(iter(allowed))
                                       for name, allowed in mapping.when.requires}
        self.keywords: list[str] = []

    def put(self, field: str, value: Any) -> None:
        """Write a value where the mapping reads the Sigma field (its first target)."""
        target = self.mapping.targets(field)[0]
        if value is None:  # absent
            if target.index is None and not target.each:
                self.fields.pop(target.base, None)
            return
        if target.index is not None:
            items = list(self.fields.get(target.base) or [])
            items += ["pad"] * (target.index + 1 - len(items))
            items[target.index] = value
            self.fields[target.base] = items
        elif target.each:
            items = list(self.fields.get(target.base) or [{}])
            items[0] = {**items[0], (target.key or "value"): value}
            self.fields[target.base] = items
        else:
            self.fields[target.base] = value

    def event(self, n: int) -> Event:
        fields = dict(self.fields)
        if self.keywords:
            fields["message"] = " ".join(self.keywords)
        return event_from_fields(fields, n)


def _build(mapping: LogsourceMapping, literals: list[Literal]) -> Builder | None:
    b = Builder(mapping)
    per_field: dict[str, list[Any]] = {}
    for node, want in literals:
        if isinstance(node, ConditionValueExpression):
            if want:  # a keyword that must be there: somewhere in the event's text
                value = sample(node.value)
                if value is NOT_SAMPLED:
                    return None
                b.keywords.append(f"zz{value}zz")
            continue
        value = node.value
        if isinstance(value, SigmaFieldReference):
            if want:
                b.put(node.field, "same")
                b.put(value.field, "same")
            continue
        if isinstance(value, SigmaExists | SigmaNull):
            chosen = sample(value) if want else miss(value)
        elif want:
            chosen = sample(value)
            if chosen is NOT_SAMPLED:
                return None
        else:
            continue  # a value that must not match: leave the field out
        if chosen is not None:
            per_field.setdefault(node.field, []).append(chosen)
    for field, values in per_field.items():
        texts = [v for v in values if isinstance(v, str)]
        # several strings on one field (|all, startswith + contains…): one text with all
        b.put(field, "".join(texts) if len(texts) > 1 else values[0])
    return b


def cases(rule: SigmaRule, mapping: LogsourceMapping) -> tuple[Event, list[Case]] | None:
    """An event the rule must fire on, and its near misses (oracle decides each)."""
    tree = rule.detection.parsed_condition[0].parse()
    for literals in solutions(tree):
        b = _build(mapping, literals)
        if b is None:
            continue
        hit = b.event(0)
        if not oracle(rule, mapping, hit):
            continue
        near: list[Case] = []
        for i, (node, want) in enumerate(literals):
            other = Builder(mapping)
            other.fields = dict(b.fields)
            other.keywords = list(b.keywords)
            if isinstance(node, ConditionValueExpression):
                if want:  # the keyword missing from the event
                    other.keywords.remove(f"zz{sample(node.value)}zz")
                    near.append(Case(f"keyword {sample(node.value)} missing", other.event(i + 1)))
                continue
            if isinstance(node.value, SigmaFieldReference):
                continue
            if want:
                other.put(node.field, miss(node.value))
                label = f"{node.field} broken"
            else:
                value = sample(node.value)
                if value is NOT_SAMPLED:
                    continue
                other.put(node.field, value)
                label = f"filter on {node.field} matches"
            near.append(Case(label, other.event(i + 1)))
        return hit, near
    return None
