"""Code-defined schedules (``beat_schedule.py``): parsed, checked, and fired as records.

Each firing submits a ``scheduled`` task keyed by ``(schedule, fire time)``, so two beat
processes firing the same minute create one task. Database-backed schedules come later.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import crontab
from croniter import croniter

from taskhub.domain.errors import ValidationError

SCHEDULE_MODULE = "beat_schedule"


@dataclass(frozen=True)
class ScheduleEntry:
    key: str
    task: str
    cron: str
    input: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    priority: int | None = None

    @property
    def crontab(self) -> crontab:
        minute, hour, day_of_month, month, day_of_week = self.cron.split()
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month,
            day_of_week=day_of_week,
        )

    def fire_time(self, at: datetime) -> datetime:
        """The scheduled time this firing belongs to: the latest cron time at or before ``at``."""
        next_minute = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        fired: datetime = croniter(self.cron, next_minute).get_prev(datetime)
        return fired


def parse(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, ScheduleEntry]:
    entries = {}
    for key, spec in raw.items():
        unknown = set(spec) - {"task", "cron", "input", "name", "priority"}
        if unknown:
            raise ValidationError(f"{key}", f"unknown keys {sorted(unknown)}")
        if "task" not in spec or "cron" not in spec:
            raise ValidationError(f"{key}", "needs 'task' and 'cron'")
        if not croniter.is_valid(spec["cron"]) or len(spec["cron"].split()) != 5:
            raise ValidationError(f"{key}.cron", f"not a 5-field cron expression: {spec['cron']!r}")
        entries[key] = ScheduleEntry(key=key, **spec)
    return entries


def load() -> dict[str, ScheduleEntry]:
    """Entries from ``beat_schedule.SCHEDULE``; none when the module is absent."""
    try:
        module = importlib.import_module(SCHEDULE_MODULE)
    except ModuleNotFoundError:
        return {}
    return parse(getattr(module, "SCHEDULE", {}))
