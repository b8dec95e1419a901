"""``beat_schedule.py``'s entries, in Celery's own ``beat_schedule`` style, as schedules.

Each entry fires a task on a cron expression, a 5-field string or a Celery ``crontab``, into a
named workspace (the entry's ``workspace``, else the module's ``TASKHUB_SCHEDULE_WORKSPACE``,
else the settings' ``workspace``)::

    beat_schedule = {
        "daily-sales-us": {
            "task": "reports.daily_sales",
            "schedule": "0 2 * * *",           # or crontab(hour=2, minute=0)
            "kwargs": {"region": "US"},        # the task's input
            "options": {"priority": 6},        # priority, timeout_s, retries, deadline_offset_s
            "name": "Daily Sales Report – US Region",
            "timezone": "Europe/Berlin",       # default UTC
        },
    }

Pure: a ``crontab`` is read by its fields, not imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskhub.domain.errors import ValidationError
from taskhub.domain.schedule_records import CodeSchedule, ScheduleSpec

KEYS = frozenset(
    {
        "task",
        "schedule",
        "kwargs",
        "options",
        "name",
        "timezone",
        "workspace",
        "missed_policy",
        "overlap_policy",
        "enabled",
    }
)
CRONTAB_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


def parse_beat_schedule(raw: Mapping[str, Any], workspace: str) -> list[CodeSchedule]:
    """Every entry of ``raw`` (a ``beat_schedule`` dict), or ``ValidationError`` naming the
    entry and its field at fault (``daily-sales.schedule``)."""
    if not isinstance(raw, Mapping):
        raise ValidationError("beat_schedule", "must be a dict of entries")
    return [_entry(str(key), spec, workspace) for key, spec in raw.items()]


def _entry(key: str, spec: Any, workspace: str) -> CodeSchedule:
    if not isinstance(spec, Mapping):
        raise ValidationError(key, "must be a dict")
    if "args" in spec:
        raise ValidationError(f"{key}.args", "a task's input is a JSON object: use kwargs")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise ValidationError(f"{key}.{unknown[0]}", f"is not a schedule key ({sorted(KEYS)})")
    for needed in ("task", "schedule"):
        if needed not in spec:
            raise ValidationError(f"{key}.{needed}", "is required")
    try:
        target = spec.get("workspace", workspace)
        return CodeSchedule(
            key=key,
            workspace=target,
            spec=ScheduleSpec(
                name=spec.get("name", key),
                task=spec["task"],
                cron=cron_of(spec["schedule"]),
                timezone=spec.get("timezone", "UTC"),
                input=spec.get("kwargs"),
                options=spec.get("options"),
                missed_policy=spec.get("missed_policy", "run_once"),
                overlap_policy=spec.get("overlap_policy", "allow"),
                enabled=spec.get("enabled", True),
            ),
        )
    except ValidationError as exc:
        raise ValidationError(f"{key}.{exc.field}", exc.message) from None


def cron_of(schedule: object) -> str:
    """A 5-field cron string from a string or a Celery ``crontab`` (its original fields)."""
    if isinstance(schedule, str):
        return schedule
    parts = [getattr(schedule, f"_orig_{name}", None) for name in CRONTAB_FIELDS]
    if any(part is None for part in parts):
        raise ValidationError(
            "schedule", f"must be a cron string or a celery crontab, got {schedule!r}"
        )
    return " ".join(_field(part) for part in parts)


def _field(part: object) -> str:
    if isinstance(part, str | int):
        return str(part)
    if isinstance(part, set | frozenset | list | tuple | range):
        return ",".join(str(v) for v in sorted(part))
    raise ValidationError("schedule", f"cannot read the crontab field {part!r}")
