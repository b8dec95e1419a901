"""Cron schedules on a time zone's wall clock: checked, described, and turned into fire times.

Pure: no database, no broker, no clock of its own. Every instant in or out is aware UTC.

DST, as cron users expect it (Vixie cron's rules, made exact):

* An expression that names its hours (``30 2 * * *``, ``0 9-17 * * *``, ``*/15 2 * * *``)
  fires on the wall clock. A wall time that occurs twice (fall back) fires once, at its first
  occurrence. A wall time that does not exist (spring forward) fires at the next valid
  instant, the end of the gap: ``30 2 * * *`` in Europe/Berlin on 2026-03-29 fires at 03:00
  CEST. Wall times that all fall in one gap fire once there.
* An expression whose hour field covers every hour (``0 * * * *``, ``*/15 * * * *``) follows
  real elapsed time: it fires at every instant whose local wall time matches, so in both real
  passes of a repeated hour, and not for wall times skipped by a gap (the clock never shows
  them; the next match fires as usual).
"""

from __future__ import annotations

import calendar
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import takewhile
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options  # type: ignore[import-untyped]
from croniter import croniter

from taskhub.domain.errors import ValidationError

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIELDS = "minute hour day-of-month month day-of-week"
# spelled out in English: calendar's month names follow the process locale
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS = {name[:3].lower(): i for i, name in enumerate(MONTH_NAMES, start=1)}
WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

Placer = Callable[[datetime], datetime | None]  # a naive wall time to its UTC instant, if any


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_SPEC = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, MONTHS),
    _Field("day-of-week", 0, 7, WEEKDAYS),  # 0 and 7 are both Sunday
)


@dataclass(frozen=True)
class Cron:
    """A checked five-field expression and the one fact the DST rules need about it."""

    expr: str
    every_hour: bool  # the hour field covers 0-23: fires follow real elapsed time


def parse_cron(expr: str) -> str:
    """``expr`` as five space-separated fields (aliases spelled out); ``ValidationError``
    on ``"cron"`` saying exactly what is wrong. Vixie cron's syntax: numbers, month and
    weekday names, ``*``, ``a-b``, steps after ``*`` or a range, lists; no seconds, years,
    ``L``, ``W``, ``#``, ``?`` or ``H``. An expression that never fires is refused."""
    return _compile(expr).expr


def check_timezone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``"Europe/Berlin"``); ``ValidationError`` on ``"timezone"``."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("timezone", f"must be an IANA time zone name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "timezone", f"unknown time zone {name!r} (use an IANA name like 'Europe/Berlin')"
        ) from None


def describe(expr: str) -> str:
    """English for ``expr`` by cron-descriptor, 12-hour clock (``"At 02:30 AM"``), the same
    on every machine whatever its locale."""
    options = Options(locale_code="en_US", use_24hour_time_format=False)
    return str(ExpressionDescriptor(parse_cron(expr), options).get_description())


def next_fire(expr: str, tz: ZoneInfo | str, after: datetime) -> datetime:
    """The first fire time strictly after ``after`` (aware), in UTC."""
    return next(_fires(_compile(expr), _zone(tz), _utc(after, "after")))


def fire_times(
    expr: str, tz: ZoneInfo | str, after: datetime, until: datetime
) -> Iterator[datetime]:
    """The fire times in ``(after, until]``, oldest first, in UTC (arguments checked now,
    not at the first ``next``)."""
    end = _utc(until, "until")
    return takewhile(
        lambda fire: fire <= end, _fires(_compile(expr), _zone(tz), _utc(after, "after"))
    )


def _fires(cron: Cron, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Fire times after ``after``: the merge of two streams that each rise with the wall
    time, the first passes (gap ends for hour-naming expressions) and, for every-hour
    expressions, the second passes of repeated wall times."""
    local = after.astimezone(zone)
    wall = local.replace(tzinfo=None)
    if cron.every_hour:
        streams = [
            _instants(cron.expr, wall, lambda w: _pass(w, zone, 0)),
            _instants(cron.expr, wall - _repeat(local), lambda w: _pass(w, zone, 1)),
        ]
    else:
        streams = [_instants(cron.expr, wall, lambda w: _first(w, zone))]
    last = after
    for fire in heapq.merge(*streams):
        if fire > last:
            last = fire
            yield fire


def _instants(expr: str, start: datetime, place: Placer) -> Iterator[datetime]:
    """The UTC instants ``place`` gives the naive wall times ``expr`` matches after ``start``."""
    walls = croniter(expr, start, day_or=True)
    while True:
        instant = place(walls.get_next(datetime))
        if instant is not None:
            yield instant


def _first(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant the clock shows ``wall``, or the end of the gap that skips it."""
    return _pass(wall, zone, 0) or _gap_end(wall, zone)


def _pass(wall: datetime, zone: ZoneInfo, fold: int) -> datetime | None:
    """The instant of ``wall``'s first (``fold=0``) or last (``fold=1``) pass; ``None`` when
    the clock never shows it. Equal for a wall time that occurs once."""
    instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    return instant if instant.astimezone(zone).replace(tzinfo=None) == wall else None


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant a spring-forward gap containing ``wall`` ends (the clock jumps past it)."""
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the jump
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # after it
    offset = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return high


def _repeat(local: datetime) -> timedelta:
    """How far back the wall clock will jump while ``local`` is still ahead of that jump: the
    repeated span when ``local`` is a first pass, else nothing."""
    if local.fold:
        return timedelta(0)
    first, second = local.utcoffset(), local.replace(fold=1).utcoffset()
    assert first is not None and second is not None
    return max(first - second, timedelta(0))


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else check_timezone(tz)


def _utc(at: datetime, field: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError(field, f"must be timezone-aware, got {at.isoformat()}")
    return at.astimezone(UTC)


@lru_cache(maxsize=1024)
def _compile(expr: str) -> Cron:
    if not isinstance(expr, str) or not expr.strip():
        raise ValidationError("cron", f"is empty; expected five fields: {FIELDS}")
    text = expr.strip()
    if text.startswith("@"):
        text = _alias(text)
    fields = text.split()
    _check_count(len(fields))
    values = [_values(raw, spec) for raw, spec in zip(fields, _SPEC, strict=True)]
    _check_days(fields, values)
    return Cron(" ".join(fields), every_hour=values[1] == set(range(24)))


def _alias(text: str) -> str:
    if text.lower() == "@reboot":
        raise ValidationError("cron", "@reboot has no fire times; give a schedule")
    try:
        return ALIASES[text.lower()]
    except KeyError:
        known = ", ".join(ALIASES)
        raise ValidationError("cron", f"unknown alias {text!r}; use one of {known}") from None


def _check_count(count: int) -> None:
    if count == 5:
        return
    if count == 6:
        why = "a seconds or year field is not supported"
    elif count == 7:
        why = "seconds and year fields are not supported"
    else:
        why = "expected five"
    raise ValidationError("cron", f"has {count} fields; {why} ({FIELDS})")


def _values(raw: str, spec: _Field) -> set[int]:
    """The values ``raw`` names in ``spec``'s field (day-of-week 7 counted as 0)."""
    values: set[int] = set()
    for item in raw.split(","):
        values |= _item(item, spec, raw)
    if spec.name == "day-of-week" and 7 in values:
        values = (values - {7}) | {0}
    return values


def _item(item: str, spec: _Field, raw: str) -> set[int]:
    where = f"{spec.name} field {raw!r}"
    span, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _digits(step_text) or int(step_text) < 1:
            raise ValidationError(
                "cron", f"{where}: step {step_text!r} must be a whole number >= 1"
            )
        if span != "*" and "-" not in span:
            raise ValidationError(
                "cron", f"{where}: a step needs '*' or a range before it ('{span}-{spec.high}/N')"
            )
        step = int(step_text)
    if span == "*":
        low, high = spec.low, spec.high
    elif "-" in span:
        start, _, end = span.partition("-")
        low, high = _value(start, spec, where), _value(end, spec, where)
        if low > high:
            raise ValidationError("cron", f"{where}: range {span!r} runs backwards")
    else:
        low = high = _value(span, spec, where)
    return set(range(low, high + 1, step))


def _value(text: str, spec: _Field, where: str) -> int:
    if text.lower() in spec.names:
        return spec.names[text.lower()]
    if not _digits(text):
        raise ValidationError(
            "cron", f"{where}: {text!r} is not a number, a name, '*', a range or a step"
        )
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise ValidationError("cron", f"{where}: {value} is out of range {spec.low}-{spec.high}")
    return value


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes ``"²"``, which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _check_days(fields: list[str], values: list[set[int]]) -> None:
    """Refuse day fields that never match, or that crons read differently: with both day
    fields set a day matches either (all crons agree); Vixie cron reads ``*/2`` as set
    there, croniter does not, so such a mix is refused."""
    dom, dow = fields[2], fields[4]
    if dom != "*" and dow != "*" and (dom.startswith("*") or dow.startswith("*")):
        raise ValidationError(
            "cron",
            f"day-of-month {dom!r} with day-of-week {dow!r} means different things in "
            "different crons; spell the days out (a range like 1-31/2)",
        )
    if dow != "*":
        return
    longest = max(calendar.monthrange(2024, month)[1] for month in values[3])  # 2024: leap
    if min(values[2]) > longest:
        months = ", ".join(MONTH_NAMES[m - 1] for m in sorted(values[3]))
        raise ValidationError(
            "cron", f"never fires: day {min(values[2])} does not occur in {months}"
        )
