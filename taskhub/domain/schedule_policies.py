"""What a database-backed schedule does when it is late or busy, what it records, and the
task options it submits with. Pure: the beat scheduler brings the clock and the counts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from taskhub.domain.errors import ValidationError
from taskhub.domain.registry import PRIORITY_MAX, PRIORITY_MIN
from taskhub.domain.schedules import fire_times, next_fire

TRAIL_KEEP = 50  # audit entries a schedule keeps
LISTED_SKIPS = TRAIL_KEEP  # skipped fire times a Decision lists (the most recent); all are counted

OLDER_THAN_WINDOW = "missed: older than the catch-up window"
ONLY_LATEST = "missed: run_once fires only the latest missed time"
NOT_ON_TIME = "missed: the skip policy fires only on time"
OVER_CAP = "missed: over the run_all cap"


class MissedPolicy(StrEnum):
    """Fire times that passed while nothing fired them (the scheduler was down or slow)."""

    RUN_ONCE = "run_once"  # one run, for the latest missed time, if within the catch-up window
    SKIP = "skip"  # none, except the one due now (within ``grace``)
    RUN_ALL = "run_all"  # each, oldest first, up to ``run_all_max``


@dataclass(frozen=True)
class Skipped:
    fire_time: datetime
    reason: str


@dataclass(frozen=True)
class Decision:
    """What one scheduler tick does: ``fire`` these (oldest first), record ``skipped`` (the
    most recent :data:`LISTED_SKIPS`; ``skipped_count`` counts them all), and store
    ``next_run_at``, the first fire time strictly after now."""

    fire: tuple[datetime, ...]
    skipped: tuple[Skipped, ...]
    skipped_count: int
    next_run_at: datetime


def due_firings(
    expr: str,
    tz: ZoneInfo | str,
    next_run_at: datetime,
    now: datetime,
    policy: MissedPolicy = MissedPolicy.RUN_ONCE,
    *,
    catch_up_window: timedelta = timedelta(hours=1),
    run_all_max: int = 10,
    grace: timedelta = timedelta(minutes=1),
) -> Decision:
    """Which of the fire times from ``next_run_at`` (the stored, due one) through ``now`` to
    fire. ``run_once`` fires the latest of them if ``now`` is at most ``catch_up_window`` past
    it; ``skip`` fires the latest only if it is on time, ``now`` at most ``grace`` past it (one
    scheduler tick or so, default a minute); ``run_all`` fires the oldest ``run_all_max``.
    Each missed fire time is looked at once, so the cost grows with the outage."""
    _not_negative("catch_up_window", catch_up_window)
    _not_negative("grace", grace)
    if isinstance(run_all_max, bool) or not isinstance(run_all_max, int) or run_all_max < 1:
        raise ValidationError("run_all_max", f"must be a whole number >= 1, got {run_all_max!r}")
    upcoming = next_fire(expr, tz, now)
    if next_run_at > now:
        return Decision((), (), 0, upcoming)
    due = [next_run_at, *fire_times(expr, tz, next_run_at, now)]
    if policy is MissedPolicy.RUN_ALL:
        fire, rest = due[:run_all_max], [(when, OVER_CAP) for when in due[run_all_max:]]
    else:
        latest = due[-1]
        window = grace if policy is MissedPolicy.SKIP else catch_up_window
        fire = [latest] if now - latest <= window else []
        late = OLDER_THAN_WINDOW if policy is MissedPolicy.RUN_ONCE else NOT_ON_TIME
        earlier = ONLY_LATEST if fire and policy is MissedPolicy.RUN_ONCE else late
        rest = [(when, earlier) for when in due[:-1]]
        if not fire:
            rest.append((latest, late))
    listed = deque((Skipped(when, why) for when, why in rest), maxlen=LISTED_SKIPS)
    return Decision(tuple(fire), tuple(listed), len(rest), upcoming)


class OverlapPolicy(StrEnum):
    """A fire time comes while an earlier run of the schedule is active or waiting."""

    ALLOW = "allow"  # fire anyway
    SKIP = "skip"  # skip this one
    QUEUE_ONE = "queue_one"  # fire, the run waits for the active one; at most one waits
    CANCEL_PREVIOUS = "cancel_previous"  # cancel the earlier runs, then fire


class OverlapAction(StrEnum):
    FIRE = "fire"
    SKIP = "skip"
    QUEUE = "queue"  # fire; the new run waits until the active one ends
    CANCEL_THEN_FIRE = "cancel_then_fire"  # cancel every active and waiting run, then fire


@dataclass(frozen=True)
class OverlapDecision:
    action: OverlapAction
    reason: str | None = None


def on_overlap(policy: OverlapPolicy, *, active: int, waiting: int) -> OverlapDecision:
    """What to do with a firing given how many of the schedule's runs are ``active``
    (running) and ``waiting`` (submitted, not started). Nothing earlier: fire."""
    for field, count in (("active", active), ("waiting", waiting)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValidationError(field, f"must be a whole number >= 0, got {count!r}")
    if active == waiting == 0 or policy is OverlapPolicy.ALLOW:
        return OverlapDecision(OverlapAction.FIRE)
    if policy is OverlapPolicy.CANCEL_PREVIOUS:
        runs = active + waiting
        plural = "run" if runs == 1 else "runs"
        return OverlapDecision(OverlapAction.CANCEL_THEN_FIRE, f"cancels {runs} previous {plural}")
    if policy is OverlapPolicy.QUEUE_ONE and waiting == 0:
        return OverlapDecision(OverlapAction.QUEUE, "waits for the previous run")
    if policy is OverlapPolicy.QUEUE_ONE:
        return OverlapDecision(OverlapAction.SKIP, "a run is already waiting (queue_one keeps one)")
    if active:
        return OverlapDecision(OverlapAction.SKIP, "previous run still active")
    return OverlapDecision(OverlapAction.SKIP, "previous run still waiting to start")


@dataclass(frozen=True)
class FiringDecision:
    """One audit entry: what became of the fire time ``fire_time``, decided at ``decided_at``."""

    fire_time: datetime
    decided_at: datetime
    outcome: Literal["fired", "skipped"]
    reason: str | None = None
    task_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """Plain JSON: instants as ISO 8601 with their offset."""
        data = asdict(self)
        data["fire_time"] = self.fire_time.isoformat()
        data["decided_at"] = self.decided_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FiringDecision:
        outcome = data.get("outcome")
        if outcome not in ("fired", "skipped"):
            raise ValidationError("outcome", f"must be 'fired' or 'skipped', got {outcome!r}")
        return cls(
            fire_time=_instant(data, "fire_time"),
            decided_at=_instant(data, "decided_at"),
            outcome=outcome,
            reason=data.get("reason"),
            task_id=data.get("task_id"),
        )


def append_trail(
    trail: Sequence[FiringDecision], *entries: FiringDecision, keep: int = TRAIL_KEEP
) -> tuple[FiringDecision, ...]:
    """``trail`` with ``entries`` after it, the oldest dropped beyond the last ``keep``."""
    if keep < 1:
        raise ValidationError("keep", f"must be at least 1, got {keep}")
    return (*trail, *entries)[-keep:]


@dataclass(frozen=True)
class ScheduleOptions:
    """The options a schedule submits each run with; ``None`` leaves the task's default.
    ``deadline_offset_s`` puts each run's deadline that long after its fire time."""

    priority: int | None = None
    timeout_s: float | None = None
    retries: int | None = None
    deadline_offset_s: float | None = None

    def __post_init__(self) -> None:
        _whole("options.priority", self.priority, PRIORITY_MIN, PRIORITY_MAX)
        _whole("options.retries", self.retries, 0, None)
        _positive("options.timeout_s", self.timeout_s)
        _positive("options.deadline_offset_s", self.deadline_offset_s)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleOptions:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValidationError(f"options.{unknown[0]}", "is not a schedule option")
        return cls(**data)

    def to_dict(self) -> dict[str, int | float | None]:
        return asdict(self)

    def deadline(self, fire_time: datetime) -> datetime | None:
        """The deadline of the run for ``fire_time``."""
        if self.deadline_offset_s is None:
            return None
        return fire_time + timedelta(seconds=self.deadline_offset_s)


def _whole(field: str, value: object, low: int, high: int | None) -> None:
    if value is None:
        return
    span = f"between {low} and {high}" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be a whole number {span}, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValidationError(field, f"must be {span}, got {value}")


def _positive(field: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError(field, f"must be a number of seconds, got {value!r}")
    if value <= 0:
        raise ValidationError(field, f"must be more than 0 s, got {value!r}")


def _not_negative(field: str, value: timedelta) -> None:
    if not isinstance(value, timedelta):
        raise ValidationError(field, f"must be a timedelta, got {value!r}")
    if value < timedelta(0):
        raise ValidationError(field, f"must not be negative, got {value.total_seconds():g} s")


def _instant(data: Mapping[str, Any], field: str) -> datetime:
    raw = data.get(field)
    try:
        instant = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValidationError(field, f"must be an ISO 8601 instant with an offset, got {raw!r}")
    return instant
