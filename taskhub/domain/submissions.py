"""Turning what a caller asked for into a validated :class:`NewTask` (pure, no I/O)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from taskhub.domain.errors import ValidationError
from taskhub.domain.records import NewTask, TaskOptions
from taskhub.domain.registry import TaskDefinition, check_priority
from taskhub.domain.settings import Settings
from taskhub.domain.states import TaskType

MAX_NAME_CHARS = 500
MAX_KEY_CHARS = 200

Seconds = float | int | timedelta


@dataclass(frozen=True)
class Submission:
    """What a caller may set on one submission; ``None`` means "the task's default"."""

    name: str | None = None
    priority: int | None = None
    timeout: Seconds | None = None
    retries: int | None = None
    retry_delay: Seconds | None = None
    deadline: datetime | None = None
    idempotency_key: str | None = None
    type: TaskType = TaskType.MANUAL
    origin: str | None = None
    # when the run is due: a schedule's fire time, or a one-off run_at/countdown (held in the
    # database, published by beat's tick once due)
    scheduled_for: datetime | None = None
    countdown: Seconds | None = None  # run_at = now + countdown (give one or the other)


def build(
    definition: TaskDefinition,
    task_input: object,
    ask: Submission,
    *,
    settings: Settings,
    workspace_id: str,
    now: datetime,
) -> NewTask:
    """Validate ``ask`` against ``definition``; raise ``ValidationError`` naming the field."""
    return NewTask(
        id=str(uuid.uuid4()),
        workspace_id=workspace_id,
        task_name=definition.name,
        name=_name(ask.name, definition),
        type=ask.type,
        origin=ask.origin,
        input=check_input(task_input, definition),
        options=_options(definition, ask, settings, now),
        idempotency_key=_key(ask.idempotency_key),
        created_at=now,
        scheduled_for=_due(ask, now),
    )


def check_options(
    definition: TaskDefinition, ask: Submission, *, settings: Settings, now: datetime
) -> None:
    """Check what :func:`build` checks but the input: ``ValidationError`` naming the field."""
    _name(ask.name, definition)
    _options(definition, ask, settings, now)
    _key(ask.idempotency_key)
    _due(ask, now)


def check_input(task_input: object, definition: TaskDefinition) -> dict[str, Any]:
    """The input as plain JSON, checked against the task's signature (``InputError`` naming
    each field at fault: ``input.region``)."""
    if task_input is None:
        task_input = {}
    if not isinstance(task_input, Mapping):
        raise ValidationError("input", f"must be a JSON object, got {type(task_input).__name__}")
    if not all(isinstance(key, str) for key in task_input):
        raise ValidationError("input", "keys must be strings")
    try:
        raw = json.dumps(task_input, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError("input", f"is not JSON-serialisable: {exc}") from None
    plain: dict[str, Any] = json.loads(raw)
    definition.inputs.check(raw, plain)
    return plain


def _options(d: TaskDefinition, ask: Submission, settings: Settings, now: datetime) -> TaskOptions:
    timeout = _seconds("timeout", ask.timeout, minimum=0.001)
    retries = d.retries if ask.retries is None else ask.retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValidationError("retries", f"must be a whole number >= 0, got {retries!r}")
    delay = _seconds("retry_delay", ask.retry_delay, minimum=0)
    return TaskOptions(
        priority=check_priority(d.priority if ask.priority is None else ask.priority),
        queue=d.queue or settings.default_queue,
        timeout_s=timeout or d.timeout_s or settings.default_timeout_s,
        max_retries=retries,
        retry_delay_s=d.retry_delay_s if delay is None else delay,
        retry_backoff=d.retry_backoff,
        deadline=_deadline(ask.deadline, now),
    )


def _seconds(field: str, value: Seconds | None, *, minimum: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, f"must be a number of seconds, got {value!r}")
    if value < minimum or value != value:
        raise ValidationError(field, f"must be at least {minimum:g} s, got {value!r}")
    return float(value)


def _deadline(deadline: datetime | None, now: datetime) -> datetime | None:
    if deadline is None:
        return None
    if not isinstance(deadline, datetime) or deadline.tzinfo is None:
        raise ValidationError("deadline", "must be a timezone-aware datetime")
    if deadline <= now:
        raise ValidationError("deadline", f"is in the past: {deadline.isoformat()}")
    return deadline


def _due(ask: Submission, now: datetime) -> datetime | None:
    """When the run is due: ``run_at`` (``scheduled_for``) or ``now + countdown``; before any
    deadline. A time already past is due now (a schedule's fire time usually is)."""
    if ask.countdown is not None and ask.scheduled_for is not None:
        raise ValidationError("countdown", "give run_at or countdown, not both")
    if ask.countdown is not None:
        due = now + timedelta(seconds=_seconds("countdown", ask.countdown, minimum=0) or 0.0)
    elif ask.scheduled_for is not None:
        due = ask.scheduled_for
        if not isinstance(due, datetime) or due.tzinfo is None:
            raise ValidationError("run_at", "must be a timezone-aware datetime")
    else:
        return None
    if ask.deadline is not None and due >= ask.deadline:
        raise ValidationError("run_at", f"is not before the deadline ({ask.deadline.isoformat()})")
    return due


def _name(name: str | None, d: TaskDefinition) -> str:
    if name is None:
        return d.title[:MAX_NAME_CHARS]
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name", "must be a non-empty string")
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError("name", f"is longer than {MAX_NAME_CHARS} characters")
    return name.strip()


def _key(key: str | None) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        raise ValidationError("idempotency_key", f"must be 1-{MAX_KEY_CHARS} characters")
    return key
