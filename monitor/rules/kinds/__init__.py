"""One module per rule kind; each keeps its own state for one rule."""

from __future__ import annotations

from typing import Any

from monitor.rules.kinds.base import Draft, KindState
from monitor.rules.kinds.distinct import DistinctState
from monitor.rules.kinds.match import MatchState
from monitor.rules.kinds.new_value import NewValueState
from monitor.rules.kinds.sequence import SequenceState
from monitor.rules.kinds.temporal import TemporalState
from monitor.rules.kinds.threshold import ThresholdState
from monitor.rules.model import Rule

STATES: dict[str, type[KindState[Any]]] = {
    "match": MatchState,
    "threshold": ThresholdState,
    "distinct": DistinctState,
    "sequence": SequenceState,
    "new_value": NewValueState,
    "temporal": TemporalState,  # Sigma temporal correlations; not a YAML kind
}


def new_state(rule: Rule) -> KindState[Any]:
    return STATES[rule.kind](rule)


__all__ = ["STATES", "Draft", "KindState", "new_state"]
