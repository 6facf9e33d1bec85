"""What the loader needs from Sigma support without importing pySigma (which adds
a noticeable fraction of a second to every command): telling a Sigma file, and the
report of a rule that is skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass

SIGMA_TOP = re.compile(r"^(?:detection|correlation|filter)\s*:", re.MULTILINE)


def looks_like_sigma(text: str) -> bool:
    """A Sigma file: some document has a top-level `detection:` or `correlation:`."""
    return SIGMA_TOP.search(text) is not None


@dataclass(frozen=True)
class Skipped:
    """A valid Sigma rule that cannot be evaluated on our events, and why."""

    rule_id: str
    title: str
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: Sigma rule '{self.title}' ({self.rule_id}) " \
               f"skipped: {self.reason}"
