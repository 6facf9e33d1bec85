"""The firm's business calendar: working days, working hours, off-hours.

Mainland China moves working days around: each year the State Council announces
which days are off for the public holidays and which weekend days become
make-up working days (调休上班). The `holidays` package carries that schedule
for the years already announced; for a later year (2027 as of holidays 0.108)
it knows the public holidays from the statutory rules but no make-up days. Then
the calendar keeps working on weekday rules plus the firm's own lists in
wallwatch.yaml, and says so through `coverage()` and `warnings()` so that
`doctor` and a metric can tell the admin to add the new schedule.

Every question is answered from a per-year table built on first use, so the
daemon's per-event `off_hours()` costs a time-zone conversion and a list index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

import holidays
from holidays.version import __version__ as HOLIDAYS_VERSION

from monitor import config_schema as schema
from monitor.config_read import check_section, err
from monitor.errors import ConfigError
from monitor.yamlloc import YDict, YList

Coverage = Literal["package", "weekday-fallback"]
DayKind = Literal["workday", "makeup", "rest", "holiday"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
SUPPORTED_COUNTRIES = frozenset({"CN"})
# Holiday names in the official language, whatever the host's locale says.
HOLIDAY_LANGUAGE = "zh_CN"


class Span(NamedTuple):
    """Working time within one local day: [start, end) in minutes after midnight."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE_HOURS = (Span(9 * 60, 18 * 60),)
DEFAULT_HOURS: tuple[tuple[Span, ...], ...] = (OFFICE_HOURS,) * 5 + ((), ())


@dataclass(frozen=True)
class CalendarConfig:
    """What wallwatch.yaml's `calendar:` section (plus the top-level timezone) says.

    A date is judged in this order: listed in extra_workdays → worked with the
    make-up hours; in extra_holidays → off; a public holiday → off; an official
    make-up day → make-up hours; otherwise its weekday's hours (none = day off).
    """

    timezone: ZoneInfo = SHANGHAI
    hours: tuple[tuple[Span, ...], ...] = DEFAULT_HOURS  # Monday first, as date.weekday()
    makeup_hours: tuple[Span, ...] | None = None  # None: the Monday hours
    country: str | None = "CN"  # None: no public holidays at all
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("hours needs one entry per weekday, Monday first")
        for spans in (*self.hours, self.makeup_hours or ()):
            problem = _span_problem(spans)
            if problem:
                raise ValueError(problem)
        if self.country is not None and self.country not in SUPPORTED_COUNTRIES:
            raise ValueError(f"unsupported country {self.country!r}")
        both = self.extra_holidays & self.extra_workdays
        if both:
            raise ValueError(f"{min(both)} is both an extra holiday and an extra workday")

    @property
    def makeup_spans(self) -> tuple[Span, ...]:
        return self.hours[0] if self.makeup_hours is None else self.makeup_hours


def _span_problem(spans: Iterable[Span]) -> str | None:
    previous: Span | None = None
    for span in spans:
        if not 0 <= span.start < span.end <= 24 * 60:
            return f"span {span} must start before it ends, within 00:00-24:00"
        if previous is not None and span.start < previous.end:
            return f"spans {previous} and {span} are out of order or overlap"
        previous = span
    return None


# --- wallwatch.yaml ---------------------------------------------------------------

_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # not the week and basic forms 3.11 takes
_TIME_HINT = "times are HH:MM from 00:00 to 24:00, e.g. \"09:00-12:00,13:00-18:00\""


def parse_calendar_config(node: YDict | None, path: str,
                          timezone: ZoneInfo | None = None) -> CalendarConfig:
    """Read the `calendar:` section; None (no section) gives the defaults.

    `timezone` is the config's top-level timezone (one setting for the whole
    firm); Asia/Shanghai when not given. Days missing from `hours` keep their
    default; `hours.makeup` defaults to whatever Monday ends up with.
    """
    tz = timezone or SHANGHAI
    if node is None:
        return CalendarConfig(timezone=tz)
    if not isinstance(node, YDict):
        raise ConfigError("'calendar' must be a mapping", path, hint="e.g. calendar: {country: CN}")
    check_section(node, schema.section("calendar"), "calendar")

    country: str | None = "CN"
    if "country" in node:
        raw = node["country"]
        country = None if raw is None or str(raw).lower() == "none" else str(raw).upper()
        if country is not None and country not in SUPPORTED_COUNTRIES:
            raise err(node, "country", f"unsupported country {raw!r}",
                      "only CN (mainland China) is supported; null turns public holidays off")

    hours = list(DEFAULT_HOURS)
    makeup: tuple[Span, ...] | None = None
    hours_node = node.get("hours")
    if hours_node is not None:
        if not isinstance(hours_node, YDict):
            raise err(node, "hours", "'hours' must be a mapping of weekday to spans",
                      "e.g. hours: {mon: \"09:00-18:00\", sat: none}")
        check_section(hours_node, schema.section("calendar.hours"), "calendar.hours")
        for key in hours_node:
            spans = _spans(hours_node, key)
            if key == "makeup":
                makeup = spans
            else:
                hours[WEEKDAYS.index(key)] = spans

    holidays_ = _dates(node, "holidays")
    workdays = _dates(node, "workdays")
    for day, (line, col) in workdays.items():
        if day in holidays_:
            raise ConfigError(f"{day} is listed both in holidays and in workdays", node.path,
                              line, col, "keep it in one list")
    return CalendarConfig(timezone=tz, hours=tuple(hours), makeup_hours=makeup,
                          country=country, extra_holidays=frozenset(holidays_),
                          extra_workdays=frozenset(workdays))


def _spans(node: YDict, key: str) -> tuple[Span, ...]:
    value = node[key]
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return ()
    if isinstance(value, YList) and all(isinstance(v, str) for v in value):
        parts = [p for v in value for p in v.split(",")]
    elif isinstance(value, str):
        parts = value.split(",")
    else:
        # Unquoted 9:00 is a YAML 1.1 base-60 integer (540): hence the hint.
        raise err(node, key, f"'{key}' must be spans like \"09:00-18:00\" or none",
                  "quote the times")
    spans: list[Span] = []
    for part in parts:
        match = _SPAN.match(part.strip())
        if not match:
            raise err(node, key, f"bad span {part.strip()!r} in '{key}'", _TIME_HINT)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        for h, m in ((h1, m1), (h2, m2)):
            if h > 24 or m > 59 or (h == 24 and m != 0):
                raise err(node, key, f"bad time {h:02d}:{m:02d} in '{key}'", _TIME_HINT)
        span = Span(h1 * 60 + m1, h2 * 60 + m2)
        if span.end <= span.start:
            raise err(node, key, f"span {span} in '{key}' ends before it starts",
                      "spans cannot cross midnight: split one at 24:00 and start the "
                      "next day's at 00:00")
        spans.append(span)
    spans.sort()
    problem = _span_problem(spans)
    if problem:
        raise err(node, key, f"'{key}': {problem}")
    return tuple(spans)


def _dates(node: YDict, key: str) -> dict[date, tuple[int, int]]:
    """The dates of a list, each with where it was written."""
    value = node.get(key)
    if value is None:
        return {}
    if not isinstance(value, YList):
        raise err(node, key, f"'{key}' must be a list of dates", "e.g. [2027-02-05, 2027-02-08]")
    out: dict[date, tuple[int, int]] = {}
    for i, item in enumerate(value):
        day = _date(item)
        if day is None:
            line, col = value.where(i)
            raise ConfigError(f"bad date {item!r} in '{key}'", node.path, line, col,
                              "write dates as YYYY-MM-DD, e.g. 2027-02-05")
        out.setdefault(day, value.where(i))
    return out


def _date(item: Any) -> date | None:
    if isinstance(item, datetime):  # a date with a time of day is not a day
        return None
    if isinstance(item, date):
        return item
    if isinstance(item, str) and _ISO_DATE.match(item.strip()):
        try:
            return date.fromisoformat(item.strip())
        except ValueError:  # 2027-02-30
            return None
    return None


# --- the calendar -----------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """One local date as the firm sees it."""

    date: date
    kind: DayKind  # makeup: a weekend day (or a listed day) worked in lieu
    spans: tuple[Span, ...]  # empty: nobody should be working
    name: str | None = None  # the holiday's or make-up day's name, or its config list

    @property
    def working(self) -> bool:
        return bool(self.spans)


@dataclass(frozen=True)
class _Year:
    first: int  # toordinal() of 1 January
    days: tuple[Day, ...]
    coverage: Coverage
    warning: str | None


@dataclass
class _Package:
    holidays: dict[date, str] = field(default_factory=dict)
    makeup: dict[date, str] = field(default_factory=dict)
    error: str | None = None


class BusinessCalendar:
    """Working days and hours of the firm; answers for any date, never raises for one."""

    def __init__(self, config: CalendarConfig | None = None) -> None:
        self.config = config or CalendarConfig()
        self.package_version: str = HOLIDAYS_VERSION
        self._tz = self.config.timezone
        self._years: dict[int, _Year] = {}

    def day(self, d: date) -> Day:
        year = self._years.get(d.year) or self._load(d.year)
        return year.days[d.toordinal() - year.first]

    def is_working_day(self, d: date) -> bool:
        """True when the firm works on `d` at all (it has working hours that day)."""
        return bool(self.day(d).spans)

    def is_working_time(self, ts: datetime) -> bool:
        """True when `ts` (timezone-aware) falls in working hours, in the calendar's zone."""
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ValueError(f"timestamp {ts.isoformat()} has no timezone")
        local = ts.astimezone(self._tz)
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in self.day(local.date()).spans)

    def off_hours(self, ts: datetime) -> bool:
        return not self.is_working_time(ts)

    def coverage(self, year: int) -> Coverage:
        """'package' when the package has the official make-up days of `year`."""
        return (self._years.get(year) or self._load(year)).coverage

    def warning(self, year: int) -> str | None:
        return (self._years.get(year) or self._load(year)).warning

    def warnings(self, years: Iterable[int] | None = None) -> list[str]:
        """Warnings for `years`, or for every year looked at so far."""
        wanted = sorted(set(self._years) if years is None else set(years))
        return [w for y in wanted if (w := self.warning(y)) is not None]

    def _load(self, year: int) -> _Year:
        country = self.config.country
        package = self._package(country, year) if country else _Package()
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        days = tuple(self._classify(date.fromordinal(n), package) for n in range(first, last + 1))
        coverage: Coverage = "package" if package.makeup else "weekday-fallback"
        built = _Year(first, days, coverage, self._warn(year, package))
        self._years[year] = built
        return built

    def _classify(self, d: date, package: _Package) -> Day:
        cfg = self.config
        # The firm's own lists win over the package, both ways.
        if d in cfg.extra_workdays:
            return Day(d, "makeup", cfg.makeup_spans, "calendar.workdays")
        if d in cfg.extra_holidays:
            return Day(d, "holiday", (), "calendar.holidays")
        if d in package.holidays:
            return Day(d, "holiday", (), package.holidays[d])
        if d in package.makeup:
            return Day(d, "makeup", cfg.makeup_spans, package.makeup[d])
        spans = cfg.hours[d.weekday()]
        return Day(d, "workday" if spans else "rest", spans)

    @staticmethod
    def _package(country: str, year: int) -> _Package:
        out = _Package()
        try:
            # The next year too: a notice can move a late-December day of this year.
            table = holidays.country_holidays(country, years=(year, year + 1),
                                              language=HOLIDAY_LANGUAGE)
            for d, name in table.items():
                if d.year == year:
                    out.holidays[d] = str(name)
            for d in table.weekend_workdays:
                if d.year == year and d not in out.holidays:
                    out.makeup[d] = "调休上班"
        except Exception as exc:  # a bug in a third-party table must not stop the daemon
            out = _Package(error=f"{type(exc).__name__}: {exc}")
        return out

    def _warn(self, year: int, package: _Package) -> str | None:
        cfg = self.config
        if cfg.country is None or package.makeup:
            return None
        listed = sum(1 for d in cfg.extra_workdays if d.year == year)
        source = f"holidays {self.package_version}"
        if package.error:
            known = f"{source} failed ({package.error}): no public holidays"
        elif package.holidays:
            known = (f"{source} has no official {cfg.country} schedule: public holidays are "
                     "its estimate from the statutory rules")
        else:
            known = f"{source} knows no {cfg.country} public holidays"
        return (f"{year}: {known}, and make-up working days come only from "
                f"calendar.workdays ({listed} listed); add the official {year} schedule "
                "to calendar.holidays and calendar.workdays")
