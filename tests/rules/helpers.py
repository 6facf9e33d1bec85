"""Write rule files into temp dirs and run events through an engine."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.event import Alert
from monitor.rules.engine import RuleEngine
from monitor.rules.loader import load_rules
from monitor.rules.model import Rule
from monitor.rules.samples import BASE_TIME, event_from_fields


def rules_from(tmp_path: Path, text: str, name: str = "r.yaml") -> list[Rule]:
    path = tmp_path / name
    path.write_text(text)
    return load_rules([path])


def at(seconds: float, **fields: Any) -> dict[str, Any]:
    """Sample fields at BASE_TIME + seconds (dotted names via __ in keyword arguments)."""
    out = {k.replace("__", "."): v for k, v in fields.items()}
    out["@timestamp"] = (BASE_TIME + timedelta(seconds=seconds)).isoformat()
    return out


def run(rules: list[Rule], samples: list[dict[str, Any]],
        lateness: timedelta = timedelta(0)) -> list[Alert]:
    engine = RuleEngine(rules, lateness)
    alerts: list[Alert] = []
    for n, fields in enumerate(samples):
        alerts.extend(engine.process(event_from_fields(fields, n)))
    alerts.extend(engine.flush())
    return alerts
