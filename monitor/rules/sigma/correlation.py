"""Sigma correlation rules (v2) → our windowed kinds, on event time:

    event_count  gte/gt N     → threshold (count N per group in the timespan)
    value_count  gte/gt N     → distinct (N distinct values of `field` per group)
    temporal                  → temporal (every rule, or N of them, or an and/or condition)
    temporal_ordered          → temporal, ordered

The correlation's `when` is the OR of its rules' compiled conditions, so the engine
only hands it events one of them matches; the temporal kind tests each step itself.
`group-by` names (and `aliases`) are Sigma field names, read through each rule's
logsource mapping. What cannot be evaluated as events arrive — `lt`/`lte`/`eq`/
`neq` need a window that closes with nothing more coming; chains of correlations;
value_sum & co. — is skipped with that reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from itertools import product
from typing import Any

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)

from monitor.errors import RuleError
from monitor.event import SEVERITIES
from monitor.rules.condition import _any_of
from monitor.rules.model import INDEX_FIELDS, Condition, Distinct, Rule, Temporal, Threshold
from monitor.rules.sigma.base import Skipped
from monitor.rules.sigma.convert import metadata, skipped
from monitor.rules.sigma.documents import Document
from monitor.rules.sigma.mapping import LogsourceMapping
from monitor.yamlloc import YDict, YList


@dataclass
class Base:
    """A Sigma rule a correlation may refer to by its id or name."""

    doc: Document
    rule: Rule | None = None  # compiled; None when skipped or when it is a correlation
    mapping: LogsourceMapping | None = None
    skip: str = ""

    @property
    def correlation(self) -> bool:
        return isinstance(self.doc.rule, SigmaCorrelationRule)

    def names(self) -> set[str]:
        rule = self.doc.rule
        out = set()
        if rule is not None and rule.id is not None:
            out.add(str(rule.id).lower())
        if rule is not None and rule.name:
            out.add(rule.name)
        return out


class _Skip(Exception):
    pass


def any_condition(conds: list[Condition]) -> Condition:
    """OR of conditions; the engine may skip it on an index field only where every
    one of them requires that field."""
    if len(conds) == 1:
        return conds[0]
    requires = []
    for name in INDEX_FIELDS:
        allowed = [dict(c.requires).get(name) for c in conds]
        if all(a is not None for a in allowed):
            requires.append((name, frozenset().union(*[a for a in allowed if a is not None])))
    fields = frozenset().union(*[c.fields for c in conds])
    return Condition(_any_of([c.test for c in conds]), fields,
                     "anyof(" + ",".join(c.source for c in conds) + ")", tuple(requires))


def _limit(corr: SigmaCorrelationRule) -> int:
    cond = corr.condition
    assert not isinstance(cond, SigmaExtendedCorrelationCondition)
    op = cond.op
    if op is SigmaCorrelationConditionOperator.GTE:
        return max(1, math.ceil(cond.count))
    if op is SigmaCorrelationConditionOperator.GT:
        return max(1, math.floor(cond.count) + 1)
    raise _Skip(f"condition `{op.name.lower()}: {cond.count}` needs a window that closes with "
                "nothing more coming; correlations are evaluated as events arrive, so only "
                "gt and gte are supported")


def _dnf(node: Any, index: Mapping[str, int]) -> list[frozenset[int]]:
    """An extended (and/or) correlation condition as sets of rules, any set enough."""
    if isinstance(node, SigmaRuleReference):
        return [frozenset({index[node.reference]})]
    if isinstance(node, CorrelationConditionNOT):
        raise _Skip("`not` in a temporal condition needs a window that closes with nothing "
                    "more coming; correlations are evaluated as events arrive")
    parts = [_dnf(arg, index) for arg in node.args]
    if isinstance(node, CorrelationConditionOR):
        return [s for part in parts for s in part]
    assert isinstance(node, CorrelationConditionAND)
    return [frozenset().union(*combo) for combo in product(*parts)]


class _Builder:
    def __init__(self, doc: Document, bases: Mapping[str, Base]) -> None:
        assert isinstance(doc.rule, SigmaCorrelationRule)
        self.doc, self.corr, self.bases = doc, doc.rule, bases
        section = doc.node["correlation"]
        self.section: YDict = section if isinstance(section, YDict) else doc.node
        cond = self.corr.condition
        if self.corr.rules is not None:
            self.refs = [r.reference for r in self.corr.rules]
        else:
            assert isinstance(cond, SigmaExtendedCorrelationCondition)
            self.refs = cond.get_referenced_rules()
        self.steps: list[Base] = []

    def resolve(self) -> None:
        for i, ref in enumerate(self.refs):
            base = self.bases.get(ref) or self.bases.get(ref.lower())
            if base is None:
                node: YDict | YList = self.section
                key: Any = "rules" if "rules" in self.section else None
                items = self.section.get("rules")
                if isinstance(items, YList) and i < len(items):
                    node, key = items, i
                line, col = node.where(key) if key is not None else node.pos
                raise RuleError(f"correlation refers to rule '{ref}', which is not among the "
                                "loaded rules", node.path, line, col,
                                "a rule is named by its `id` or `name`; put it in a file "
                                "of the same rule folder")
            if base.correlation:
                raise _Skip(f"it refers to the correlation '{ref}': chains of correlations "
                            "are not evaluated here")
            if base.rule is None or base.mapping is None:
                raise _Skip(f"its rule '{ref}' cannot be evaluated: {base.skip}")
            self.steps.append(base)

    def field_of(self, name: str, step: int) -> str:
        """The event field a group-by / value field name reads in step's events."""
        base = self.steps[step]
        alias = self.corr.aliases.aliases.get(name)
        sigma_field = name
        if alias is not None:
            names = base.names() | {self.refs[step]}
            found = [f for ref, f in alias.mapping.items() if ref.reference in names]
            if not found:
                raise _Skip(f"alias '{name}' does not say which field rule '{self.refs[step]}' "
                            "uses")
            sigma_field = found[0]
        assert base.mapping is not None
        try:
            targets = base.mapping.targets(sigma_field)
        except ValueError as exc:
            raise _Skip(str(exc)) from None
        if len(targets) != 1 or targets[0].index is not None or targets[0].each:
            raise _Skip(f"'{sigma_field}' is read from {', '.join(t.text for t in targets)}; "
                        "grouping needs one plain event field")
        return targets[0].base

    def common(self, name: str) -> str:
        fields = {self.field_of(name, i) for i in range(len(self.steps))}
        if len(fields) != 1:
            raise _Skip(f"'{name}' is {' / '.join(sorted(fields))} in the different rules; "
                        f"{self.corr.type.name.lower()} needs one field (temporal ones can "
                        "use aliases)")
        return fields.pop()

    def build(self) -> Rule:
        self.resolve()
        if not self.steps:  # `rules: []`: nothing to correlate
            raise _Skip("the correlation names no rules")
        corr = self.corr
        kind = corr.type.name.lower()
        window = timedelta(seconds=corr.timespan.seconds)
        groups = tuple(corr.group_by or ())
        when = any_condition([b.rule.when for b in self.steps if b.rule is not None])
        meta = metadata(self.doc)
        if corr.level is None:  # no level of its own: the most severe of its rules
            meta["severity"] = max((b.rule.severity for b in self.steps if b.rule is not None),
                                   key=SEVERITIES.index)
        if kind == "event_count":
            params: Threshold | Distinct | Temporal = Threshold(
                window, _limit(corr), tuple(self.common(g) for g in groups))
            return Rule(kind="threshold", when=when, params=params, **meta)
        if kind == "value_count":
            cond = corr.condition
            assert not isinstance(cond, SigmaExtendedCorrelationCondition)
            if not isinstance(cond.fieldref, str):
                raise _Skip("value_count over several fields is not supported")
            params = Distinct(window, self.common(cond.fieldref), _limit(corr),
                              tuple(self.common(g) for g in groups))
            return Rule(kind="distinct", when=when, params=params, **meta)
        if kind in ("temporal", "temporal_ordered"):
            return Rule(kind="temporal", when=when, params=self._temporal(window, groups),
                        **meta)
        raise _Skip(f"correlation type {kind} is not supported (event_count, value_count, "
                    "temporal and temporal_ordered are)")

    def _temporal(self, window: timedelta, groups: tuple[str, ...]) -> Temporal:
        ordered = self.corr.type.name.lower() == "temporal_ordered"
        n = len(self.steps)
        cond = self.corr.condition
        need = n
        any_of: tuple[tuple[int, ...], ...] = ()
        if isinstance(cond, SigmaExtendedCorrelationCondition):
            if ordered:
                raise _Skip("an and/or condition on temporal_ordered is not supported")
            index = {ref: i for i, ref in enumerate(self.refs)}
            sets = _dnf(cond.parsed, index)
            any_of = tuple(tuple(sorted(s)) for s in sorted(set(sets), key=sorted))
        else:
            need = _limit(self.corr)
            if need > n:
                raise _Skip(f"it needs {need} different rules to match but names only {n}")
            if ordered and need != n:
                raise _Skip("temporal_ordered with fewer than all of its rules is ambiguous "
                            "(which ones, in which order?)")
        fields = tuple(tuple(self.field_of(g, i) for g in groups) for i in range(n))
        # the alert names a group field as our other rules do (the event field), unless
        # the steps read it from different fields (aliases): then by its Sigma name
        labels = tuple(fields[0][k] if len({f[k] for f in fields}) == 1 else g
                       for k, g in enumerate(groups))
        return Temporal(window, tuple(b.rule.when for b in self.steps if b.rule is not None),
                        fields, labels, ordered, need if need != n else 0, any_of)


def correlation_rule(doc: Document, bases: Mapping[str, Base]) -> Rule | Skipped:
    """The correlation as a windowed rule, or why it is skipped; a RuleError (located)
    when it refers to a rule that is not there."""
    try:
        return _Builder(doc, bases).build()
    except _Skip as exc:
        return skipped(doc, str(exc))


def referenced(doc: Document) -> list[str]:
    corr = doc.rule
    assert isinstance(corr, SigmaCorrelationRule)
    if corr.rules is not None:
        return [r.reference for r in corr.rules]
    cond = corr.condition
    return cond.get_referenced_rules() if isinstance(cond, SigmaExtendedCorrelationCondition) \
        else []
