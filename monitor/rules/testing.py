"""`wallwatch rules test`: every rule's sample events, next to the rules.

    # rules/tests/wall.cross-client-access.yaml
    rule: wall.cross-client-access
    cases:
      - name: bob reads a file of acme, a client he is not assigned to
        events:
          - {event.category: file, event.action: read, user.name: bob,
             wallwatch.client: acme, wallwatch.assigned: false}
        alerts: 1
        expect: {user.name: bob, wallwatch.client: acme}   # fields of the first alert
      - name: alice reads acme, her own client
        events: [...]
        alerts: 0

Events without @timestamp are one second apart. Every rule needs at least one
case that must fire and one that must not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.errors import RuleError
from monitor.rules.engine import RuleEngine
from monitor.rules.model import Rule
from monitor.rules.samples import event_from_fields
from monitor.yamlloc import YDict, YList, load_yaml


@dataclass(frozen=True)
class CaseResult:
    rule_id: str
    name: str
    ok: bool
    detail: str = ""
    where: str = ""


def find_test_files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        folder = p if p.is_dir() else p.parent
        tests = folder / "tests"
        if tests.is_dir():
            out.extend(sorted(f for f in tests.glob("*.y*ml")))
    return sorted(set(out))


def _alert_fields(alert: Any) -> dict[str, Any]:
    return {"user.name": alert.user_name, "wallwatch.client": alert.client,
            "source.ip": alert.source_ip, "file.path": alert.file_path,
            "host.name": alert.host_name, "count": alert.count}


def run_case(rule: Rule, case: YDict) -> CaseResult:
    where = f"{case.path}:{case.pos[0]}"
    name = str(case.get("name", f"case at line {case.pos[0]}"))
    events = case.get("events")
    if not isinstance(events, YList) or not all(isinstance(e, YDict) for e in events):
        return CaseResult(rule.id, name, False, "'events' must be a list of field maps", where)
    expected = case.get("alerts")
    if not isinstance(expected, int) or isinstance(expected, bool):
        return CaseResult(rule.id, name, False, "'alerts' must be a number", where)
    engine = RuleEngine([rule], timedelta(0))
    alerts = []
    for n, fields in enumerate(events):
        alerts.extend(engine.process(event_from_fields(fields, n)))
    alerts.extend(engine.flush())
    if len(alerts) != expected:
        return CaseResult(rule.id, name, False,
                          f"expected {expected} alert(s), got {len(alerts)}", where)
    want = case.get("expect")
    if isinstance(want, YDict) and alerts:
        got = _alert_fields(alerts[0])
        for key, value in want.items():
            if got.get(key) != value:
                return CaseResult(rule.id, name, False,
                                  f"alert {key} is {got.get(key)!r}, expected {value!r}", where)
    return CaseResult(rule.id, name, True, where=where)


def run_tests(rules: list[Rule], files: list[Path]) -> list[CaseResult]:
    by_id = {r.id: r for r in rules}
    results: list[CaseResult] = []
    firing: dict[str, tuple[bool, bool]] = {r.id: (False, False) for r in rules
                                            if r.ruleset != "sigma"}
    for path in files:
        try:
            root = load_yaml(path.read_text(encoding="utf-8"), str(path), RuleError)
        except RuleError as exc:
            results.append(CaseResult("?", path.name, False, str(exc), str(path)))
            continue
        if not isinstance(root, YDict) or not isinstance(root.get("cases"), YList):
            results.append(CaseResult("?", path.name, False, "needs 'rule' and 'cases'",
                                      str(path)))
            continue
        rule = by_id.get(str(root.get("rule")))
        if rule is None:
            results.append(CaseResult(str(root.get("rule")), path.name, False,
                                      "no such rule", str(path)))
            continue
        for case in root["cases"]:
            if not isinstance(case, YDict):
                continue
            result = run_case(rule, case)
            results.append(result)
            fires, quiet = firing.get(rule.id, (False, False))
            if result.ok:
                expected = case.get("alerts")
                firing[rule.id] = (fires or bool(expected), quiet or expected == 0)
    for rule in rules:
        if rule.ruleset == "sigma":  # Sigma rules bring no sample events of their own
            continue
        fires, quiet = firing[rule.id]
        if not (fires and quiet):
            missing = " and ".join(w for w, have in (("a case that fires", fires),
                                                      ("a case that must not fire", quiet))
                                   if not have)
            results.append(CaseResult(rule.id, "coverage", False, f"needs {missing}",
                                      f"{rule.path}:{rule.line}"))
    return results
