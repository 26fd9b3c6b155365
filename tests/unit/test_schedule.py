"""EventBridge rule cron expressions (module_utils/schedule.py): which are accepted, when they fire, and the
hours a month the idle-stop schedules leave the hosts on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from ansible_collections.research_env.core.plugins.module_utils.schedule import (
    REFERENCE,
    cron_error,
    fire_times,
    fires,
    hours_on_per_month,
    parse_cron,
)

# 2027-01-03 is a Sunday, 2027-01-04 a Monday (the reference).
SUNDAY = datetime(2027, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "expr",
    [
        "cron(0 20 * * ? *)",
        "cron(0 8 ? * MON-FRI *)",
        "cron(0 8 ? * mon-fri *)",  # names in any case
        "cron(0 8 ? * 2-6 *)",
        "cron(0/15 * * * ? *)",
        "cron(*/10 8-18 ? * MON,WED,FRI *)",
        "cron(0 8-18/2 * * ? *)",
        "cron(30 7 1,15 * ? *)",
        "cron(0 0 1 JAN,jul ? *)",
        "cron(0 0 1 1/3 ? *)",
        "cron(0 9 ? JAN-MAR SUN 2027)",
        "cron(0 9 * * ? 2027-2030)",
        "cron(0 9 * * ? 1970,2199)",
        "cron(0  9 * * ? *)",  # white space between the fields
        "cron(59 23 31 12 ? 2199)",
    ],
)
def test_valid_expressions(expr):
    assert cron_error(expr) is None


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("rate(5 minutes)", "rate() expressions are not accepted"),
        ("0 20 * * ? *", "not of the form cron("),
        ("cron(0 20 * * ? *) ", "not of the form cron("),
        ("CRON(0 20 * * ? *)", "not of the form cron("),
        ("cron( 0 20 * * ? *)", "separated by spaces"),
        ("cron(0\t20 * * ? *)", "separated by spaces"),
        ("cron(0 20 * * ?)", "it has 5 field(s); EventBridge needs 6"),
        ("cron(0 0 20 * * ? *)", "it has 7 field(s)"),
        ("", "not of the form"),
        (None, "None is not a string"),
        # One of the day fields is ?, the other not.
        ("cron(0 8 * * MON *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 8 * * * *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 8 ? * ? *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 ? * * ? *)", "hours: ? is allowed in day-of-month or day-of-week only"),
        # Ranges of each field.
        ("cron(60 8 * * ? *)", "minutes: '60' is not one of 0-59"),
        ("cron(0 24 * * ? *)", "hours: '24' is not one of 0-23"),
        ("cron(0 8 0 * ? *)", "day-of-month: '0' is not one of 1-31"),
        ("cron(0 8 32 * ? *)", "day-of-month: '32' is not one of 1-31"),
        ("cron(0 8 * 13 ? *)", "month: '13' is not one of 1-12 or JAN-DEC"),
        ("cron(0 8 * JANUARY ? *)", "month: 'JANUARY' is not one of"),
        ("cron(0 8 ? * 0 *)", "day-of-week: '0' is not one of 1-7 or SUN-SAT, 1 = SUN"),
        ("cron(0 8 ? * 8 *)", "day-of-week: '8' is not one of"),
        ("cron(0 8 ? * MONDAY *)", "day-of-week: 'MONDAY' is not one of"),
        ("cron(0 8 * * ? 1969)", "year: '1969' is not one of 1970-2199"),
        ("cron(0 8 * * ? 2200)", "year: '2200' is not one of 1970-2199"),
        ("cron(0 8 * * ? 27)", "year: '27' is not one of 1970-2199"),
        ("cron(-1 8 * * ? *)", "minutes: '-1' is not a value"),
        ("cron(0,,5 8 * * ? *)", "minutes: '' is not a value"),
        ("cron(1-2-3 8 * * ? *)", "minutes: '1-2-3' is not a value"),
        ("cron(x 8 * * ? *)", "minutes: 'x' is not one of 0-59"),
        # Ranges run forwards, steps fit the field, * stands alone.
        ("cron(0 22-2 * * ? *)", "hours: the range 22-2 runs backwards; write it as 22-23,0-2"),
        ("cron(0 8 ? * FRI-MON *)", "write it as FRI-SAT,SUN-MON"),
        ("cron(*/60 * * * ? *)", "minutes: the step in */60 is not a whole number from 1 to 59"),
        ("cron(0/0 * * * ? *)", "minutes: the step in 0/0"),
        ("cron(0/ * * * ? *)", "minutes: the step in 0/"),
        ("cron(0 8 ? * MON/2 *)", "day-of-week: MON/2 has a / step, which day-of-week does not take"),
        ("cron(*-5 8 * * ? *)", "minutes: *-5 is not a range"),
        # L, W and #: EventBridge's, not research-env's.
        ("cron(0 8 L * ? *)", "day-of-month: 'L': L, W and # are valid in EventBridge but research-env does not"),
        ("cron(0 8 15W * ? *)", "day-of-month: '15W': L, W and # are valid in EventBridge"),
        ("cron(0 8 LW * ? *)", "list the days instead, e.g. 1,15"),
        ("cron(0 8 ? * 6L *)", "day-of-week: '6L': L, W and # are valid in EventBridge"),
        ("cron(0 8 ? * 3#2 *)", "list the days instead, e.g. MON-FRI"),
        ("cron(0 8 ? * L *)", "day-of-week: 'L'"),
    ],
)
def test_invalid_expressions_say_why(expr, reason):
    error = cron_error(expr)
    assert error is not None and reason in error, error
    with pytest.raises(ValueError) as raised:
        parse_cron(expr)
    assert str(raised.value) == error


def test_wed_is_a_name_not_a_w():
    assert parse_cron("cron(0 8 ? * WED *)").weekdays == {4}


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("SUN", {1}),
        ("1", {1}),
        ("MON", {2}),
        ("SAT", {7}),
        ("7", {7}),
        ("MON-FRI", {2, 3, 4, 5, 6}),
        ("2-6", {2, 3, 4, 5, 6}),
        ("sat,SUN", {1, 7}),
        ("*", {1, 2, 3, 4, 5, 6, 7}),
    ],
)
def test_day_of_week_counts_sunday_as_1(field, expected):
    assert parse_cron(f"cron(0 8 ? * {field} *)").weekdays == expected


@pytest.mark.parametrize(
    ("expr", "attribute", "expected"),
    [
        ("cron(0/15 * * * ? *)", "minutes", {0, 15, 30, 45}),
        ("cron(5/20 * * * ? *)", "minutes", {5, 25, 45}),
        ("cron(*/20 * * * ? *)", "minutes", {0, 20, 40}),
        ("cron(10-20/5 * * * ? *)", "minutes", {10, 15, 20}),
        ("cron(1,2,10-12 * * * ? *)", "minutes", {1, 2, 10, 11, 12}),
        ("cron(0 8-18/4 * * ? *)", "hours", {8, 12, 16}),
        ("cron(0 8 1-31/10 * ? *)", "days", {1, 11, 21, 31}),
        ("cron(0 8 * JAN,MAR-apr ? *)", "months", {1, 3, 4}),
        ("cron(0 8 * FEB/6 ? *)", "months", {2, 8}),
        ("cron(0 8 * * ? 2027)", "years", {2027}),
        ("cron(0 8 * * ? 2027-2029,2031)", "years", {2027, 2028, 2029, 2031}),
        ("cron(0 8 * * ? 2190/5)", "years", {2190, 2195}),
        ("cron(0 8 * * ? *)", "weekdays", None),
        ("cron(0 8 ? * MON *)", "days", None),
    ],
)
def test_ranges_lists_steps_and_names(expr, attribute, expected):
    assert getattr(parse_cron(expr), attribute) == expected


@pytest.mark.parametrize(
    ("expr", "when", "expected"),
    [
        ("cron(0 20 * * ? *)", datetime(2027, 1, 4, 20, 0), True),  # naive: UTC
        ("cron(0 20 * * ? *)", datetime(2027, 1, 4, 20, 0, 59, tzinfo=UTC), True),  # minute precision
        ("cron(0 20 * * ? *)", datetime(2027, 1, 4, 20, 1, tzinfo=UTC), False),
        ("cron(0 20 * * ? *)", datetime(2027, 1, 4, 21, 0, tzinfo=timezone(timedelta(hours=1))), True),
        ("cron(0 8 ? * MON-FRI *)", datetime(2027, 1, 4, 8, 0, tzinfo=UTC), True),  # a Monday
        ("cron(0 8 ? * MON-FRI *)", datetime(2027, 1, 8, 8, 0, tzinfo=UTC), True),  # a Friday
        ("cron(0 8 ? * MON-FRI *)", datetime(2027, 1, 9, 8, 0, tzinfo=UTC), False),  # a Saturday
        ("cron(0 8 ? * 1 *)", SUNDAY.replace(hour=8), True),
        ("cron(0 8 ? * 1 *)", datetime(2027, 1, 4, 8, 0, tzinfo=UTC), False),
        ("cron(0 8 ? * 7 *)", datetime(2027, 1, 9, 8, 0, tzinfo=UTC), True),
        ("cron(0 8 31 * ? *)", datetime(2027, 1, 31, 8, 0, tzinfo=UTC), True),
        ("cron(0 8 15 FEB ? *)", datetime(2027, 2, 15, 8, 0, tzinfo=UTC), True),
        ("cron(0 8 15 FEB ? *)", datetime(2027, 3, 15, 8, 0, tzinfo=UTC), False),
        ("cron(0 8 * * ? 2028)", datetime(2027, 3, 15, 8, 0, tzinfo=UTC), False),
        ("cron(0 8 * * ? 2028)", datetime(2028, 3, 15, 8, 0, tzinfo=UTC), True),
        ("cron(0/15 * * * ? *)", datetime(2027, 3, 15, 13, 45, tzinfo=UTC), True),
        ("cron(0/15 * * * ? *)", datetime(2027, 3, 15, 13, 46, tzinfo=UTC), False),
    ],
)
def test_fires(expr, when, expected):
    assert fires(expr, when) is expected
    assert fires(parse_cron(expr), when) is expected


def test_fire_times_are_the_minutes_in_the_half_open_window():
    start = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    times = list(fire_times("cron(0 8 ? * MON-FRI *)", start, start + timedelta(weeks=1)))
    assert times == [start + timedelta(days=n) for n in range(5)]
    # The end is not included; a start past the minute leaves it out.
    assert list(fire_times("cron(0 8 * * ? *)", start, start)) == []
    assert list(fire_times("cron(0 8 * * ? *)", start + timedelta(seconds=1), start + timedelta(days=1))) == []
    # A naive window is UTC; February has no 31st.
    feb = list(fire_times("cron(0 0 31 * ? *)", datetime(2027, 2, 1), datetime(2027, 4, 1)))
    assert feb == [datetime(2027, 3, 31, tzinfo=UTC)]


def test_fire_times_of_every_minute():
    start = datetime(2027, 1, 4, 23, 58, tzinfo=UTC)
    assert len(list(fire_times("cron(* * * * ? *)", start, start + timedelta(minutes=5)))) == 5


def test_fire_times_agree_with_fires():
    start = datetime(2027, 1, 1, tzinfo=UTC)
    expr = "cron(10,40 6-9 ? JAN,FEB TUE,SAT *)"
    expected = [start + timedelta(minutes=m) for m in range(60 * 24 * 60) if fires(expr, start + timedelta(minutes=m))]
    assert list(fire_times(expr, start, start + timedelta(days=60))) == expected


def test_the_reference_is_a_monday_at_midnight_utc():
    assert (REFERENCE.year, REFERENCE.month, REFERENCE.day, REFERENCE.hour) == (2027, 1, 4, 0)
    assert REFERENCE.weekday() == 0 and REFERENCE.utcoffset() == timedelta(0)


WEEK = 168


@pytest.mark.parametrize(
    ("stop", "start", "hours_a_week"),
    [
        # On 08:00-20:00 Monday to Friday; off from Friday 20:00 to Monday 08:00.
        ("cron(0 20 * * ? *)", "cron(0 8 ? * MON-FRI *)", 5 * 12),
        # The same with both schedules on weekdays only.
        ("cron(0 20 ? * MON-FRI *)", "cron(0 8 ? * MON-FRI *)", 5 * 12),
        # Every day 08:00-20:00.
        ("cron(0 20 * * ? *)", "cron(0 8 * * ? *)", 7 * 12),
        # Off for the weekend only: Friday 18:00 to Monday 06:00 (60 hours).
        ("cron(0 18 ? * FRI *)", "cron(0 6 ? * MON *)", WEEK - 60),
        # On 07:15-19:30 every day: 12.25 hours a day.
        ("cron(30 19 * * ? *)", "cron(15 7 * * ? *)", 7 * 12.25),
        # The same with the numbers of the days: stop Monday-Friday (2-6), start Monday-Friday.
        ("cron(0 17 ? * 2-6 *)", "cron(0 9 ? * 2-6 *)", 5 * 8),
        # No stop: always on, whatever starts them.
        ("", "cron(0 8 * * ? *)", WEEK),
        ("", "", WEEK),
        # A stop that never fires in the window (2026 only): always on.
        ("cron(0 20 * * ? 2026)", "cron(0 8 * * ? *)", WEEK),
        # Both in the same minute: start wins (the dearer outcome), so the hosts stay on.
        ("cron(0 20 * * ? *)", "cron(0 20 * * ? *)", WEEK),
        # Stop every minute, start at :30: on one minute an hour.
        ("cron(* * * * ? *)", "cron(30 * * * ? *)", WEEK / 60),
    ],
)
def test_hours_on_per_month_against_hand_computed_figures(stop, start, hours_a_week):
    assert hours_on_per_month(stop, start) == pytest.approx(hours_a_week / WEEK * 730)


def test_the_working_week_figure():
    assert hours_on_per_month("cron(0 20 * * ? *)", "cron(0 8 ? * MON-FRI *)") == pytest.approx(260.714, abs=1e-3)


@pytest.mark.parametrize(
    ("stop", "hours_on"),
    [
        # Without a start schedule the hosts are on from the reference (Monday 00:00) to the first stop.
        ("cron(0 20 * * ? *)", 20),
        ("cron(0 18 ? * FRI *)", 4 * 24 + 18),
        ("cron(0 0 * * ? *)", 0),  # stopped at the reference itself
        ("cron(0 8 * * ? 2026)", 52 * WEEK),  # never fires in the window: on throughout
    ],
)
def test_a_stop_without_a_start_is_on_until_the_first_stop(stop, hours_on):
    assert hours_on_per_month(stop, "") == pytest.approx(hours_on / (52 * WEEK) * 730)


def test_the_window_and_the_reference_can_be_chosen():
    # Two weeks from a Saturday: the weekday schedule is on 2 * 60 hours of the 336.
    saturday = datetime(2027, 1, 9, tzinfo=UTC)
    figure = hours_on_per_month("cron(0 20 * * ? *)", "cron(0 8 ? * MON-FRI *)", weeks=2, reference=saturday)
    assert figure == pytest.approx(120 / 336 * 730)
    # Without a start: on from Saturday 00:00 to 20:00.
    assert hours_on_per_month("cron(0 20 * * ? *)", "", weeks=1, reference=saturday) == pytest.approx(20 / 168 * 730)


@pytest.mark.parametrize(("stop", "start"), [("cron(0 20 * * MON *)", ""), ("cron(0 20 * * ? *)", "rate(1 day)")])
def test_hours_on_per_month_refuses_what_is_not_a_schedule(stop, start):
    with pytest.raises(ValueError, match=r"exactly one of|rate\(\)"):
        hours_on_per_month(stop, start)


def test_hours_on_per_month_is_quick_on_a_schedule_of_every_minute():
    # A year of a rule that fires every minute (524,160 firings) is counted without trouble.
    assert hours_on_per_month("cron(* * * * ? *)", "cron(* * * * ? *)") == pytest.approx(730)


def test_a_schedule_of_some_months_is_averaged_over_the_year():
    # Started every morning, stopped at 20:00 only in June, July and August (2027: 92 days): off 12 hours on
    # each of those nights, on the rest of the year. A quarter from January would have seen no saving at all.
    figure = hours_on_per_month("cron(0 20 * 6-8 ? *)", "cron(0 8 * * ? *)")
    assert figure == pytest.approx((52 * WEEK - 92 * 12) / (52 * WEEK) * 730)
