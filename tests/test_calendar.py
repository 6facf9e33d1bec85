"""The business calendar: China's holidays and make-up days, working hours, config."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.calendar import (
    BusinessCalendar,
    CalendarConfig,
    Span,
    parse_calendar_config,
)
from monitor.errors import ConfigError
from monitor.yamlloc import YDict, load_yaml

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()  # defaults: CN, Asia/Shanghai, Mon-Fri 09:00-18:00


def at(y: int, m: int, d: int, hh: int, mm: int = 0, ss: int = 0,
       tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=tz)


def section(text: str, path: str = "/etc/wallwatch.yaml") -> YDict | None:
    root = load_yaml(text, path, ConfigError)
    assert isinstance(root, YDict)
    node = root.get("calendar")
    assert node is None or isinstance(node, YDict)
    return node


def config_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_calendar_config(section(text), "/etc/wallwatch.yaml")
    return info.value


# --- China 2026, as the package knows it ---------------------------------------------


def test_national_day_2026_is_off_all_day() -> None:
    assert not CAL.is_working_day(date(2026, 10, 1))  # a Thursday
    assert CAL.day(date(2026, 10, 1)).kind == "holiday"
    assert CAL.day(date(2026, 10, 1)).name == "国庆节"
    for hour in range(24):
        assert CAL.off_hours(at(2026, 10, 1, hour, 30))


def test_the_whole_2026_national_day_week_is_off_and_the_day_after_is_working() -> None:
    for day in range(1, 8):
        assert not CAL.is_working_day(date(2026, 10, day)), day
    assert CAL.is_working_day(date(2026, 10, 8))


def test_make_up_saturday_2026_10_10_is_a_working_day_with_monday_hours() -> None:
    assert date(2026, 10, 10).weekday() == 5
    assert CAL.is_working_day(date(2026, 10, 10))
    assert CAL.day(date(2026, 10, 10)).kind == "makeup"
    assert CAL.is_working_time(at(2026, 10, 10, 10))
    assert CAL.off_hours(at(2026, 10, 10, 8, 59))
    assert CAL.off_hours(at(2026, 10, 10, 18))


def test_an_ordinary_saturday_and_sunday_are_off() -> None:
    assert not CAL.is_working_day(date(2026, 3, 7))
    assert not CAL.is_working_day(date(2026, 3, 8))
    assert CAL.day(date(2026, 3, 7)).kind == "rest"
    assert CAL.off_hours(at(2026, 3, 7, 11))


def test_working_hours_include_the_start_minute_and_exclude_the_end_minute() -> None:
    monday = (2026, 3, 2)
    assert CAL.off_hours(at(*monday, 8, 59, 59))
    assert CAL.is_working_time(at(*monday, 9, 0))
    assert CAL.is_working_time(at(*monday, 17, 59, 59))
    assert CAL.off_hours(at(*monday, 18, 0))
    assert CAL.off_hours(at(*monday, 23, 59))


def test_a_utc_timestamp_is_judged_in_shanghai_time() -> None:
    ts = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Monday in Shanghai
    assert CAL.is_working_time(ts)
    assert not CAL.off_hours(ts)
    in_utc = BusinessCalendar(CalendarConfig(timezone=ZoneInfo("UTC")))
    assert in_utc.off_hours(ts)  # 02:00 in a UTC office


def test_a_utc_evening_can_be_the_next_shanghai_morning_across_the_date_line() -> None:
    # Sunday 2026-03-01 23:30 UTC is Monday 07:30 in Shanghai: before hours; 01:30 UTC is 09:30.
    assert CAL.off_hours(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    assert CAL.is_working_time(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))


@pytest.mark.parametrize("day", [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
                                 date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)])
def test_every_2026_make_up_day_from_the_state_council_notice_is_a_working_day(
        day: date) -> None:
    assert day.weekday() >= 5  # each is a weekend day
    assert CAL.is_working_day(day)
    assert CAL.day(day).kind == "makeup"


def test_2026_spring_festival_break_feb_15_to_23_is_off_and_feb_24_works() -> None:
    for n in range(15, 24):
        assert not CAL.is_working_day(date(2026, 2, n)), n
    for holiday in (16, 17, 18, 19, 20, 23):  # the weekdays among them are holidays
        assert CAL.day(date(2026, 2, holiday)).kind == "holiday"
    assert CAL.is_working_day(date(2026, 2, 24))


def test_the_calendar_agrees_with_the_package_for_every_day_it_has_official_data() -> None:
    package = holidays.country_holidays("CN", years=range(2001, 2027))
    day = date(2001, 1, 1)
    while day <= date(2026, 12, 31):
        assert CAL.is_working_day(day) == package.is_working_day(day), day
        day += timedelta(days=1)


# --- years the package does not cover yet -----------------------------------------------


def test_2026_is_covered_by_the_package_and_has_no_warning() -> None:
    assert CAL.coverage(2026) == "package"
    assert CAL.warning(2026) is None


def test_2027_falls_back_to_weekdays_but_keeps_the_package_holidays_and_says_so() -> None:
    cal = BusinessCalendar()
    assert cal.coverage(2027) == "weekday-fallback"
    assert not cal.is_working_day(date(2027, 1, 1))  # New Year's Day from the package
    assert not cal.is_working_day(date(2027, 10, 1))  # National Day
    assert cal.is_working_day(date(2027, 1, 4))  # an ordinary Monday
    assert not cal.is_working_day(date(2027, 2, 20))  # Saturday: no make-up day known
    warning = cal.warning(2027)
    assert warning is not None
    assert "2027" in warning and "calendar.workdays" in warning
    assert cal.warnings() == [warning]  # the years looked at so far


def test_2027_make_up_days_come_from_the_config_until_the_package_has_them() -> None:
    cal = BusinessCalendar(CalendarConfig(extra_workdays=frozenset({date(2027, 2, 20)})))
    assert cal.is_working_day(date(2027, 2, 20))
    assert cal.is_working_time(at(2027, 2, 20, 10))
    assert "(1 listed)" in (cal.warning(2027) or "")


def test_warnings_name_only_the_uncovered_years_asked_about() -> None:
    cal = BusinessCalendar()
    found = cal.warnings([2025, 2026, 2027, 2100])
    assert [w[:5] for w in found] == ["2027:", "2100:"]


@pytest.mark.parametrize("day", [date(1970, 1, 1), date(2027, 1, 1), date(2099, 12, 31),
                                 date(2100, 12, 31), date(1, 1, 1), date(9999, 12, 31)])
def test_edge_dates_answer_without_raising(day: date) -> None:
    cal = BusinessCalendar()
    assert isinstance(cal.is_working_day(day), bool)
    assert cal.coverage(day.year) in ("package", "weekday-fallback")


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 12, 30),
                    timezones=st.sampled_from([UTC, SHANGHAI, ZoneInfo("America/New_York")])))
def test_any_timestamp_1970_to_2100_answers_and_off_hours_is_its_negation(ts: datetime) -> None:
    assert CAL.off_hours(ts) is not CAL.is_working_time(ts)
    local = ts.astimezone(SHANGHAI)
    if CAL.is_working_time(ts):
        assert CAL.is_working_day(local.date())


def test_a_naive_timestamp_is_refused_rather_than_read_in_the_host_zone() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        CAL.is_working_time(datetime(2026, 3, 2, 10, 0))


# --- the firm's own settings -----------------------------------------------------------


def test_config_holidays_and_workdays_override_the_package_both_ways() -> None:
    cal = BusinessCalendar(CalendarConfig(
        extra_holidays=frozenset({date(2026, 10, 10), date(2026, 3, 3)}),
        extra_workdays=frozenset({date(2026, 10, 6)}),
    ))
    assert not cal.is_working_day(date(2026, 10, 10))  # package make-up day → firm's day off
    assert not cal.is_working_day(date(2026, 3, 3))  # ordinary Tuesday → firm's day off
    assert cal.day(date(2026, 3, 3)).name == "calendar.holidays"
    assert cal.is_working_day(date(2026, 10, 6))  # package holiday → the firm works
    assert cal.is_working_time(at(2026, 10, 6, 9))


def test_without_a_country_there_are_no_public_holidays_and_no_warnings() -> None:
    cal = BusinessCalendar(CalendarConfig(country=None))
    assert cal.is_working_day(date(2026, 10, 1))
    assert not cal.is_working_day(date(2026, 10, 10))  # no make-up days either
    assert cal.coverage(2026) == "weekday-fallback"
    assert cal.warnings([2026, 2027]) == []


def test_a_day_can_have_a_lunch_break_or_no_hours_and_make_up_days_use_their_own_span() -> None:
    lunch = (Span(9 * 60, 12 * 60), Span(13 * 60, 18 * 60))
    hours = (lunch, *((Span(9 * 60, 18 * 60),),) * 3, (), (Span(9 * 60, 12 * 60),), ())
    cal = BusinessCalendar(CalendarConfig(hours=hours, makeup_hours=(Span(10 * 60, 16 * 60),)))
    assert cal.off_hours(at(2026, 3, 2, 12, 30))  # Monday lunch
    assert cal.is_working_time(at(2026, 3, 2, 13))
    assert not cal.is_working_day(date(2026, 3, 6))  # Friday: none
    assert cal.is_working_time(at(2026, 3, 7, 11))  # Saturday morning
    assert cal.off_hours(at(2026, 3, 7, 12))
    assert cal.off_hours(at(2026, 10, 10, 9, 30))  # make-up Saturday starts at 10:00
    assert cal.is_working_time(at(2026, 10, 10, 15, 59))
    assert cal.off_hours(at(2026, 10, 10, 16))


def test_a_public_holiday_beats_the_firms_saturday_hours() -> None:
    hours = (*((Span(9 * 60, 18 * 60),),) * 6, ())
    cal = BusinessCalendar(CalendarConfig(hours=hours))
    assert cal.is_working_day(date(2026, 3, 7))
    assert not cal.is_working_day(date(2026, 10, 3))  # National Day on a Saturday


def test_building_a_config_with_inconsistent_values_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        CalendarConfig(extra_holidays=frozenset({date(2027, 1, 4)}),
                       extra_workdays=frozenset({date(2027, 1, 4)}))
    with pytest.raises(ValueError, match="unsupported"):
        CalendarConfig(country="US")
    with pytest.raises(ValueError, match="start before it ends"):
        CalendarConfig(makeup_hours=(Span(18 * 60, 9 * 60),))


# --- wallwatch.yaml -----------------------------------------------------------------


def test_no_calendar_section_gives_china_office_hours_in_the_configured_zone() -> None:
    cfg = parse_calendar_config(None, "w.yaml", ZoneInfo("Asia/Urumqi"))
    assert cfg == CalendarConfig(timezone=ZoneInfo("Asia/Urumqi"))
    assert cfg.country == "CN"
    assert [str(s) for s in cfg.hours[0]] == ["09:00-18:00"]
    assert cfg.hours[5] == cfg.hours[6] == ()


def test_a_full_calendar_section_is_read_into_typed_values() -> None:
    cfg = parse_calendar_config(section("""\
calendar:
  country: cn
  hours:
    mon: "08:30-17:30"
    tue: "09:00-12:00, 13:00-18:00"
    wed: ["09:00-12:00", "13:00-18:00"]
    fri: none
    sat: "09:00-12:00"
    sun:
  holidays: [2027-02-05, "2027-02-12"]
  workdays: [2027-02-20]
"""), "/etc/wallwatch.yaml")
    assert cfg.country == "CN"
    assert [str(s) for s in cfg.hours[0]] == ["08:30-17:30"]
    assert [str(s) for s in cfg.hours[1]] == ["09:00-12:00", "13:00-18:00"]
    assert cfg.hours[2] == cfg.hours[1]
    assert [str(s) for s in cfg.hours[3]] == ["09:00-18:00"]  # not given: default kept
    assert cfg.hours[4] == () and cfg.hours[6] == ()
    assert [str(s) for s in cfg.hours[5]] == ["09:00-12:00"]
    assert cfg.makeup_spans == cfg.hours[0]  # make-up days follow Monday unless set
    assert cfg.extra_holidays == {date(2027, 2, 5), date(2027, 2, 12)}
    assert cfg.extra_workdays == {date(2027, 2, 20)}
    cal = BusinessCalendar(cfg)
    assert cal.is_working_time(at(2027, 2, 20, 8, 30))
    assert not cal.is_working_day(date(2027, 2, 12))


def test_country_null_turns_public_holidays_off_and_makeup_hours_can_be_set() -> None:
    cfg = parse_calendar_config(section("""\
calendar:
  country: null
  hours: {makeup: "10:00-16:00"}
"""), "w.yaml")
    assert cfg.country is None
    assert [str(s) for s in cfg.makeup_spans] == ["10:00-16:00"]


def test_an_unknown_key_is_located_and_lists_the_allowed_ones() -> None:
    err = config_error("calendar:\n  country: CN\n  holiday: [2027-02-05]\n")
    assert (err.path, err.line, err.col) == ("/etc/wallwatch.yaml", 3, 3)
    assert "holiday" in err.message and err.hint and "holidays" in err.hint


def test_an_unknown_weekday_is_located() -> None:
    err = config_error('calendar:\n  hours:\n    monday: "09:00-18:00"\n')
    assert (err.line, err.col) == (3, 5)
    assert err.hint and "mon" in err.hint


def test_hour_25_is_a_located_error() -> None:
    err = config_error('calendar:\n  hours:\n    mon: "09:00-25:00"\n')
    assert "25:00" in err.message
    assert (err.line, err.col) == (3, 10)


def test_a_span_that_ends_before_it_starts_is_a_located_error_with_a_hint() -> None:
    err = config_error('calendar:\n  hours: {tue: "18:00-09:00"}\n')
    assert "ends before it starts" in err.message
    assert err.line == 2 and err.hint and "midnight" in err.hint


def test_overlapping_spans_are_refused() -> None:
    err = config_error('calendar:\n  hours: {tue: "09:00-13:00,12:00-18:00"}\n')
    assert "overlap" in err.message


def test_an_unquoted_time_that_yaml_reads_as_a_number_gets_a_quoting_hint() -> None:
    err = config_error("calendar:\n  hours: {mon: 9:00}\n")
    assert err.hint == "quote the times"


@pytest.mark.parametrize("bad", ['"2027-02-30"', '"2027-2-5"', "2027-02-05 10:00:00", "5",
                                 '"2027-W05-1"'])
def test_a_bad_date_is_located_at_its_list_item(bad: str) -> None:
    err = config_error(f"calendar:\n  holidays:\n    - 2027-02-05\n    - {bad}\n")
    assert "bad date" in err.message
    assert (err.line, err.col) == (4, 7)


def test_a_date_in_both_lists_is_a_located_error() -> None:
    err = config_error("calendar:\n  holidays: [2027-02-05]\n"
                       "  workdays: [2027-02-06, 2027-02-05]\n")
    assert "both" in err.message
    assert (err.line, err.col) == (3, 26)  # the second workday


def test_an_unsupported_country_is_refused_with_a_hint() -> None:
    err = config_error("calendar:\n  country: HK\n")
    assert "HK" in err.message and err.line == 2
    assert err.hint and "null" in err.hint


def test_a_calendar_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_calendar_config(["CN"], "w.yaml")  # type: ignore[arg-type]


def test_times_up_to_24_00_are_accepted_as_the_end_of_the_day() -> None:
    cfg = parse_calendar_config(section('calendar:\n  hours: {sun: "00:00-24:00"}\n'), "w.yaml")
    cal = BusinessCalendar(cfg)
    assert cal.is_working_time(at(2026, 3, 8, 23, 59, 59))
    assert cal.is_working_time(datetime.combine(date(2026, 3, 8), time(0), SHANGHAI))
