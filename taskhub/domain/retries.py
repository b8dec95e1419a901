"""When to try again: exponential backoff with jitter, capped, never past the deadline."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from taskhub.domain.errors import InputError
from taskhub.domain.records import TaskRecord

JITTER = 0.25  # each delay lands uniformly within +/-25% of the exponential curve


def backoff_s(
    attempt: int,
    base_s: float,
    factor: float,
    cap_s: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Delay before the retry that follows execution number ``attempt`` (1-based)."""
    raw = base_s * factor ** max(attempt - 1, 0)
    return min(cap_s, raw * uniform(1 - JITTER, 1 + JITTER))


def plan_retry(
    record: TaskRecord,
    exc: BaseException,
    *,
    dont_retry: tuple[type[BaseException], ...],
    now: datetime,
    cap_s: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float | None:
    """Seconds until the next attempt, or ``None`` when this failure is final (input the
    body's signature refuses is, as are ``dont_retry`` errors)."""
    if isinstance(exc, (InputError, *dont_retry)) or record.attempt > record.options.max_retries:
        return None
    o = record.options
    delay = backoff_s(record.attempt, o.retry_delay_s, o.retry_backoff, cap_s, uniform)
    if o.deadline is not None and now + timedelta(seconds=delay) >= o.deadline:
        return None
    return delay
