"""Database-backed cron schedules, the pure rules: cron checking, descriptions, fire times on
a zone's wall clock across both DST changes, missed runs, overlap, the audit trail, options.

Every clock here is fixed; instants are written in UTC with the local wall time beside them.
"""

from __future__ import annotations

import json
import locale
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from taskhub.domain.errors import ValidationError
from taskhub.domain.schedule_policies import (
    NOT_ON_TIME,
    OLDER_THAN_WINDOW,
    ONLY_LATEST,
    OVER_CAP,
    Decision,
    FiringDecision,
    MissedPolicy,
    OverlapAction,
    OverlapDecision,
    OverlapPolicy,
    ScheduleOptions,
    Skipped,
    append_trail,
    due_firings,
    on_overlap,
)
from taskhub.domain.schedules import (
    check_timezone,
    describe,
    fire_times,
    next_fire,
    parse_cron,
)

BERLIN = "Europe/Berlin"  # 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET
NEW_YORK = (
    "America/New_York"  # 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def refused(call: Callable[[], object]) -> str:
    """The ``field: message`` of the ValidationError ``call`` raises."""
    with pytest.raises(ValidationError) as caught:
        call()
    return str(caught.value)


def fires(expr: str, tz: str, after: datetime, until: datetime) -> list[str]:
    """Fire times as "UTC = local wall (zone abbreviation)", to read against the calendar."""
    zone = ZoneInfo(tz)
    return [
        f"{f:%m-%d %H:%M}Z = {f.astimezone(zone):%H:%M %Z}"
        for f in fire_times(expr, tz, after, until)
    ]


def refusal(expr: str) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_cron(expr)
    assert caught.value.field == "cron"
    return caught.value.message


# --- cron expressions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "fields"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_an_alias_is_stored_as_its_five_fields(alias: str, fields: str) -> None:
    assert parse_cron(alias) == fields


def test_a_cron_is_stored_with_single_spaces_and_its_names_as_written() -> None:
    assert parse_cron("  30  2 *\t* mon-fri ") == "30 2 * * mon-fri"
    assert parse_cron("0 0 * JAN-MAR 7") == "0 0 * JAN-MAR 7"


def test_seconds_and_year_fields_are_refused_saying_so() -> None:
    fields = "(minute hour day-of-month month day-of-week)"
    assert (
        refusal("0 30 2 * * *")
        == f"has 6 fields; a seconds or year field is not supported {fields}"
    )
    assert refusal("0 30 2 * * * 2026") == (
        f"has 7 fields; seconds and year fields are not supported {fields}"
    )
    assert refusal("30 2 *") == f"has 3 fields; expected five {fields}"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "is empty; expected five fields: minute hour day-of-month month day-of-week"),
        ("61 * * * *", "minute field '61': 61 is out of range 0-59"),
        ("0 24 * * *", "hour field '24': 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field '0': 0 is out of range 1-31"),
        ("0 0 * 13 *", "month field '13': 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week field '8': 8 is out of range 0-7"),
        ("0 0 5-2 * *", "day-of-month field '5-2': range '5-2' runs backwards"),
        ("*/0 * * * *", "minute field '*/0': step '0' must be a whole number >= 1"),
        ("5/15 * * * *", "minute field '5/15': a step needs '*' or a range before it ('5-59/N')"),
        (
            "0 0 L * *",
            "day-of-month field 'L': 'L' is not a number, a name, '*', a range or a step",
        ),
        (
            "0 0 * * 5#3",
            "day-of-week field '5#3': '5#3' is not a number, a name, '*', a range or a step",
        ),
        ("H * * * *", "minute field 'H': 'H' is not a number, a name, '*', a range or a step"),
        ("² * * * *", "minute field '²': '²' is not a number, a name, '*', a range or a step"),
        ("*/² * * * *", "minute field '*/²': step '²' must be a whole number >= 1"),
        (
            "0 0 * * funday",
            "day-of-week field 'funday': 'funday' is not a number, a name, '*', a range or a step",
        ),
        ("@reboot", "@reboot has no fire times; give a schedule"),
        (
            "@often",
            "unknown alias '@often'; use one of @yearly, @annually, @monthly, @weekly, @daily,"
            " @midnight, @hourly",
        ),
    ],
)
def test_a_bad_cron_is_refused_naming_the_field_and_the_fault(expr: str, message: str) -> None:
    assert refusal(expr) == message


def test_a_cron_that_can_never_fire_is_refused() -> None:
    assert refusal("0 0 30 2 *") == "never fires: day 30 does not occur in February"
    assert refusal("0 0 31 4,6,9,11 *") == (
        "never fires: day 31 does not occur in April, June, September, November"
    )
    assert parse_cron("0 0 29 2 *") == "0 0 29 2 *"  # leap years have it


def test_a_day_of_month_step_beside_a_weekday_is_refused_as_ambiguous_between_crons() -> None:
    assert refusal("0 0 */2 * 1") == (
        "day-of-month '*/2' with day-of-week '1' means different things in different crons;"
        " spell the days out (a range like 1-31/2)"
    )
    assert parse_cron("0 0 1-31/2 * 1") == "0 0 1-31/2 * 1"


def test_a_time_zone_is_an_iana_name() -> None:
    assert check_timezone(BERLIN) == ZoneInfo(BERLIN)
    with pytest.raises(ValidationError) as caught:
        check_timezone("Mars/Olympus_Mons")
    assert (caught.value.field, caught.value.message) == (
        "timezone",
        "unknown time zone 'Mars/Olympus_Mons' (use an IANA name like 'Europe/Berlin')",
    )
    assert refused(lambda: check_timezone("")) == (
        "timezone: must be an IANA time zone name, got ''"
    )


# --- descriptions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("30 2 * * *", "At 02:30 AM"),
        ("@daily", "At 12:00 AM"),
        ("0 * * * *", "Every hour"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("0 9 * * mon-fri", "At 09:00 AM, Monday through Friday"),
        ("0 0 1 1 *", "At 12:00 AM, on day 1 of the month, only in January"),
    ],
)
def test_a_schedule_is_described_in_english(expr: str, text: str) -> None:
    assert describe(expr) == text


def test_the_description_does_not_follow_the_machines_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(locale, "getlocale", lambda *_: ("de_DE", "UTF-8"))
    assert describe("30 14 * * *") == "At 02:30 PM"


def test_describing_a_bad_cron_raises_the_cron_error() -> None:
    assert refused(lambda: describe("61 * * * *")) == (
        "cron: minute field '61': 61 is out of range 0-59"
    )


# --- fire times: spring forward -----------------------------------------------------------


def test_daily_at_0230_fires_at_0300_on_the_spring_forward_day_in_berlin() -> None:
    assert fires("30 2 * * *", BERLIN, utc(2026, 3, 27, 12), utc(2026, 3, 30, 12)) == [
        "03-28 01:30Z = 02:30 CET",
        "03-29 01:00Z = 03:00 CEST",
        "03-30 00:30Z = 02:30 CEST",
    ]


def test_daily_at_0230_fires_at_0300_on_the_spring_forward_day_in_new_york() -> None:
    assert fires("30 2 * * *", NEW_YORK, utc(2026, 3, 7, 12), utc(2026, 3, 9, 12)) == [
        "03-08 07:00Z = 03:00 EDT",
        "03-09 06:30Z = 02:30 EDT",
    ]


def test_hourly_skips_the_missing_hour_without_firing_twice_in_berlin() -> None:
    assert fires("0 * * * *", BERLIN, utc(2026, 3, 28, 23, 30), utc(2026, 3, 29, 2)) == [
        "03-29 00:00Z = 01:00 CET",
        "03-29 01:00Z = 03:00 CEST",
        "03-29 02:00Z = 04:00 CEST",
    ]


def test_hourly_at_half_past_keeps_one_real_hour_apart_across_the_gap() -> None:
    # 02:30 never shows on the clock; an every-hour cron follows elapsed time, so no 03:00 run
    assert fires("30 * * * *", NEW_YORK, utc(2026, 3, 8, 6), utc(2026, 3, 8, 8)) == [
        "03-08 06:30Z = 01:30 EST",
        "03-08 07:30Z = 03:30 EDT",
    ]


def test_every_15_minutes_goes_from_0145_to_0300_on_the_spring_forward_day() -> None:
    assert fires("*/15 * * * *", BERLIN, utc(2026, 3, 29, 0, 20), utc(2026, 3, 29, 1, 30)) == [
        "03-29 00:30Z = 01:30 CET",
        "03-29 00:45Z = 01:45 CET",
        "03-29 01:00Z = 03:00 CEST",
        "03-29 01:15Z = 03:15 CEST",
        "03-29 01:30Z = 03:30 CEST",
    ]


def test_every_15_minutes_within_the_missing_hour_fires_once_when_the_gap_ends() -> None:
    assert fires("*/15 2 * * *", BERLIN, utc(2026, 3, 28, 23), utc(2026, 3, 29, 23)) == [
        "03-29 01:00Z = 03:00 CEST",
    ]


# --- fire times: fall back ----------------------------------------------------------------


def test_daily_at_0230_fires_once_on_the_fall_back_day_in_berlin() -> None:
    assert fires("30 2 * * *", BERLIN, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)) == [
        "10-25 00:30Z = 02:30 CEST",  # the first 02:30; the second (01:30Z, CET) does not fire
        "10-26 01:30Z = 02:30 CET",
    ]


def test_daily_at_0130_fires_once_at_the_first_0130_on_the_fall_back_day_in_new_york() -> None:
    assert fires("30 1 * * *", NEW_YORK, utc(2026, 10, 31, 12), utc(2026, 11, 2, 12)) == [
        "11-01 05:30Z = 01:30 EDT",
        "11-02 06:30Z = 01:30 EST",
    ]


def test_daily_at_0230_is_untouched_by_new_yorks_fall_back_at_0200() -> None:
    assert fires("30 2 * * *", NEW_YORK, utc(2026, 10, 31, 12), utc(2026, 11, 1, 12)) == [
        "11-01 07:30Z = 02:30 EST",
    ]


def test_hourly_fires_in_both_real_hours_of_the_repeated_hour_in_berlin() -> None:
    assert fires("0 * * * *", BERLIN, utc(2026, 10, 24, 22, 30), utc(2026, 10, 25, 2)) == [
        "10-24 23:00Z = 01:00 CEST",
        "10-25 00:00Z = 02:00 CEST",
        "10-25 01:00Z = 02:00 CET",
        "10-25 02:00Z = 03:00 CET",
    ]


def test_every_15_minutes_fires_through_both_passes_of_the_repeated_hour_in_new_york() -> None:
    assert fires("*/15 * * * *", NEW_YORK, utc(2026, 11, 1, 5, 20), utc(2026, 11, 1, 7)) == [
        "11-01 05:30Z = 01:30 EDT",
        "11-01 05:45Z = 01:45 EDT",
        "11-01 06:00Z = 01:00 EST",
        "11-01 06:15Z = 01:15 EST",
        "11-01 06:30Z = 01:30 EST",
        "11-01 06:45Z = 01:45 EST",
        "11-01 07:00Z = 02:00 EST",
    ]


def test_every_30_minutes_naming_the_repeated_hour_fires_only_in_its_first_pass() -> None:
    assert fires("*/30 2 * * *", BERLIN, utc(2026, 10, 24, 23), utc(2026, 10, 25, 23)) == [
        "10-25 00:00Z = 02:00 CEST",
        "10-25 00:30Z = 02:30 CEST",
    ]


def test_the_next_quarter_hour_from_late_in_the_first_pass_is_the_second_pass_start() -> None:
    assert next_fire("*/15 * * * *", BERLIN, utc(2026, 10, 25, 0, 50)) == utc(2026, 10, 25, 1)
    assert next_fire("*/15 * * * *", BERLIN, utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 25, 1, 15)


def test_after_the_first_0230_on_the_fall_back_day_the_next_run_is_the_next_day() -> None:
    assert next_fire("30 2 * * *", BERLIN, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)


# --- fire times: bounds and inputs --------------------------------------------------------


def test_the_next_fire_is_strictly_after_the_given_instant() -> None:
    assert next_fire("0 2 * * *", "UTC", utc(2026, 5, 1, 2)) == utc(2026, 5, 2, 2)
    assert next_fire("0 2 * * *", "UTC", utc(2026, 5, 1, 1, 59, 59)) == utc(2026, 5, 1, 2)


def test_fire_times_run_from_after_exclusive_to_until_inclusive() -> None:
    assert list(fire_times("0 */6 * * *", "UTC", utc(2026, 5, 1, 0), utc(2026, 5, 1, 12))) == [
        utc(2026, 5, 1, 6),
        utc(2026, 5, 1, 12),
    ]


def test_a_zone_object_or_its_name_give_the_same_fire_time() -> None:
    after = datetime(2026, 7, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo"))  # 00:00Z
    assert next_fire("30 9 * * *", ZoneInfo("Asia/Tokyo"), after) == utc(2026, 7, 1, 0, 30)
    assert next_fire("30 9 * * *", "Asia/Tokyo", after) == utc(2026, 7, 1, 0, 30)


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        (BERLIN, datetime(2026, 3, 29, tzinfo=UTC)),
        (BERLIN, datetime(2026, 10, 25, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 3, 8, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 11, 1, tzinfo=UTC)),
        ("Australia/Lord_Howe", datetime(2026, 4, 4, tzinfo=UTC)),  # back by 30 minutes
        ("Australia/Lord_Howe", datetime(2026, 10, 3, tzinfo=UTC)),  # forward by 30 minutes
    ],
)
def test_an_every_hour_cron_fires_at_each_real_minute_whose_wall_clock_matches(
    tz: str, day: datetime
) -> None:
    zone = ZoneInfo(tz)
    minutes = [day + timedelta(minutes=m) for m in range(1, 2 * 24 * 60 + 1)]
    expected = [m for m in minutes if m.astimezone(zone).minute in (0, 15, 30, 45)]
    assert list(fire_times("*/15 * * * *", tz, day, minutes[-1])) == expected


def test_fire_times_checks_its_arguments_before_the_first_fire_time_is_asked_for() -> None:
    assert refused(lambda: fire_times("0 * * *", "UTC", utc(2026, 5, 1), utc(2026, 5, 2))) == (
        "cron: has 4 fields; expected five (minute hour day-of-month month day-of-week)"
    )


def test_a_naive_instant_is_refused() -> None:
    naive = datetime(2026, 5, 1)  # noqa: DTZ001
    assert refused(lambda: next_fire("0 * * * *", "UTC", naive)) == (
        "after: must be timezone-aware, got 2026-05-01T00:00:00"
    )


# --- missed runs --------------------------------------------------------------------------

HOURLY = "0 * * * *"


def test_a_run_due_now_fires_and_the_next_is_an_hour_later() -> None:
    decision = due_firings(HOURLY, "UTC", utc(2026, 5, 1, 10), utc(2026, 5, 1, 10, 0, 4))
    assert decision == Decision((utc(2026, 5, 1, 10),), (), 0, utc(2026, 5, 1, 11))


def test_nothing_fires_before_next_run_at() -> None:
    decision = due_firings(HOURLY, "UTC", utc(2026, 5, 1, 11), utc(2026, 5, 1, 10, 30))
    assert decision == Decision((), (), 0, utc(2026, 5, 1, 11))


def test_run_once_after_downtime_fires_the_latest_missed_time_only() -> None:
    decision = due_firings(
        HOURLY, "UTC", utc(2026, 5, 1, 7), utc(2026, 5, 1, 10, 20), MissedPolicy.RUN_ONCE
    )
    assert decision == Decision(
        fire=(utc(2026, 5, 1, 10),),
        skipped=(
            Skipped(utc(2026, 5, 1, 7), ONLY_LATEST),
            Skipped(utc(2026, 5, 1, 8), ONLY_LATEST),
            Skipped(utc(2026, 5, 1, 9), ONLY_LATEST),
        ),
        skipped_count=3,
        next_run_at=utc(2026, 5, 1, 11),
    )


def test_run_once_skips_everything_older_than_the_catch_up_window() -> None:
    decision = due_firings(
        "0 2 * * *",
        "UTC",
        utc(2026, 5, 1, 2),
        utc(2026, 5, 2, 5),
        catch_up_window=timedelta(hours=2),
    )
    assert decision == Decision(
        fire=(),
        skipped=(
            Skipped(utc(2026, 5, 1, 2), OLDER_THAN_WINDOW),
            Skipped(utc(2026, 5, 2, 2), OLDER_THAN_WINDOW),
        ),
        skipped_count=2,
        next_run_at=utc(2026, 5, 3, 2),
    )
    assert OLDER_THAN_WINDOW == "missed: older than the catch-up window"


def test_skip_policy_fires_only_the_run_due_within_grace() -> None:
    decision = due_firings(
        HOURLY, "UTC", utc(2026, 5, 1, 8), utc(2026, 5, 1, 10, 0, 30), MissedPolicy.SKIP
    )
    assert decision == Decision(
        fire=(utc(2026, 5, 1, 10),),
        skipped=(
            Skipped(utc(2026, 5, 1, 8), NOT_ON_TIME),
            Skipped(utc(2026, 5, 1, 9), NOT_ON_TIME),
        ),
        skipped_count=2,
        next_run_at=utc(2026, 5, 1, 11),
    )


def test_skip_policy_fires_nothing_when_the_latest_time_is_past_grace() -> None:
    decision = due_firings(
        HOURLY, "UTC", utc(2026, 5, 1, 9), utc(2026, 5, 1, 10, 5), MissedPolicy.SKIP
    )
    assert decision == Decision(
        fire=(),
        skipped=(
            Skipped(utc(2026, 5, 1, 9), NOT_ON_TIME),
            Skipped(utc(2026, 5, 1, 10), NOT_ON_TIME),
        ),
        skipped_count=2,
        next_run_at=utc(2026, 5, 1, 11),
    )
    later = due_firings(
        HOURLY,
        "UTC",
        utc(2026, 5, 1, 10),
        utc(2026, 5, 1, 10, 5),
        MissedPolicy.SKIP,
        grace=timedelta(minutes=10),
    )
    assert later.fire == (utc(2026, 5, 1, 10),)


def test_run_all_fires_every_missed_time_oldest_first_up_to_the_cap() -> None:
    decision = due_firings(
        HOURLY,
        "UTC",
        utc(2026, 5, 1, 5),
        utc(2026, 5, 1, 10, 1),
        MissedPolicy.RUN_ALL,
        run_all_max=4,
    )
    assert decision == Decision(
        fire=(utc(2026, 5, 1, 5), utc(2026, 5, 1, 6), utc(2026, 5, 1, 7), utc(2026, 5, 1, 8)),
        skipped=(Skipped(utc(2026, 5, 1, 9), OVER_CAP), Skipped(utc(2026, 5, 1, 10), OVER_CAP)),
        skipped_count=2,
        next_run_at=utc(2026, 5, 1, 11),
    )
    assert OVER_CAP == "missed: over the run_all cap"


def test_run_all_through_the_fall_back_night_fires_both_0200_runs() -> None:
    decision = due_firings(
        HOURLY, BERLIN, utc(2026, 10, 24, 23), utc(2026, 10, 25, 2), MissedPolicy.RUN_ALL
    )
    assert decision.fire == (
        utc(2026, 10, 24, 23),  # 01:00 CEST
        utc(2026, 10, 25, 0),  # 02:00 CEST
        utc(2026, 10, 25, 1),  # 02:00 CET
        utc(2026, 10, 25, 2),  # 03:00 CET
    )
    assert decision.next_run_at == utc(2026, 10, 25, 3)


def test_a_long_outage_lists_the_latest_50_skipped_times_and_counts_them_all() -> None:
    decision = due_firings("* * * * *", "UTC", utc(2026, 5, 1, 8), utc(2026, 5, 1, 10))
    assert decision.fire == (utc(2026, 5, 1, 10),)
    assert decision.skipped_count == 120
    assert len(decision.skipped) == 50
    assert decision.skipped[0] == Skipped(utc(2026, 5, 1, 9, 10), ONLY_LATEST)
    assert decision.skipped[-1] == Skipped(utc(2026, 5, 1, 9, 59), ONLY_LATEST)


@pytest.mark.parametrize(
    ("knobs", "error"),
    [
        (
            {"catch_up_window": timedelta(seconds=-1)},
            "catch_up_window: must not be negative, got -1 s",
        ),
        ({"grace": 60}, "grace: must be a timedelta, got 60"),
        ({"run_all_max": 0}, "run_all_max: must be a whole number >= 1, got 0"),
        ({"run_all_max": True}, "run_all_max: must be a whole number >= 1, got True"),
    ],
)
def test_bad_missed_run_settings_are_refused_by_name(knobs: dict[str, Any], error: str) -> None:
    start, now = utc(2026, 5, 1, 8), utc(2026, 5, 1, 9)
    assert refused(lambda: due_firings(HOURLY, "UTC", start, now, **knobs)) == error


# --- overlap ------------------------------------------------------------------------------

FIRE = OverlapDecision(OverlapAction.FIRE)


@pytest.mark.parametrize(
    ("policy", "active", "waiting", "decision"),
    [
        (OverlapPolicy.SKIP, 0, 0, FIRE),
        (OverlapPolicy.QUEUE_ONE, 0, 0, FIRE),
        (OverlapPolicy.CANCEL_PREVIOUS, 0, 0, FIRE),
        (OverlapPolicy.ALLOW, 3, 2, FIRE),
        (
            OverlapPolicy.SKIP,
            1,
            0,
            OverlapDecision(OverlapAction.SKIP, "previous run still active"),
        ),
        (
            OverlapPolicy.SKIP,
            0,
            1,
            OverlapDecision(OverlapAction.SKIP, "previous run still waiting to start"),
        ),
        (
            OverlapPolicy.QUEUE_ONE,
            1,
            0,
            OverlapDecision(OverlapAction.QUEUE, "waits for the previous run"),
        ),
        (
            OverlapPolicy.QUEUE_ONE,
            1,
            1,
            OverlapDecision(OverlapAction.SKIP, "a run is already waiting (queue_one keeps one)"),
        ),
        (
            OverlapPolicy.CANCEL_PREVIOUS,
            1,
            0,
            OverlapDecision(OverlapAction.CANCEL_THEN_FIRE, "cancels 1 previous run"),
        ),
        (
            OverlapPolicy.CANCEL_PREVIOUS,
            1,
            1,
            OverlapDecision(OverlapAction.CANCEL_THEN_FIRE, "cancels 2 previous runs"),
        ),
    ],
)
def test_a_firing_while_an_earlier_run_is_busy_follows_the_overlap_policy(
    policy: OverlapPolicy, active: int, waiting: int, decision: OverlapDecision
) -> None:
    assert on_overlap(policy, active=active, waiting=waiting) == decision


def test_a_negative_run_count_is_refused() -> None:
    assert refused(lambda: on_overlap(OverlapPolicy.SKIP, active=0, waiting=-1)) == (
        "waiting: must be a whole number >= 0, got -1"
    )


# --- audit trail --------------------------------------------------------------------------


def test_a_firing_decision_round_trips_through_json() -> None:
    entry = FiringDecision(
        fire_time=utc(2026, 5, 1, 10),
        decided_at=utc(2026, 5, 1, 10, 0, 2),
        outcome="fired",
        task_id="3f1c",
    )
    data = json.loads(json.dumps(entry.to_dict()))
    assert data == {
        "fire_time": "2026-05-01T10:00:00+00:00",
        "decided_at": "2026-05-01T10:00:02+00:00",
        "outcome": "fired",
        "reason": None,
        "task_id": "3f1c",
    }
    assert FiringDecision.from_dict(data) == entry


def test_a_stored_entry_with_an_unknown_outcome_or_a_naive_time_is_refused() -> None:
    good = {"fire_time": "2026-05-01T10:00:00+00:00", "decided_at": "2026-05-01T10:00:00Z"}
    assert refused(lambda: FiringDecision.from_dict({**good, "outcome": "ran"})) == (
        "outcome: must be 'fired' or 'skipped', got 'ran'"
    )
    with pytest.raises(ValidationError) as caught:
        FiringDecision.from_dict({**good, "outcome": "skipped", "fire_time": "2026-05-01T10:00"})
    assert caught.value.field == "fire_time"


def test_the_trail_keeps_the_last_50_entries() -> None:
    def entry(minute: int) -> FiringDecision:
        return FiringDecision(utc(2026, 5, 1, 0, minute), utc(2026, 5, 1, 0, minute), "skipped")

    trail = tuple(entry(m) for m in range(49))
    trail = append_trail(trail, entry(49), entry(50), entry(51))
    assert len(trail) == 50
    assert (trail[0], trail[-1]) == (entry(2), entry(51))
    assert append_trail(trail, entry(59), keep=2) == (entry(51), entry(59))


# --- options ------------------------------------------------------------------------------


def test_schedule_options_round_trip_and_set_each_runs_deadline() -> None:
    options = ScheduleOptions.from_dict(
        {"priority": 9, "timeout_s": 30, "retries": 0, "deadline_offset_s": 600}
    )
    assert options.to_dict() == {
        "priority": 9,
        "timeout_s": 30,
        "retries": 0,
        "deadline_offset_s": 600,
    }
    assert options.deadline(utc(2026, 5, 1, 10)) == utc(2026, 5, 1, 10, 10)
    assert ScheduleOptions().deadline(utc(2026, 5, 1, 10)) is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"priority": 10}, "options.priority", "must be between 0 and 9, got 10"),
        (
            {"priority": True},
            "options.priority",
            "must be a whole number between 0 and 9, got True",
        ),
        ({"retries": -1}, "options.retries", "must be >= 0, got -1"),
        ({"timeout_s": 0}, "options.timeout_s", "must be more than 0 s, got 0"),
        (
            {"deadline_offset_s": "1h"},
            "options.deadline_offset_s",
            "must be a number of seconds, got '1h'",
        ),
        ({"queue": "fast"}, "options.queue", "is not a schedule option"),
    ],
)
def test_bad_schedule_options_are_refused_naming_the_option(
    data: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ScheduleOptions.from_dict(data)
    assert (caught.value.field, caught.value.message) == (field, message)
