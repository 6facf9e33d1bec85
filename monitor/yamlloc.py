"""YAML → plain dicts and lists that remember where each key and value was written.

Used by the config and rule loaders so that every error can name file:line:col.
Only YAML's safe constructors are used: a file can build strings, numbers,
booleans, dates, lists and maps, never Python objects. Duplicate keys are an
error (YAML silently keeps the last one, which hides mistakes), and alias
expansion is bounded so a hostile file cannot blow up memory.
"""

from __future__ import annotations

from typing import Any

import yaml

from monitor.errors import WallwatchError

Pos = tuple[int, int]
MAX_NODES = 200_000


class YDict(dict[str, Any]):
    """A mapping that knows the position of itself, its keys and its values."""

    path: str
    pos: Pos
    key_pos: dict[str, Pos]
    val_pos: dict[str, Pos]

    def where(self, key: str) -> Pos:
        return self.val_pos.get(key, self.pos)

    def where_key(self, key: str) -> Pos:
        return self.key_pos.get(key, self.pos)


class YList(list[Any]):
    """A sequence that knows the position of itself and of each item."""

    path: str
    pos: Pos
    item_pos: list[Pos]

    def where(self, index: int) -> Pos:
        return self.item_pos[index] if 0 <= index < len(self.item_pos) else self.pos


def _pos(node: yaml.Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, path: str, error: type[WallwatchError]) -> None:
        self.loader = loader
        self.path = path
        self.error = error
        self.count = 0

    def fail(self, message: str, node: yaml.Node, hint: str | None = None) -> WallwatchError:
        line, col = _pos(node)
        return self.error(message, self.path, line, col, hint)

    def build(self, node: yaml.Node) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(f"document too large (more than {MAX_NODES} nodes)", node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            out = YList()
            out.path, out.pos, out.item_pos = self.path, _pos(node), []
            for item in node.value:
                out.append(self.build(item))
                out.item_pos.append(_pos(item))
            return out
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2027-02-30
            raise self.fail(f"bad value: {exc}", node) from None

    def _mapping(self, node: yaml.MappingNode) -> YDict:
        self.loader.flatten_mapping(node)  # resolves `<<:` merge keys
        out = YDict()
        out.path, out.pos, out.key_pos, out.val_pos = self.path, _pos(node), {}, {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail("a key must be a plain string", key_node)
            key = str(key_node.value)
            if key in out:
                first = out.key_pos[key]
                raise self.fail(
                    f"duplicate key {key!r} (first at line {first[0]})",
                    key_node,
                    "YAML keeps only the last one; merge them",
                )
            out[key] = self.build(value_node)
            out.key_pos[key] = _pos(key_node)
            out.val_pos[key] = _pos(value_node)
        return out


def load_yaml(text: str, path: str, error: type[WallwatchError] = WallwatchError) -> Any:
    """Parse one YAML document; None for an empty one. Errors are located."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _Builder(loader, path, error).build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise error(f"not valid YAML: {exc.problem or exc.context}", path, line, col) from None
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}", path) from None
    finally:
        loader.dispose()
