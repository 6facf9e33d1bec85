"""Sigma rules evaluated natively: SigmaHQ detection rules and Sigma v2 correlation
rules, parsed and validated by pySigma, compiled once into the same predicates and
windowed kinds as Wallwatch's own rules, reading our events through a field
mapping declared as data (mappings.yaml; a config may add to it with
`sigma: {mappings: FILE}`).

    base.py         what the loader needs without pySigma: is it Sigma, Skipped
    documents.py    YAML documents → pySigma objects, errors at file:line:col
    mapping.py      Sigma field names → event fields, per logsource
    values.py       Sigma values and modifiers → value tests
    compile.py      the condition tree → one predicate
    convert.py      a detection rule → Rule (severity, tags, references…)
    correlation.py  a correlation → threshold / distinct / temporal
    collection.py   the Sigma files of a rule set, linked across files
    settings.py     the `sigma:` config section; the mappings in use

pySigma is imported with the first Sigma file, so commands and rule sets without
one do not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from monitor.rules.model import Rule
from monitor.rules.sigma.base import Skipped, looks_like_sigma
from monitor.rules.sigma.mapping import Mappings
from monitor.rules.sigma.settings import SigmaSettings, configure, parse_settings

if TYPE_CHECKING:
    from monitor.errors import RuleError
    from monitor.rules.sigma.collection import RuleSet


class SigmaSet:
    """The Sigma files of one rule set (see collection.RuleSet), created on demand."""

    def __init__(self, mappings: Mappings | None = None) -> None:
        self._mappings = mappings
        self._set: RuleSet | None = None

    def _rules(self) -> RuleSet:
        if self._set is None:
            from monitor.rules.sigma.collection import RuleSet

            self._set = RuleSet(self._mappings)
        return self._set

    @property
    def skipped(self) -> list[Skipped]:
        return self._set.skipped if self._set is not None else []

    def add(self, path: str | Path, text: str) -> list[Rule]:
        return self._rules().add(path, text)

    def finish(self) -> tuple[list[Rule], list[RuleError]]:
        return self._set.finish() if self._set is not None else ([], [])

    def suppress(self, rules: list[Rule]) -> list[Rule]:
        return self._set.suppress(rules) if self._set is not None else rules


def load_sigma(path: str | Path, text: str, into: SigmaSet | None = None) -> list[Rule]:
    """A Sigma file's rules. Into a SigmaSet, its correlations wait for the set's
    finish(); alone, they link to the rules of this file only."""
    if into is not None:
        return into.add(path, text)
    from monitor.rules.sigma.collection import load_alone

    return load_alone(path, text)


__all__ = ["SigmaSet", "SigmaSettings", "Skipped", "configure", "load_sigma", "looks_like_sigma",
           "parse_settings"]
