"""Sigma values (after pySigma applied the modifiers) → tests of one event value.

All the values one field is compared against in an OR (a Sigma value list, or the
expansions of `windash` / `base64offset`) go into one Bucket, which compiles to a
single test: plain strings to a set lookup, prefixes and suffixes to one
str.startswith / str.endswith on a tuple, other wildcard patterns to regular
expressions. Strings ignore case unless `cased`; a regex follows its own flags.

A rule's own regular expression (`|re`) runs on RE2 (google-re2, which pySigma
brings to validate them): linear time whatever the pattern, so a third-party rule
cannot stall the engine with catastrophic backtracking. The patterns we make from
wildcards (`.*` and `.` only) run on Python's `re`, which is faster per call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import re2  # type: ignore[import-untyped]
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from monitor.rules.condition import _text, _value_test

ValueTest = Callable[[Any], bool]
_RE_FLAGS = {SigmaRegularExpressionFlag.IGNORECASE: "i",
             SigmaRegularExpressionFlag.MULTILINE: "m", SigmaRegularExpressionFlag.DOTALL: "s"}
_COMPARE = {CompareOperators.LT: "lt", CompareOperators.LTE: "lte", CompareOperators.GT: "gt",
            CompareOperators.GTE: "gte"}


class Unsupported(Exception):
    """The rule uses something that cannot be evaluated on our events; says what."""


def glob_parts(value: SigmaString) -> list[str | SpecialChars]:
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise Unsupported(f"placeholder %{part.name}% (the `expand` modifier) needs a "
                              "processing pipeline that fills it; none is configured here")
        parts.append(part)
    return parts


def glob_regex(parts: list[str | SpecialChars], anchored: bool = True) -> str:
    body = "".join(".*" if p is SpecialChars.WILDCARD_MULTI else
                   "." if p is SpecialChars.WILDCARD_SINGLE else re.escape(str(p))
                   for p in parts)
    return f"^(?:{body})$" if anchored else body


def _date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _time_part(part: TimestampPart, number: int) -> ValueTest:
    def test(value: Any) -> bool:
        ts = _date(value)
        if ts is None:
            return False
        got = {TimestampPart.MINUTE: ts.minute, TimestampPart.HOUR: ts.hour,
               TimestampPart.DAY: ts.day, TimestampPart.WEEK: ts.isocalendar()[1],
               TimestampPart.MONTH: ts.month, TimestampPart.YEAR: ts.year}[part]
        return bool(got == number)
    return test


def rule_regex(value: SigmaRegularExpression) -> Any:
    """A rule's regular expression on RE2, its flags inline."""
    flags = "".join(sorted(_RE_FLAGS[f] for f in value.flags))
    text = str(value.regexp)
    try:
        return re2.compile(f"(?{flags}){text}" if flags else text)
    except re2.error as exc:
        raise Unsupported(f"regular expression {text!r}: {exc}") from None


class Bucket:
    """Values one field is compared against, any of which may match."""

    def __init__(self) -> None:
        self.eq: dict[bool, set[str]] = {False: set(), True: set()}  # by cased
        self.starts: dict[bool, set[str]] = {False: set(), True: set()}
        self.ends: dict[bool, set[str]] = {False: set(), True: set()}
        self.contains: dict[bool, set[str]] = {False: set(), True: set()}
        self.regexes: list[Any] = []  # compiled re or re2 patterns: both have .search
        self.others: list[ValueTest] = []
        self.any_value = False  # `*`: any value at all
        self.null = False  # `null`: the field is absent or empty
        self.parts: list[str] = []  # canonical text, in order

    def add(self, value: SigmaType) -> None:
        if isinstance(value, SigmaExpansion):
            for item in value.values:
                self.add(item)
        elif isinstance(value, SigmaString):  # SigmaCasedString too
            self._string(value, isinstance(value, SigmaCasedString))
        elif isinstance(value, SigmaRegularExpression):
            self.regexes.append(rule_regex(value))
            names = "".join(sorted(_RE_FLAGS[f] for f in value.flags))
            self.parts.append(f"re/{names}:{str(value.regexp)!r}")
        elif isinstance(value, SigmaTimestampPart):  # before SigmaNumber: it is one
            self.others.append(_time_part(value.timestamp_part, int(value.number)))
            self.parts.append(f"{value.timestamp_part.name.lower()}:{value.number}")
        elif isinstance(value, SigmaBool):
            want = bool(value.boolean)
            word = "true" if want else "false"
            self.others.append(lambda v: v is want if isinstance(v, bool)
                               else isinstance(v, str) and v.casefold() == word)
            self.parts.append(f"bool:{word}")
        elif isinstance(value, SigmaNumber):
            self.eq[False].add(str(value.number))
            self.parts.append(f"num:{value.number}")
        elif isinstance(value, SigmaNull):
            self.null = True
            self.parts.append("null")
        elif isinstance(value, SigmaCIDRExpression):
            self.others.append(_value_test("cidr", [str(value.network)], False))
            self.parts.append(f"cidr:{value.network}")
        elif isinstance(value, SigmaCompareExpression):
            self.others.append(self._compare(value))
            self.parts.append(f"{value.op.name.lower()}:{value.number.number}")
        else:
            raise Unsupported(f"value type {type(value).__name__} is not supported here")

    @staticmethod
    def _compare(value: SigmaCompareExpression) -> ValueTest:
        limit = float(value.number.number)
        if value.op is CompareOperators.NEQ:
            def neq(v: Any) -> bool:
                try:
                    return float(v) != limit
                except (TypeError, ValueError):
                    return False
            return neq
        return _value_test(_COMPARE[value.op], [limit], False)

    def _string(self, value: SigmaString, cased: bool) -> None:
        parts = glob_parts(value)
        fold: Callable[[str], str] = (lambda s: s) if cased else str.casefold
        tag = "c" if cased else ""
        multi = SpecialChars.WILDCARD_MULTI
        inner = parts[1:-1]
        if not parts:
            self.eq[cased].add("")
            self.parts.append(f"eq{tag}:''")
        elif all(p is multi for p in parts):
            self.any_value = True
            self.parts.append("any")
        elif all(isinstance(p, str) for p in parts):
            text = fold("".join(str(p) for p in parts))
            self.eq[cased].add(text)
            self.parts.append(f"eq{tag}:{text!r}")
        elif len(parts) == 2 and parts[1] is multi and isinstance(parts[0], str):
            self.starts[cased].add(fold(parts[0]))
            self.parts.append(f"sw{tag}:{fold(parts[0])!r}")
        elif len(parts) == 2 and parts[0] is multi and isinstance(parts[1], str):
            self.ends[cased].add(fold(parts[1]))
            self.parts.append(f"ew{tag}:{fold(parts[1])!r}")
        elif len(parts) == 3 and parts[0] is multi and parts[2] is multi and \
                isinstance(inner[0], str):
            self.contains[cased].add(fold(inner[0]))
            self.parts.append(f"in{tag}:{fold(inner[0])!r}")
        else:
            pattern = glob_regex(parts)
            self.regexes.append(re.compile(pattern, re.DOTALL | (0 if cased else re.IGNORECASE)))
            self.parts.append(f"glob{tag}:{pattern!r}")

    @property
    def source(self) -> str:
        return "[" + ",".join(self.parts) + "]"

    def value_test(self) -> ValueTest:
        """One test of a single (non-list) value against every value in the bucket."""
        tests: list[ValueTest] = []
        for cased in (False, True):
            tests.extend(_text_tests(self.eq[cased], self.starts[cased], self.ends[cased],
                                     self.contains[cased], cased))
        regexes = tuple(self.regexes)
        if regexes:
            tests.append(lambda v: any(r.search(v if type(v) is str else _text(v))
                                       for r in regexes))
        tests.extend(self.others)
        if self.any_value:
            tests.append(lambda v: True)
        if not tests:
            return lambda v: False
        if len(tests) == 1:
            return tests[0]
        every = tuple(tests)
        return lambda v: any(t(v) for t in every)


def _text_tests(eq: set[str], starts: set[str], ends: set[str], contains: set[str],
                cased: bool) -> list[ValueTest]:
    """The fastest test for each kind of string comparison that is present."""
    if not (eq or starts or ends or contains):
        return []
    wanted, prefixes, suffixes = frozenset(eq), tuple(sorted(starts)), tuple(sorted(ends))
    inside = tuple(sorted(contains))
    if cased:
        def text(v: Any) -> str:
            return v if type(v) is str else _text(v)
    else:
        def text(v: Any) -> str:
            return v.casefold() if type(v) is str else _text(v).casefold()
    out: list[ValueTest] = []
    if wanted:
        out.append(lambda v: not isinstance(v, bool) and text(v) in wanted)
    if prefixes:
        out.append(lambda v: text(v).startswith(prefixes))
    if suffixes:
        out.append(lambda v: text(v).endswith(suffixes))
    if len(inside) == 1:
        [needle] = inside
        out.append(lambda v: needle in text(v))
    elif inside:
        out.append(lambda v: any(n in text(v) for n in inside))
    if len(out) > 1:  # fold once for all of them
        def combined(v: Any) -> bool:
            t = text(v)
            return ((bool(wanted) and not isinstance(v, bool) and t in wanted)
                    or (bool(prefixes) and t.startswith(prefixes))
                    or (bool(suffixes) and t.endswith(suffixes))
                    or any(n in t for n in inside))
        return [combined]
    return out


def keyword_pattern(value: SigmaType) -> tuple[Callable[[str], bool], str]:
    """A keyword (a value with no field) as a test of one text of the event: found
    anywhere in it, wildcards allowed, ignoring case unless `cased`."""
    if isinstance(value, SigmaRegularExpression):
        bucket = Bucket()
        bucket.add(value)
        regex = rule_regex(value)
        return (lambda t: regex.search(t) is not None), bucket.source
    if isinstance(value, SigmaNumber | SigmaBool):
        needle = str(value.number if isinstance(value, SigmaNumber) else value).casefold()
        return (lambda t: needle in t.casefold()), f"kw:{needle!r}"
    if not isinstance(value, SigmaString):
        raise Unsupported(f"a keyword of type {type(value).__name__} is not supported here")
    cased = isinstance(value, SigmaCasedString)
    parts = glob_parts(value)
    while parts and parts[0] is SpecialChars.WILDCARD_MULTI:
        parts.pop(0)
    while parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
        parts.pop()
    if all(isinstance(p, str) for p in parts):
        needle = "".join(str(p) for p in parts)
        if cased:
            return (lambda t: needle in t), f"kwc:{needle!r}"
        folded = needle.casefold()
        return (lambda t: folded in t.casefold()), f"kw:{folded!r}"
    regex = re.compile(glob_regex(parts, anchored=False),
                       re.DOTALL | (0 if cased else re.IGNORECASE))
    return (lambda t: regex.search(t) is not None), f"kw/re:{regex.pattern!r}"
