"""Rule files (YAML) → immutable Rule objects, with errors located at file:line:col.

A file holds either one rule (a mapping with `id`) or
    lists: {bait_files: [canary.xlsx, 密码.txt]}
    rules: [ {id: …}, … ]
A directory is read for *.yaml / *.yml (not its `tests/` folder, which holds
the rules' sample events). A file whose top level has `detection:` or
`correlation:` is Sigma and goes to monitor/rules/sigma (its correlations may name
rules of other files of the same set).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from monitor.durations import parse_duration
from monitor.errors import RuleError
from monitor.event import SEVERITIES
from monitor.rules.condition import compile_condition, field_problem
from monitor.rules.model import (
    KINDS,
    Condition,
    Distinct,
    KindParams,
    NewValue,
    Rule,
    Sequence,
    Step,
    Threshold,
    Throttle,
)
from monitor.rules.sigma import SigmaSet, load_sigma, looks_like_sigma
from monitor.yamlloc import YDict, YList, load_yaml

COMMON = {"id", "title", "description", "severity", "kind", "when", "throttle", "enabled",
          "tags", "references", "falsepositives"}
KIND_KEYS: dict[str, set[str]] = {
    "match": set(),
    "threshold": {"window", "count", "group_by", "sum"},
    "distinct": {"window", "count", "group_by", "field"},
    "sequence": {"window", "steps", "group_by"},
    "new_value": {"fields", "learn", "group_by"},
}
REQUIRED: dict[str, set[str]] = {
    "match": {"when"},
    "threshold": {"when", "window", "count"},
    "distinct": {"when", "window", "count", "field"},
    "sequence": {"steps", "window"},
    "new_value": {"when", "fields", "learn"},
}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _fail(node: YDict | YList, key: Any, message: str, hint: str | None = None) -> RuleError:
    line, col = node.where(key) if key is not None else node.pos
    return RuleError(message, node.path, line, col, hint)


def _check_keys(node: YDict, allowed: set[str], what: str) -> None:
    for key in node:
        if key not in allowed:
            line, col = node.where_key(key)
            close = [k for k in sorted(allowed) if k[:3] == key[:3]]
            hint = f"did you mean '{close[0]}'?" if close else \
                f"allowed here: {', '.join(sorted(allowed))}"
            raise RuleError(f"unknown key '{key}' in {what}", node.path, line, col, hint)


def _str(node: YDict, key: str, default: str | None = None) -> str:
    value = node.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise _fail(node, key, f"'{key}' must be a non-empty string")
    return value


def _int(node: YDict, key: str) -> int:
    value = node.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _fail(node, key, f"'{key}' must be a whole number of at least 1")
    return value


def _fields(node: YDict, key: str) -> tuple[str, ...]:
    value = node.get(key, [])
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise _fail(node, key, f"'{key}' must be a field name or a list of them")
    for i, name in enumerate(items):
        problem = field_problem(name)
        if problem:
            where = items if isinstance(items, YList) else node
            raise _fail(where, i if isinstance(items, YList) else key,
                        f"unknown field '{name}'", problem)
    return tuple(items)


def _duration(node: YDict, key: str) -> Any:
    try:
        value = parse_duration(node[key])
    except ValueError as exc:
        raise _fail(node, key, str(exc)) from None
    if value.total_seconds() <= 0:
        raise _fail(node, key, f"'{key}' must be longer than zero")
    return value


def _strings(node: YDict, key: str) -> tuple[str, ...]:
    value = node.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(node, key, f"'{key}' must be a list of strings")
    return tuple(value)


def parse_rule(node: YDict, lists: dict[str, tuple[str, ...]]) -> Rule:
    kind = node.get("kind", "match")
    if kind not in KINDS:
        raise _fail(node, "kind", f"unknown rule kind {kind!r}", f"kinds: {', '.join(KINDS)}")
    _check_keys(node, COMMON | KIND_KEYS[kind], f"a {kind} rule")
    for key in sorted(REQUIRED[kind] | {"id", "title"}):
        if key not in node:
            raise RuleError(f"a {kind} rule needs '{key}'", node.path, *node.pos)
    rule_id = _str(node, "id")
    if not _ID.match(rule_id):
        raise _fail(node, "id", f"bad rule id {rule_id!r}",
                    "lower case letters, digits, '.', '_' and '-', e.g. wall.cross-client-access")
    severity = node.get("severity", "medium")
    if severity not in SEVERITIES:
        raise _fail(node, "severity", f"unknown severity {severity!r}",
                    f"one of: {', '.join(SEVERITIES)}")
    enabled = node.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(node, "enabled", "'enabled' must be true or false")
    when = (compile_condition(node["when"], node, "when", node.path, lists) if "when" in node
            else ANY_EVENT)
    return Rule(
        id=rule_id, title=_str(node, "title"), severity=str(severity), kind=str(kind),
        when=when, params=_params(kind, node, lists),
        description=str(node.get("description", "")).strip(),
        tags=_strings(node, "tags"), throttle=_throttle(node), enabled=enabled,
        path=node.path, line=node.pos[0], references=_strings(node, "references"),
        falsepositives=_strings(node, "falsepositives"),
    )


ANY_EVENT = Condition(lambda ev: True, frozenset(), "{}")  # a sequence's steps do the matching


def _throttle(node: YDict) -> Throttle | None:
    if "throttle" not in node:
        return None
    spec = node["throttle"]
    if not isinstance(spec, YDict):
        raise _fail(node, "throttle", "'throttle' must be {by: [fields], for: DURATION}")
    _check_keys(spec, {"by", "for"}, "throttle")
    if "for" not in spec:
        raise _fail(node, "throttle", "throttle needs 'for' (a duration such as 1h)")
    return Throttle(_fields(spec, "by"), _duration(spec, "for"))


def _params(kind: str, node: YDict, lists: dict[str, tuple[str, ...]]) -> KindParams:
    group_by = _fields(node, "group_by")
    if kind == "threshold":
        sum_field = node.get("sum")
        if sum_field is not None:
            _fields(node, "sum")
        return Threshold(_duration(node, "window"), _int(node, "count"), group_by,
                         str(sum_field) if sum_field is not None else None)
    if kind == "distinct":
        [field] = _fields(node, "field") or ("",)
        return Distinct(_duration(node, "window"), field, _int(node, "count"), group_by)
    if kind == "sequence":
        steps_node = node["steps"]
        if not isinstance(steps_node, YList) or len(steps_node) < 2:
            raise _fail(node, "steps", "'steps' must be a list of at least two steps")
        steps = []
        for i, step in enumerate(steps_node):
            if not isinstance(step, YDict) or "when" not in step:
                raise _fail(steps_node, i, "each step needs 'when' (and may have 'count')")
            _check_keys(step, {"when", "count"}, "a sequence step")
            count = _int(step, "count") if "count" in step else 1
            steps.append(Step(compile_condition(step["when"], step, "when", node.path, lists),
                              count))
        return Sequence(_duration(node, "window"), tuple(steps), group_by)
    if kind == "new_value":
        fields = _fields(node, "fields")
        if not fields:
            raise _fail(node, "fields", "'fields' needs at least one field")
        return NewValue(fields, _duration(node, "learn"), group_by)
    return None


def load_file(path: Path, sigma: SigmaSet | None = None) -> list[Rule]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read rule file: {exc}", str(path)) from None
    if looks_like_sigma(text):
        return load_sigma(path, text, sigma)
    root = load_yaml(text, str(path), RuleError)
    if root is None:
        return []
    if not isinstance(root, YDict):
        raise RuleError("a rule file is a mapping: one rule, or `lists:` and `rules:`",
                        str(path), 1, 1)
    if "id" in root:
        return [parse_rule(root, {})]
    _check_keys(root, {"lists", "rules"}, "a rule file")
    lists = _lists(root)
    rules_node = root.get("rules", [])
    if not isinstance(rules_node, YList):
        raise _fail(root, "rules", "'rules' must be a list of rules")
    rules = []
    for i, item in enumerate(rules_node):
        if not isinstance(item, YDict):
            raise _fail(rules_node, i, "each rule must be a mapping")
        rules.append(parse_rule(item, lists))
    return rules


def _lists(root: YDict) -> dict[str, tuple[str, ...]]:
    if "lists" not in root:
        return {}
    node = root["lists"]
    if not isinstance(node, YDict):
        raise _fail(root, "lists", "'lists' must map names to lists of values")
    out = {}
    for name, values in node.items():
        if not isinstance(values, YList) or not all(isinstance(v, str | int) for v in values):
            raise _fail(node, name, f"list '{name}' must be a list of plain values")
        out[name] = tuple(str(v) for v in values)
    return out


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml")
                              and "tests" not in f.relative_to(p).parts))
        else:
            out.append(p)
    return out


def load_rule_files(paths: Iterable[str | Path]) -> tuple[list[Rule], list[RuleError]]:
    """Every rule that loads, and every error (one per broken file, duplicates too)."""
    rules: list[Rule] = []
    errors: list[RuleError] = []
    seen: dict[str, Rule] = {}

    def keep(loaded: list[Rule]) -> None:
        for rule in loaded:
            first = seen.get(rule.id)
            if first is not None:
                errors.append(RuleError(f"duplicate rule id '{rule.id}' (first in "
                                        f"{first.path}:{first.line})", rule.path, rule.line, 1))
                continue
            seen[rule.id] = rule
            rules.append(rule)

    sigma = SigmaSet()
    for path in rule_files(paths):
        try:
            keep(load_file(path, sigma))
        except RuleError as exc:
            errors.append(exc)
    linked, link_errors = sigma.finish()  # Sigma correlations, once every file is read
    errors.extend(link_errors)
    keep(linked)
    return sigma.suppress(rules), errors


def load_rules(paths: Iterable[str | Path]) -> list[Rule]:
    """All rules, or the first error: a rule set is used whole or not at all."""
    rules, errors = load_rule_files(paths)
    if errors:
        raise errors[0]
    return rules
