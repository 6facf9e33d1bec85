"""One error root that carries where the problem is: file, line and column.

Line and column are 1-based, as editors show them. Anything the user wrote
(config, rules, queries) that we reject raises a subclass of WallwatchError.
"""

from __future__ import annotations


class WallwatchError(Exception):
    """An error in something a user wrote, located as precisely as we know."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.col = col
        self.hint = hint

    @property
    def location(self) -> str:
        parts = [self.path or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class ConfigError(WallwatchError):
    """wallwatch.yaml is wrong."""


class RuleError(WallwatchError):
    """A rule file is wrong."""


class QueryError(WallwatchError):
    """A search query is wrong; `col` points at the offending character."""


class ParseError(Exception):
    """A log line could not be parsed; the reason goes to the dead-letter table."""
