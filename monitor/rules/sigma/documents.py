"""Sigma YAML → pySigma rule objects, with errors at file:line:col.

pySigma validates (modifiers, values, conditions, correlation sections) but knows
no positions. The documents are read with our located YAML loader, and a pySigma
error is placed by what it is about: the top-level key it names by its class, or,
inside `detection:`, the selection and key that fails when pySigma is given that
piece alone; a condition's parse error gets its column inside the condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sigma.conditions import SigmaCondition
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from monitor.errors import RuleError
from monitor.yamlloc import YDict, YList, _Builder

# pySigma error class -> the top-level key it is about
_KEY_OF_ERROR = {
    "SigmaIdentifierError": "id", "SigmaNameError": "name", "SigmaTaxonomyError": "taxonomy",
    "SigmaRelatedError": "related", "SigmaLevelError": "level", "SigmaStatusError": "status",
    "SigmaTagError": "tags", "SigmaDateError": "date", "SigmaModifiedError": "modified",
    "SigmaFieldsError": "fields", "SigmaFalsePositivesError": "falsepositives",
    "SigmaAuthorError": "author", "SigmaDescriptionError": "description",
    "SigmaReferencesError": "references", "SigmaTitleError": "title",
    "SigmaScopeError": "scope", "SigmaLicenseError": "license",
    "SigmaLogsourceError": "logsource",
}
# words in a correlation error -> the key under `correlation:` it is about
_CORRELATION_KEYS = (("group-by", "group-by"), ("timespan", "timespan"),
                     ("generate", "generate"), ("alias", "aliases"), ("condition", "condition"),
                     ("type", "type"), ("rule reference", "rules"), ("rules", "rules"))
_AT_CHAR = re.compile(r"\(at char (\d+)\)")


@dataclass
class Document:
    """One YAML document of a Sigma file and what pySigma made of it."""

    node: YDict
    index: int  # 0-based, in the file
    rule: SigmaRule | SigmaCorrelationRule | None  # None: not evaluated here (`skip` says why)
    skip: str = ""


def read_documents(text: str, path: str) -> list[YDict]:
    """Every non-empty document of a (multi-document) YAML file, positions kept."""
    loader = yaml.SafeLoader(text)
    docs: list[YDict] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            value = _Builder(loader, path, RuleError).build(node) if node is not None else None
            if value is None:
                continue
            if not isinstance(value, YDict):
                line, col = value.pos if isinstance(value, YList) else (1, 1)
                raise RuleError("a Sigma document is a mapping (title, logsource, detection…)",
                                path, line, col)
            docs.append(value)
        return docs
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise RuleError(f"not valid YAML: {exc.problem or exc.context}", path,
                        mark.line + 1 if mark else None,
                        mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise RuleError(f"not valid YAML: {exc}", path) from None
    finally:
        loader.dispose()


def parse_document(node: YDict, index: int, lines: list[str]) -> Document:
    """pySigma's rule object for one document; a RuleError, located, when invalid.
    `lines` are the file's lines (a condition error steps over an opening quote)."""
    if "action" in node:
        return Document(node, index, None, "Sigma 1 collection actions (action: global / "
                                           "repeat / reset) are not supported: write each rule "
                                           "in full")
    if "correlation" in node:
        return Document(node, index, _correlation(node))
    if "detection" in node:
        return Document(node, index, _rule(node, lines))
    if "filter" in node:
        return Document(node, index, None, "Sigma filters (meta rules that change other rules) "
                                           "are not supported yet")
    raise RuleError("not a Sigma rule: a document needs `detection:` or `correlation:`",
                    node.path, *node.pos)


def _message(exc: SigmaError) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _at(node: YDict | YList, key: Any, message: str, hint: str | None = None) -> RuleError:
    line, col = node.where(key) if key is not None else node.pos
    return RuleError(message, node.path, line, col, hint)


def _top_level(node: YDict, exc: SigmaError) -> RuleError:
    key = _KEY_OF_ERROR.get(type(exc).__name__)
    if key is None and "name" in _message(exc) and "name" in node:
        key = "name"
    return _at(node, key if key in node else None, _message(exc))


def _unreadable(node: YDict, key: str | None, exc: Exception) -> RuleError:
    """pySigma failed with something other than a SigmaError (it expects the shapes its
    schema describes): still a located error, never a crash of the loader."""
    return _at(node, key if key in node else None,
               f"pySigma cannot read this {key or 'rule'}: {type(exc).__name__}: {exc}")


def _rule(node: YDict, lines: list[str]) -> SigmaRule:
    source = SigmaRuleLocation(Path(node.path))
    _check_detection(node)
    try:
        rule = SigmaRule.from_dict(node, collect_errors=True, source=source)
    except SigmaError as exc:
        raise _top_level(node, exc) from None
    except Exception as exc:  # pySigma on shapes outside its schema
        raise _unreadable(node, None, exc) from None
    if rule.errors:
        raise _top_level(node, rule.errors[0])
    detection = node["detection"]
    for i, condition in enumerate(rule.detection.parsed_condition):
        try:
            condition.parse()
        except SigmaError as exc:
            raise _condition_error(detection, i, condition, exc, lines) from None
        except Exception as exc:
            raise _unreadable(detection, "condition", exc) from None
    return rule


def _check_detection(node: YDict) -> None:
    """Each selection through pySigma on its own, so an error names its place."""
    detection = node.get("detection")
    if not isinstance(detection, YDict):
        raise _at(node, "detection" if "detection" in node else None,
                  "`detection` must be a mapping of selections and a condition")
    if "condition" not in detection:
        raise _at(node, "detection", "`detection` needs a `condition`",
                  "e.g. condition: selection and not filter")
    condition = detection["condition"]
    if not (isinstance(condition, str) or (isinstance(condition, list) and condition
                                           and all(isinstance(c, str) for c in condition))):
        raise _at(detection, "condition", "`condition` must be a text such as `selection and "
                                          "not filter`, or a list of them")
    for name, value in detection.items():
        if name == "condition":
            continue
        try:
            SigmaDetection.from_definition(value)
        except SigmaError as exc:
            raise _in_selection(detection, name, value, exc) from None
        except Exception as exc:  # pySigma on shapes outside its schema
            raise _at(detection, name, f"selection '{name}': {type(exc).__name__}: {exc}") \
                from None


def _in_selection(parent: YDict | YList, key: Any, value: Any, exc: SigmaError) -> RuleError:
    """The innermost key or item of a selection that pySigma rejects on its own."""
    if isinstance(value, YDict):
        for field, item in value.items():
            try:
                SigmaDetectionItem.from_mapping(field, item)
            except SigmaError as inner:
                line, col = value.where_key(field)
                return RuleError(f"{field}: {_message(inner)}", value.path, line, col)
            except Exception:  # not this key's fault alone: the selection's
                continue
    if isinstance(value, YList):
        for i, item in enumerate(value):
            try:
                SigmaDetection.from_definition(item)
            except SigmaError as inner:
                return _in_selection(value, i, item, inner)
    return _at(parent, key, _message(exc))


def _condition_error(detection: YDict, i: int, condition: SigmaCondition,
                     exc: SigmaError, lines: list[str]) -> RuleError:
    node: YDict | YList = detection
    key: Any = "condition"
    value = detection["condition"]
    if isinstance(value, YList):
        node, key = value, i
    line, col = node.where(key)
    text = condition.condition
    offset: int | None = None
    found = _AT_CHAR.search(_message(exc))
    if found:
        offset = int(found.group(1))
    else:
        missing = re.search(r"Detection '([^']+)' not defined", _message(exc))
        if missing:
            hit = re.search(rf"(?<![\w-]){re.escape(missing.group(1))}(?![\w-])", text)
            offset = hit.start() if hit else None
    source_line = lines[line - 1] if 0 < line <= len(lines) else None
    if offset is not None and source_line is not None and "\n" not in text:
        quote = source_line[col - 1:col] in ("'", '"')
        col += offset + (1 if quote else 0)
    message = _message(exc).split(", found")[0] if found else _message(exc)
    return RuleError(f"condition: {message}", node.path, line, col,
                     "selections: " + ", ".join(k for k in detection if k != "condition"))


def _correlation(node: YDict) -> SigmaCorrelationRule:
    section = node["correlation"]
    where: YDict = section if isinstance(section, YDict) else node
    try:
        rule = SigmaCorrelationRule.from_dict(node, collect_errors=True,
                                              source=SigmaRuleLocation(Path(node.path)))
    except SigmaError as exc:
        raise _correlation_error(node, where, exc) from None
    except Exception as exc:  # pySigma on shapes outside its schema
        raise _unreadable(node, "correlation", exc) from None
    if rule.errors:
        raise _correlation_error(node, where, rule.errors[0])
    return rule


def _correlation_error(node: YDict, section: YDict, exc: SigmaError) -> RuleError:
    if type(exc).__name__ in _KEY_OF_ERROR:
        return _top_level(node, exc)
    message = _message(exc)
    words = message.casefold()
    for word, key in _CORRELATION_KEYS:
        if word in words:  # about that key; when it is missing, about the section
            return _at(section, key if key in section else None, f"correlation: {message}")
    return _at(node, "correlation" if "correlation" in node else None,
               f"correlation: {message}")
