"""Rule sets of any size made from the shipped rules, for "cost as the work grows".

A variant of a shipped rule keeps its conditions on the indexed fields (category,
dataset, action, outcome) and changes what a firm would tune: thresholds and windows
(scaled), the learning period, group_by (a client added where it means something),
the throttle, and an exception for a service account (`not: user.name`), which every
variant has of its own. So a set of 200 is 16 real rules and 184 plausible siblings,
each tested against the events they can match.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SHIPPED = Path(__file__).resolve().parent.parent / "rules"
FACTORS = (0.5, 2.0, 0.8, 1.5, 3.0, 1.2, 0.6, 4.0)


def shipped() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The shipped pack: its named lists and its rules, as plain YAML data."""
    lists: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    for path in sorted(SHIPPED.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if "id" in doc:
            rules.append(doc)
            continue
        lists.update(doc.get("lists") or {})
        rules.extend(doc.get("rules") or [])
    return lists, rules


def _duration(text: str, factor: float) -> str:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    seconds = int(float(text[:-1]) * units[text[-1]] * factor)
    return f"{max(1, seconds)}s"


def variant(rule: dict[str, Any], k: int) -> dict[str, Any]:
    f = FACTORS[k % len(FACTORS)]
    out = copy.deepcopy(rule)
    out["id"] = f"{rule['id']}.v{k}"
    out["title"] = f"{rule['title']} (variant {k})"
    kind = rule.get("kind", "match")
    if kind in ("threshold", "distinct"):
        out["count"] = max(2, round(rule["count"] * f))
        out["window"] = _duration(str(rule["window"]), f)
        if kind == "threshold" and k % 3 == 1 and "wallwatch.client" in str(rule.get("when")):
            group = rule["group_by"] if isinstance(rule["group_by"], list) else [rule["group_by"]]
            if "wallwatch.client" not in group:
                out["group_by"] = [*group, "wallwatch.client"]
    elif kind == "sequence":
        out["window"] = _duration(str(rule["window"]), f)
        first = out["steps"][0]
        first["count"] = max(2, round(first.get("count", 1) * f))
    elif kind == "new_value":
        out["learn"] = _duration(str(rule["learn"]), f)
    if "throttle" in out:
        out["throttle"]["for"] = _duration(str(rule["throttle"]["for"]), f)
    when = out.get("when")
    if isinstance(when, dict):
        exception = {"user.name": f"svc-bench-{k}"}
        if "not" in when:
            when["not"] = {"any": [when["not"], exception]}
        else:
            when["not"] = exception
    return out


def write_rules(directory: Path, count: int) -> Path:
    """`count` rules: the shipped ones first, then variants of them in turn."""
    lists, rules = shipped()
    chosen = rules[:count]
    k = 0
    while len(chosen) < count:
        chosen.append(variant(rules[k % len(rules)], k))
        k += 1
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    path = directory / f"rules-{count}.yaml"
    path.write_text(yaml.safe_dump({"lists": lists, "rules": chosen}, allow_unicode=True,
                                   sort_keys=False), encoding="utf-8")
    return directory
