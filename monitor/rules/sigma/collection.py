"""The Sigma files of one rule set: their detection rules as they are read, their
correlations once every file is read (a correlation may name rules of other files
in the folder, by `id` or `name`).

A valid rule that cannot be evaluated here (no field mapping for its logsource, a
feature we do not evaluate) is skipped and reported — logged as a warning and kept
in `skipped` — never silently dropped; an invalid one is a RuleError. Rules a
correlation consumes stop alerting on their own unless it says `generate: true`,
as the Sigma specification has it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from sigma.correlations import SigmaCorrelationRule

from monitor.errors import RuleError
from monitor.rules.model import Rule
from monitor.rules.sigma.base import Skipped
from monitor.rules.sigma.convert import detection_rule, skipped
from monitor.rules.sigma.correlation import Base, correlation_rule, referenced
from monitor.rules.sigma.documents import Document, parse_document, read_documents
from monitor.rules.sigma.mapping import Mappings
from monitor.rules.sigma.settings import active_mappings

log = logging.getLogger("monitor.rules.sigma")


class RuleSet:
    def __init__(self, mappings: Mappings | None = None) -> None:
        self.mappings = mappings if mappings is not None else active_mappings()
        self.bases: dict[str, Base] = {}
        self.correlations: list[Document] = []
        self.skipped: list[Skipped] = []
        self._consumed: set[str] = set()  # rule ids a correlation uses without `generate`
        self._generating: set[str] = set()

    def add(self, path: str | Path, text: str) -> list[Rule]:
        """The file's detection rules; its correlations wait for finish(). The first
        invalid document makes the whole file an error, as for our own rule files."""
        lines = text.splitlines()
        docs = [parse_document(node, i, lines)
                for i, node in enumerate(read_documents(text, str(path)))]
        rules: list[Rule] = []
        for doc in docs:
            base = Base(doc)
            if doc.rule is None:
                self._skip(skipped(doc, doc.skip))
                base.skip = doc.skip
            elif isinstance(doc.rule, SigmaCorrelationRule):
                self.correlations.append(doc)
            else:
                out = detection_rule(doc, self.mappings)
                if isinstance(out, Skipped):
                    self._skip(out)
                    base.skip = out.reason
                else:
                    rules.append(out)
                    ls = doc.rule.logsource
                    base.rule = out
                    base.mapping = self.mappings.find(ls.category, ls.product, ls.service)
            for name in base.names():
                self.bases.setdefault(name, base)
        return rules

    def _skip(self, item: Skipped) -> None:
        self.skipped.append(item)
        log.warning("%s", item)

    def finish(self) -> tuple[list[Rule], list[RuleError]]:
        """The correlations, linked to the rules read so far."""
        rules: list[Rule] = []
        errors: list[RuleError] = []
        for doc in self.correlations:
            # its rules are building blocks, not alerts of their own — even when the
            # correlation itself is skipped (a login rule must not start alerting on
            # every login because the correlation around it cannot run here)
            assert isinstance(doc.rule, SigmaCorrelationRule)
            used = self._generating if doc.rule.generate else self._consumed
            for ref in referenced(doc):
                base = self.bases.get(ref) or self.bases.get(ref.lower())
                if base is not None and base.rule is not None:
                    used.add(base.rule.id)
            try:
                out = correlation_rule(doc, self.bases)
            except RuleError as exc:
                errors.append(exc)
                continue
            if isinstance(out, Skipped):
                self._skip(out)
            else:
                rules.append(out)
        self.correlations = []
        return rules, errors

    def suppress(self, rules: list[Rule]) -> list[Rule]:
        """Rules only a correlation needs, turned off as rules of their own."""
        quiet = self._consumed - self._generating
        return [replace(r, enabled=False) if r.id in quiet and r.ruleset == "sigma" else r
                for r in rules]


def load_alone(path: str | Path, text: str) -> list[Rule]:
    """A Sigma file's rules, its correlations linked to the rules of this file only."""
    alone = RuleSet()
    rules = alone.add(path, text)
    linked, errors = alone.finish()
    if errors:
        raise errors[0]
    return alone.suppress(rules) + linked
