"""Sigma field names → Wallwatch event fields, per Sigma logsource, declared as data
(mappings.yaml next to this module; the format is described there).

A mapping file is configuration: its errors are ConfigErrors naming file:line:col.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError, RuleError
from monitor.event import Event
from monitor.rules.condition import compile_condition, field_problem, getter
from monitor.rules.model import Condition
from monitor.yamlloc import YDict, YList, load_yaml

SHIPPED = Path(__file__).resolve().parent / "mappings.yaml"
LOGSOURCE_KEYS = ("category", "product", "service")
_TARGET = re.compile(r"^(?P<base>[A-Za-z_@][\w@.-]*?)(?:\[(?P<index>\d+|\*)\]"
                     r"(?:\.(?P<key>[\w@-]+))?)?$")
_PATTERN = re.compile(r"^[\w.-]*\{n\}[\w.-]*$")


@dataclass(frozen=True)
class FieldTarget:
    """One event field a Sigma field reads: `base`, `base[3]` or `base[*].key`."""

    base: str
    index: int | None = None
    each: bool = False
    key: str | None = None

    @property
    def text(self) -> str:
        if self.each:
            return f"{self.base}[*]" + (f".{self.key}" if self.key else "")
        if self.index is not None:
            return f"{self.base}[{self.index}]" + (f".{self.key}" if self.key else "")
        return self.base

    def getter(self) -> Callable[[Event], Any]:
        get = getter(self.base)
        index, key = self.index, self.key
        if index is not None:
            def item(ev: Event) -> Any:
                value = get(ev)
                if not isinstance(value, list) or index >= len(value):
                    return None
                found = value[index]
                return found.get(key) if key is not None and isinstance(found, dict) else found
            return item
        if self.each:
            def every(ev: Event) -> Any:
                value = get(ev)
                if not isinstance(value, list):
                    return None
                if key is None:
                    return value
                out = [v.get(key) for v in value if isinstance(v, dict)]
                return [v for v in out if v is not None] or None
            return every
        return get


def parse_target(text: str) -> FieldTarget:
    """A target as written in a mapping; ValueError says why it is not one."""
    m = _TARGET.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a field, field[N] or field[*].key")
    problem = field_problem(m["base"])
    if problem:
        raise ValueError(f"unknown event field '{m['base']}': {problem}")
    index = m["index"]
    if index is None and m["key"]:
        raise ValueError(f"{text!r}: a key needs [N] or [*] before it")
    return FieldTarget(m["base"], None if index in (None, "*") else int(index), index == "*",
                       m["key"])


def combined_getter(targets: tuple[FieldTarget, ...]) -> Callable[[Event], Any]:
    """Read every target; several values become one list (any of them may match)."""
    if len(targets) == 1:
        return targets[0].getter()
    gets = [t.getter() for t in targets]

    def gather(ev: Event) -> Any:
        out: list[Any] = []
        for get in gets:
            value = get(ev)
            if isinstance(value, list):
                out.extend(value)
            elif value is not None:
                out.append(value)
        return out or None
    return gather


@dataclass(frozen=True)
class LogsourceMapping:
    name: str
    logsource: tuple[str | None, str | None, str | None]  # category, product, service
    when: Condition
    fields: Mapping[str, tuple[str, ...]]  # Sigma field -> target templates
    patterns: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = ()
    default: tuple[str, ...] = ()  # templates with {field}
    keywords: tuple[FieldTarget, ...] | None = None  # None: every field of the event
    where: str = field(default="", compare=False)  # file:line, for messages

    def targets(self, sigma_field: str) -> tuple[FieldTarget, ...]:
        """The event fields a Sigma field reads; ValueError when there are none."""
        templates = self.fields.get(sigma_field)
        subst: dict[str, str] = {"field": sigma_field}
        if templates is None:
            folded = sigma_field.casefold()
            templates = next((t for k, t in self.fields.items() if k.casefold() == folded),
                             None)
        if templates is None:
            for pattern, found in self.patterns:
                m = pattern.match(sigma_field)
                if m:
                    templates, subst["n"] = found, m["n"]
                    break
        if templates is None:
            templates = self.default
        if not templates:
            raise ValueError(f"field '{sigma_field}' has no mapping for logsource {self.name} "
                             f"({self.where})")
        try:
            return tuple(parse_target(t.format(**subst)) for t in templates)
        except (ValueError, KeyError, IndexError) as exc:
            raise ValueError(f"field '{sigma_field}' cannot be mapped: {exc}") from None


@dataclass(frozen=True)
class Mappings:
    logsources: tuple[LogsourceMapping, ...]

    def find(self, category: str | None, product: str | None,
             service: str | None) -> LogsourceMapping | None:
        want = tuple(v.casefold() if v else None for v in (category, product, service))
        for ls in self.logsources:
            if tuple(v.casefold() if v else None for v in ls.logsource) == want:
                return ls
        return None

    def merged(self, override: Mappings) -> Mappings:
        """These logsources, with those of `override` replacing same-named ones."""
        names = {ls.name for ls in override.logsources}
        return Mappings(override.logsources + tuple(ls for ls in self.logsources
                                                     if ls.name not in names))


def _fail(node: YDict | YList, key: Any, message: str, hint: str | None = None) -> ConfigError:
    line, col = node.where(key)
    return ConfigError(message, node.path, line, col, hint)


def _templates(node: YDict, key: str, placeholder: str | None) -> tuple[str, ...]:
    value = node[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise _fail(node, key, f"'{key}' must map to an event field or a list of them")
    for text in items:
        if placeholder is None and "{" in text:
            raise _fail(node, key, f"{text!r}: only `*` and `…{{n}}` fields take placeholders")
        try:
            parse_target(text.format(field="Field", n="0"))
        except (ValueError, KeyError, IndexError) as exc:
            raise _fail(node, key, str(exc)) from None
    return tuple(items)


def _logsource(name: str, node: Any, parent: YDict) -> LogsourceMapping:
    if not isinstance(node, YDict):
        raise _fail(parent, name, f"logsource mapping '{name}' must be a mapping")
    for key in node:
        if key not in ("logsource", "when", "fields", "keywords"):
            line, col = node.where_key(key)
            raise ConfigError(f"unknown key '{key}' in logsource mapping '{name}'", node.path,
                              line, col, "expected logsource, when, fields, keywords")
    source = node.get("logsource")
    if not isinstance(source, YDict) or not source or \
            any(k not in LOGSOURCE_KEYS or not isinstance(v, str) for k, v in source.items()):
        raise _fail(node, "logsource" if "logsource" in node else None,
                    f"'{name}' needs logsource: {{category/product/service: name}}")
    try:
        when = compile_condition(node["when"], node, "when", node.path, {}) \
            if "when" in node else Condition(lambda ev: True, frozenset(), "{}")
    except RuleError as exc:
        raise ConfigError(exc.message, exc.path, exc.line, exc.col, exc.hint) from None
    fields_node = node.get("fields")
    if not isinstance(fields_node, YDict):
        raise _fail(node, "fields" if "fields" in node else None,
                    f"'{name}' needs fields: {{SigmaField: event.field}}")
    exact: dict[str, tuple[str, ...]] = {}
    patterns: list[tuple[re.Pattern[str], tuple[str, ...]]] = []
    default: tuple[str, ...] = ()
    for key in fields_node:
        if key == "*":
            default = _templates(fields_node, key, "field")
        elif _PATTERN.match(key):
            regex = re.compile("^" + re.escape(key).replace(r"\{n\}", r"(?P<n>\d+)") + "$")
            patterns.append((regex, _templates(fields_node, key, "n")))
        else:
            exact[key] = _templates(fields_node, key, None)
    keywords: tuple[FieldTarget, ...] | None = None
    words = node.get("keywords", "*")
    if words != "*":
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise _fail(node, "keywords", "'keywords' is \"*\" or a list of event fields")
        try:
            keywords = tuple(parse_target(w) for w in words)
        except ValueError as exc:
            raise _fail(node, "keywords", str(exc)) from None
    return LogsourceMapping(
        name, tuple(source.get(k) for k in LOGSOURCE_KEYS),  # type: ignore[arg-type]
        when, exact, tuple(patterns), default, keywords, f"{node.path}:{node.pos[0]}")


def parse_mappings(text: str, path: str) -> Mappings:
    root = load_yaml(text, path, ConfigError)
    if not isinstance(root, YDict) or not isinstance(root.get("logsources"), YDict):
        raise ConfigError("a Sigma mapping file needs `logsources:` (a mapping of names)", path,
                          1, 1)
    for key in root:
        if key != "logsources":
            line, col = root.where_key(key)
            raise ConfigError(f"unknown key '{key}' in a Sigma mapping file", path, line, col)
    node = root["logsources"]
    return Mappings(tuple(_logsource(name, value, node) for name, value in node.items()))


def load_mappings(path: str | Path) -> Mappings:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read Sigma mapping file: {exc}", str(path)) from None
    return parse_mappings(text, str(path))


_shipped: Mappings | None = None


def shipped() -> Mappings:
    global _shipped
    if _shipped is None:
        _shipped = load_mappings(SHIPPED)
    return _shipped
