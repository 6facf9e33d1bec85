"""A parsed Sigma detection rule → our immutable Rule (kind `match`).

Sigma `level` becomes our severity (informational → low); tags stay as written,
with ATT&CK techniques (`attack.t1021.002`) also as `T1021.002`, the spelling our
alerts turn into `threat.technique`; references and falsepositives ride on the
Rule and so on every alert.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from monitor.rules.model import Rule
from monitor.rules.sigma.base import Skipped
from monitor.rules.sigma.compile import compile_detection
from monitor.rules.sigma.documents import Document
from monitor.rules.sigma.mapping import Mappings
from monitor.rules.sigma.values import Unsupported

RULESET = "sigma"
LEVELS = {"informational": "low", "low": "low", "medium": "medium", "high": "high",
          "critical": "critical"}
_TECHNIQUE = re.compile(r"^t\d{4}(?:\.\d{3})?$")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._") or "rule"


def rule_id(doc: Document) -> str:
    """The Sigma id (a UUID); else the rule's `name`; else the file's name (and the
    document's number): stable across loads, which state and alert ids depend on."""
    rule = doc.rule
    if rule is not None and rule.id is not None:
        return str(rule.id).lower()
    if rule is not None and rule.name:
        return _slug(rule.name)
    name = doc.node.get("name")
    if isinstance(name, str) and name:
        return _slug(name)
    stem = _slug(Path(doc.node.path).stem)
    return stem if doc.index == 0 else f"{stem}-{doc.index + 1}"


def title_of(doc: Document) -> str:
    title = doc.node.get("title")
    return title if isinstance(title, str) and title else rule_id(doc)


def tags_of(rule: SigmaRule | SigmaCorrelationRule) -> tuple[str, ...]:
    out: list[str] = []
    for tag in rule.tags:
        text = str(tag)
        if text not in out:
            out.append(text)
        if tag.namespace == "attack" and _TECHNIQUE.match(tag.name):
            technique = tag.name.upper()
            if technique not in out:
                out.append(technique)
    return tuple(out)


def severity_of(rule: SigmaRule | SigmaCorrelationRule, default: str = "medium") -> str:
    if rule.level is None:
        return default
    return LEVELS.get(rule.level.name.lower(), default)


def metadata(doc: Document) -> dict[str, Any]:
    """The Rule fields every Sigma document gives the same way."""
    rule = doc.rule
    assert rule is not None
    return {"id": rule_id(doc), "title": title_of(doc), "severity": severity_of(rule),
            "description": (rule.description or "").strip(), "tags": tags_of(rule),
            "references": tuple(str(r) for r in rule.references),
            "falsepositives": tuple(str(f) for f in rule.falsepositives),
            "ruleset": RULESET, "path": doc.node.path, "line": doc.node.pos[0]}


def skipped(doc: Document, reason: str) -> Skipped:
    return Skipped(rule_id(doc), title_of(doc), doc.node.path, doc.node.pos[0], reason)


def logsource_text(rule: SigmaRule) -> str:
    ls = rule.logsource
    parts = [f"{k}: {v}" for k, v in (("category", ls.category), ("product", ls.product),
                                       ("service", ls.service)) if v]
    return "{" + ", ".join(parts) + "}"


def detection_rule(doc: Document, mappings: Mappings) -> Rule | Skipped:
    """The compiled rule, or why it cannot be evaluated here."""
    rule = doc.rule
    assert isinstance(rule, SigmaRule)
    ls = rule.logsource
    mapping = mappings.find(ls.category, ls.product, ls.service)
    if mapping is None:
        known = ", ".join(m.name for m in mappings.logsources)
        return skipped(doc, f"no field mapping for logsource {logsource_text(rule)} "
                            f"(mapped: {known}; add one with `sigma: {{mappings: FILE}}`)")
    try:
        when = compile_detection(rule, mapping)
    except Unsupported as exc:
        return skipped(doc, str(exc))
    return Rule(kind="match", when=when, **metadata(doc))
