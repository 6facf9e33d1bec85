"""Which public field names a search may use, and how the store keeps each one.

Every key of `monitor.event.FIELDS` (except `@timestamp`, which `--since` and
`--until` cover) is a column of the `events` table named like the Event
attribute; the attribute's annotation says whether it holds text, a number or a
flag. `file.path` and `file.target_path` are ids into the `strings` table;
`file.name` and `file.directory` are computed from the path. Any other dotted
name is looked up in the JSON `extra` column, where sources keep their native
fields under flat dotted keys (`samba.operation`, `winlog.event_id`).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from typing import Literal

from monitor.event import FIELDS, Event

FieldType = Literal["text", "nocase", "int", "bool", "path", "name", "directory", "json"]

FIELD_NAME = re.compile(r"[A-Za-z_@][A-Za-z0-9_@.-]*\Z")

# columns declared COLLATE NOCASE in the store's schema
_NOCASE = frozenset({"user_name", "client"})
_PATHS = {"file_path": "path_id", "file_target_path": "target_id"}
# a name this close to a known field is a typo, not a field of some source
_TYPO_CUTOFF = 0.88


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one public field is stored: its column and the kind of its values."""

    column: str
    type: FieldType


def _column_type(attr: str, annotation: object) -> FieldSpec:
    if attr in _PATHS:
        return FieldSpec(_PATHS[attr], "path")
    text = str(annotation)
    if "bool" in text:
        return FieldSpec(attr, "bool")
    if "int" in text:
        return FieldSpec(attr, "int")
    return FieldSpec(attr, "nocase" if attr in _NOCASE else "text")


def _known() -> dict[str, FieldSpec]:
    annotations = {f.name: f.type for f in dataclasses.fields(Event)}
    known = {
        name: _column_type(attr, annotations[attr])
        for name, attr in FIELDS.items()
        if name != "@timestamp"
    }
    known["file.name"] = FieldSpec("path_id", "name")
    known["file.directory"] = FieldSpec("path_id", "directory")
    known["related.user"] = known["user.name"]
    known["related.ip"] = known["source.ip"]
    return known


KNOWN_FIELDS: dict[str, FieldSpec] = _known()
_JSON = FieldSpec("extra", "json")


class UnknownField(LookupError):
    """`name` is not a field a search can use; `hint` says what might be meant."""

    def __init__(self, name: str, hint: str) -> None:
        super().__init__(name)
        self.name = name
        self.hint = hint


def suggestions(name: str, limit: int = 4) -> list[str]:
    """Known fields the user may have meant by `name`, best first."""
    lowered = name.lower()
    last = lowered.rsplit(".", 1)[-1]
    by_part = [k for k in KNOWN_FIELDS if last and last in k.split(".")]
    by_spelling = difflib.get_close_matches(lowered, list(KNOWN_FIELDS), n=limit, cutoff=0.6)
    found = list(dict.fromkeys(by_spelling + by_part))
    return found[:limit]


def field_spec(name: str) -> FieldSpec:
    """The spec of a field a query names; raises UnknownField for names that
    are surely wrong (typos of known fields, undotted words, `wallwatch.*`)."""
    spec = KNOWN_FIELDS.get(name)
    if spec is not None:
        return spec
    if name == "@timestamp":
        raise UnknownField(name, "limit the time with --since and --until")
    close = suggestions(name)
    typo = difflib.get_close_matches(name, list(KNOWN_FIELDS), n=1, cutoff=_TYPO_CUTOFF)
    if (FIELD_NAME.match(name) is None or "." not in name or name.startswith("wallwatch.")
            or typo):
        if close:
            raise UnknownField(name, "did you mean " + ", ".join(close) + "?")
        raise UnknownField(name, "to search for text containing ':', quote it or write \\:")
    return _JSON
