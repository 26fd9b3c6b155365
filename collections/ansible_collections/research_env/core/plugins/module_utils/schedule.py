# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EventBridge rule cron expressions: read, checked, and turned into the UTC minutes they fire in.

The idle-stop schedules (stop_schedule, start_schedule) become EventBridge rules, so preflight
checks them with EventBridge's rules rather than AWS's answer after the network exists, and the
cost report needs the hours they leave the hosts on.

cron(minutes hours day-of-month month day-of-week year), in UTC:

    minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or
    SUN-SAT (1 = SUN, 7 = SAT), year 1970-2199; each a list (,) of values, ranges (-), * and
    steps (/: 0/15, */10, 8-18/2); exactly one of day-of-month and day-of-week is ?.

EventBridge also takes L, W and # in the day fields (the last day, the nearest weekday, the n-th
weekday of the month). research-env refuses them: the cost estimate does not model them, and a
list of days says the same for a schedule of working hours. Stricter than EventBridge too: a
range must run forwards (22-2: write 22-23,0-2), a step is at most the field's span, and
day-of-week takes no / step (its EventBridge reference lists none). rate() is refused: the
settings are times of day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge's 1..7
# (name, lowest, highest, names for lowest.., what a value is)
FIELDS = (
    ("minutes", 0, 59, (), "0-59"),
    ("hours", 0, 23, (), "0-23"),
    ("day-of-month", 1, 31, (), "1-31"),
    ("month", 1, 12, MONTHS, "1-12 or JAN-DEC"),
    ("day-of-week", 1, 7, WEEKDAYS, "1-7 or SUN-SAT, 1 = SUN"),
    ("year", 1970, 2199, (), "1970-2199"),
)
CRON_RE = re.compile(r"cron\((.*)\)")
VALUE_RE = re.compile(r"[0-9]{1,4}|[A-Za-z]{3}")
# A value, *, or a range, then an optional step: 8, MON, *, 8-18, */5, 0/15, 8-18/2.
PART_RE = re.compile(r"(?P<first>[^-/]+)(-(?P<last>[^-/]+))?(/(?P<step>[^/]*))?")
# Hours in the month the cost report prices (AWS's 730: 8760 / 12).
MONTH_HOURS = 730
REFERENCE = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday, 00:00 UTC


@dataclass(frozen=True)
class Cron:
    """The values each field allows. days or weekdays is None for the field written ?."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    months: frozenset[int]
    weekdays: frozenset[int] | None  # EventBridge's numbers: 1 = Sunday .. 7 = Saturday
    years: frozenset[int]

    def day_matches(self, day: datetime) -> bool:
        return (
            day.year in self.years
            and day.month in self.months
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or eventbridge_weekday(day) in self.weekdays)
        )


def eventbridge_weekday(day: datetime) -> int:
    """Python counts Monday = 0 .. Sunday = 6; EventBridge Sunday = 1 .. Saturday = 7."""
    return (day.weekday() + 1) % 7 + 1


def parse_cron(expr: str) -> Cron:
    """The sets of an EventBridge cron expression; ValueError with the reason it is not one."""
    if not isinstance(expr, str):
        raise ValueError(f"{expr!r} is not a string")
    if expr.startswith("rate("):
        raise ValueError("rate() expressions are not accepted here, only cron(...) at times of day")
    match = CRON_RE.fullmatch(expr)
    if match is None:
        raise ValueError("it is not of the form cron(minutes hours day-of-month month day-of-week year)")
    inner = match.group(1)
    if inner != inner.strip(" ") or any(ch.isspace() and ch != " " for ch in inner):
        raise ValueError("the fields are separated by spaces, with none just inside the parentheses")
    fields = inner.split()
    if len(fields) != len(FIELDS):
        raise ValueError(
            f"it has {len(fields)} field(s); EventBridge needs 6: minutes hours day-of-month month day-of-week year"
        )
    sets = {spec[0]: _field(text, *spec) for text, spec in zip(fields, FIELDS, strict=True)}
    if (sets["day-of-month"] is None) == (sets["day-of-week"] is None):
        raise ValueError(
            "exactly one of day-of-month and day-of-week must be ?: e.g. cron(0 8 ? * MON-FRI *) or cron(0 8 * * ? *)"
        )
    return Cron(*sets.values())


def cron_error(expr: str) -> str | None:
    """None for an EventBridge cron expression research-env accepts; else why not, in a few words."""
    try:
        parse_cron(expr)
    except ValueError as e:
        return str(e)
    return None


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...], values: str) -> frozenset[int] | None:
    day_field = name in ("day-of-month", "day-of-week")
    if text == "?":
        if not day_field:
            raise ValueError(f"{name}: ? is allowed in day-of-month or day-of-week only")
        return None
    if day_field:
        plain = re.sub("|".join(WEEKDAYS), "", text.upper()) if names else text.upper()
        if any(ch in plain for ch in ("LW" if name == "day-of-month" else "L#")):
            example = "1,15" if name == "day-of-month" else "MON-FRI"
            raise ValueError(
                f"{name}: {text!r}: L, W and # are valid in EventBridge but research-env does not support them; "
                f"list the days instead, e.g. {example}"
            )
    result: set[int] = set()
    for part in text.split(","):
        result |= _part(part, name, low, high, names, values)
    return frozenset(result)


def _part(part: str, name: str, low: int, high: int, names: tuple[str, ...], values: str) -> set[int]:
    match = PART_RE.fullmatch(part)
    if match is None:
        raise ValueError(f"{name}: {part!r} is not a value ({values}), a range, * or a step")
    first, last, step_text = match.group("first", "last", "step")
    if first == "*":
        if last is not None:
            raise ValueError(f"{name}: {part} is not a range; write * or a range such as {low}-{high}")
        start, end = low, high
    else:
        start = _value(first, name, low, high, names, values)
        end = high if last is None and step_text is not None else start
        if last is not None:
            end = _value(last, name, low, high, names, values)
            if end < start:
                top, bottom = (names[-1], names[0]) if names and not first.isdigit() else (high, low)
                raise ValueError(f"{name}: the range {part} runs backwards; write it as {first}-{top},{bottom}-{last}")
    if step_text is None:
        return set(range(start, end + 1))
    if name == "day-of-week":
        raise ValueError(f"{name}: {part} has a / step, which day-of-week does not take; list the days, e.g. MON,WED")
    if not step_text.isdigit() or not 1 <= int(step_text) <= high - low:
        raise ValueError(f"{name}: the step in {part} is not a whole number from 1 to {high - low}")
    return set(range(start, end + 1, int(step_text)))


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...], values: str) -> int:
    if VALUE_RE.fullmatch(text):
        if text.isdigit() and low <= int(text) <= high:
            return int(text)
        if text.upper() in names:
            return low + names.index(text.upper())
    raise ValueError(f"{name}: {text!r} is not one of {values}")


def _as_cron(cron: Cron | str) -> Cron:
    return cron if isinstance(cron, Cron) else parse_cron(cron)


def _utc(when: datetime) -> datetime:
    """A naive time is UTC, as the rules' times are."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def fires(cron: Cron | str, when: datetime) -> bool:
    """Whether the rule fires in `when`'s minute (seconds ignored)."""
    cron, when = _as_cron(cron), _utc(when)
    return when.minute in cron.minutes and when.hour in cron.hours and cron.day_matches(when)


def fire_times(cron: Cron | str, start: datetime, end: datetime) -> Iterator[datetime]:
    """The UTC minutes (aware datetimes, seconds 0) the rule fires in, start <= t < end, in order.

    Goes day by day and, on the days that match, over the hours and minutes sets only: three months
    of a daily rule are 90 days looked at, not 130,000 minutes."""
    cron, start, end = _as_cron(cron), _utc(start), _utc(end)
    hours, minutes = sorted(cron.hours), sorted(cron.minutes)
    day = datetime.combine(start.date(), time(), tzinfo=UTC)
    while day < end:
        if cron.day_matches(day):
            for hour in hours:
                for minute in minutes:
                    at = day.replace(hour=hour, minute=minute)
                    if at >= end:
                        return
                    if at >= start:
                        yield at
        day += timedelta(days=1)


def hours_on_per_month(stop: str, start: str, *, weeks: int = 52, reference: datetime = REFERENCE) -> float:
    """The hours a month the hosts run under the schedules: on over `weeks` from `reference`,
    scaled to a 730-hour month. "" is no rule. A whole year by default, so that a schedule limited to
    some months (`cron(0 20 * 6-8 ? *)`: summer evenings) is averaged over the year it saves in.

    With a start schedule the figure is the schedules' steady state: the hosts are on at
    `reference - weeks` and the rules run from then, so the state at `reference` is the one the
    last firing before it left (a deploy's first hours before the first stop do not recur, and are
    not counted). Without one nothing starts the hosts again but a person: they are on from
    `reference` (deployed or started by hand) until the first stop, and off from then on. The
    cost report passes an assumed start schedule (cost_assumed_start) for that case.

    Both rules firing in the same minute leave the hosts on (start wins). On AWS the two SSM
    Automations race; the one that changes the state mostly wins (a start on a running host does
    nothing, and so does a stop on a stopped one). An estimate of cost takes the dearer outcome:
    it never promises a saving a race may not deliver.
    """
    if weeks < 1:
        raise ValueError(f"weeks: {weeks} is not 1 or more")
    reference = _utc(reference)
    end = reference + timedelta(weeks=weeks)
    if not stop:
        return float(MONTH_HOURS)
    stop_cron = parse_cron(stop)
    start_cron = parse_cron(start) if start else None
    begin = reference - timedelta(weeks=weeks) if start_cron else reference
    events = [(t, 0) for t in fire_times(stop_cron, begin, end)]
    if start_cron:
        events += [(t, 1) for t in fire_times(start_cron, begin, end)]
    # Within one minute the start (1) comes after the stop (0), so it is the state left: start wins.
    events.sort()
    on, since, seconds = True, begin, 0.0
    for at, is_start in events:
        if on:
            seconds += _overlap(since, at, reference, end)
        on, since = bool(is_start), at
    if on:
        seconds += _overlap(since, end, reference, end)
    return seconds / 3600 / (weeks * 168) * MONTH_HOURS


def _overlap(a: datetime, b: datetime, low: datetime, high: datetime) -> float:
    """Seconds of [a, b) within [low, high)."""
    return max(0.0, (min(b, high) - max(a, low)).total_seconds())
