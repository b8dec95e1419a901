"""A schedule as the store returns it, what a caller asks for, and what one tick did. Pure.

Two sources write schedules: the service (``source="api"``) and ``beat_schedule.py``
(``source="code"``, synced when beat starts, keyed by its entry's key). One list shows both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from taskhub.domain.clock import now
from taskhub.domain.errors import ValidationError
from taskhub.domain.schedule_policies import (
    FiringDecision,
    MissedPolicy,
    OverlapPolicy,
    ScheduleOptions,
)

Source = Literal["api", "code"]
E = TypeVar("E", MissedPolicy, OverlapPolicy)
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class Schedule:
    id: str
    workspace_id: str
    name: str
    task_name: str
    input: dict[str, Any]
    cron: str  # normalized
    timezone: str
    enabled: bool
    options: ScheduleOptions
    missed_policy: MissedPolicy
    overlap_policy: OverlapPolicy
    next_run_at: datetime  # the next fire time not yet decided
    queued_fire_at: datetime | None  # queue_one: a fire time waiting for the active run
    last_run_at: datetime | None  # fire time of the last run submitted
    last_task_id: str | None
    source: Source
    code_key: str | None
    trail: tuple[FiringDecision, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def origin(self) -> str:
        """What its runs' records carry as ``origin``."""
        return f"schedule:{self.id}"

    def idempotency_key(self, fire_time: datetime) -> str:
        """One record per fire time, whichever beat process submits it."""
        return f"schedule:{self.id}:{fire_time.isoformat()}"


@dataclass(frozen=True)
class ScheduleSpec:
    """What a caller asks for when creating a schedule."""

    name: str
    task: str
    cron: str
    timezone: str = "UTC"
    input: Mapping[str, Any] | None = None
    options: ScheduleOptions | Mapping[str, Any] | None = None
    missed_policy: MissedPolicy | str = MissedPolicy.RUN_ONCE
    overlap_policy: OverlapPolicy | str = OverlapPolicy.ALLOW
    enabled: bool = True


# The fields of a ScheduleSpec an update may change (all but none: each may change).
CHANGEABLE = frozenset(ScheduleSpec.__dataclass_fields__)


@dataclass(frozen=True)
class CodeSchedule:
    """One entry of ``beat_schedule.py``, its cron already a 5-field string."""

    key: str
    workspace: str
    spec: ScheduleSpec


@dataclass(frozen=True)
class TickReport:
    """What one tick did: ``fired`` runs submitted, fire times ``skipped`` (by a policy),
    schedules ``lost`` to another beat (it claimed them first), and ``errors``."""

    fired: int = 0
    skipped: int = 0
    lost: int = 0
    errors: list[str] = field(default_factory=list)


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_CHARS:
        raise ValidationError("name", f"must be 1-{MAX_NAME_CHARS} characters")
    return name.strip()


def missed_policy(value: object) -> MissedPolicy:
    return _choice("missed_policy", value, MissedPolicy)


def overlap_policy(value: object) -> OverlapPolicy:
    return _choice("overlap_policy", value, OverlapPolicy)


def schedule_options(value: object) -> ScheduleOptions:
    if value is None:
        return ScheduleOptions()
    if isinstance(value, ScheduleOptions):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError("options", "must be an object")
    return ScheduleOptions.from_dict(value)


def _choice(field: str, value: object, enum: type[E]) -> E:
    if isinstance(value, str) and value in {member.value for member in enum}:
        return enum(value)
    choices = ", ".join(member.value for member in enum)
    raise ValidationError(field, f"must be one of {choices}, got {value!r}")


def later_than(previous: datetime) -> datetime:
    """Now, but always later than ``previous``: a schedule's ``updated_at`` is the token its
    compare-and-set saves on."""
    return max(now(), previous + timedelta(microseconds=1))
