"""The shape of the schema: sections of documented keys.

A Section is one mapping of wallwatch.yaml (or the items of a list of mappings,
or a table whose keys are names the firm chooses). Each Key carries what the
reference shows — type, default, allowed values, a one-line description and an
example — and the readers take `Section.allowed` / `Section.required` from here,
so a key cannot be accepted without being documented.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal


class _Nothing:
    """No default / no example: None is a value a key may well have."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()

Kind = Literal["mapping", "list", "names"]


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # as the reference names it: "duration", "list of strings", ...
    doc: str  # one line
    example: Any = NOTHING  # NOTHING: composed from `section`
    default: Any = NOTHING  # the value as it would be written in YAML
    default_doc: str | None = None  # a default that depends on something else, in words
    required: bool = False
    choices: tuple[str, ...] = ()
    section: Section | None = None  # the keys of a nested mapping, or of list items
    only_with: tuple[str, Any] | None = None  # (key, value): allowed, and needed, with it

    @property
    def has_default(self) -> bool:
        return self.default is not NOTHING


@dataclass(frozen=True)
class OneOf:
    """Groups of keys that exclude each other: at most one group may be given."""

    groups: tuple[tuple[str, ...], ...]
    required: bool = False  # one group must be given

    def text(self) -> str:
        alternatives = [" with ".join(f"`{k}`" for k in group) for group in self.groups]
        head = "Give one of" if self.required else "At most one of"
        return f"{head}: {', '.join(alternatives[:-1])} or {alternatives[-1]}."


@dataclass(frozen=True)
class Section:
    name: str  # dotted, as the reference titles it: "notify.routes"
    doc: str
    keys: tuple[Key, ...] = ()
    kind: Kind = "mapping"  # list: a list of such mappings; names: keys are chosen names
    one_of: tuple[OneOf, ...] = ()  # independent choices between alternative keys
    any_of: tuple[str, ...] = ()  # at least one of these keys must be given
    # list items told apart by their `type`: each variant's name is the type value and
    # its keys come on top of the section's own (a variant key of the same name wins)
    variants: tuple[Section, ...] = ()
    entry: str = ""  # names: the example name under which `keys[0].section` is shown

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(k.name for k in self.keys)

    @property
    def required(self) -> frozenset[str]:
        return frozenset(k.name for k in self.keys if k.required)

    def key(self, name: str) -> Key:
        for key in self.keys:
            if key.name == name:
                return key
        raise KeyError(f"{self.name} documents no key {name!r}")

    def variant(self, type_: str) -> Section:
        """The item keys for `type: type_`; only the common keys for an unknown type."""
        own = next((v for v in self.variants if v.name == type_), None)
        if own is None:
            return replace(self, name=f"{self.name}[{type_}]", variants=())
        overridden = {k.name for k in own.keys}
        common = tuple(own.key(k.name) if k.name in overridden else k for k in self.keys)
        extra = tuple(k for k in own.keys if k.name not in self.allowed)
        return Section(name=f"{self.name}[{type_}]", doc=own.doc, keys=common + extra,
                       kind="mapping", one_of=self.one_of + own.one_of,
                       any_of=self.any_of + own.any_of)


def walk(section: Section, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Key]]:
    """Every key under `section` with its path: a mapping key by its name, a list
    item as `[]` (or `[type]` for a variant), an entry of a names table as `*`."""
    if section.kind == "list":
        items = [("[]", section)] if not section.variants else [
            (f"[{v.name}]", section.variant(v.name)) for v in section.variants]
        for segment, item in items:
            yield from _keys(item, (*path, segment))
    elif section.kind == "names":
        yield from _keys(section, (*path, "*"), names=True)
    else:
        yield from _keys(section, path)


def _keys(section: Section, path: tuple[str, ...],
          names: bool = False) -> Iterator[tuple[tuple[str, ...], Key]]:
    for key in section.keys:
        here = path if names else (*path, key.name)
        yield here, key
        if key.section is not None:
            yield from walk(key.section, here)


def sections(section: Section) -> Iterator[Section]:
    """`section` and every section under it, variants merged with their common keys."""
    yield section
    for variant in section.variants:
        yield section.variant(variant.name)
    for key in section.keys:
        if key.section is not None:
            yield from sections(key.section)
    for variant in section.variants:
        for key in variant.keys:
            if key.section is not None:
                yield from sections(key.section)
