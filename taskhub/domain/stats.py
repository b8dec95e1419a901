"""What the overview and ops pages show, as frozen records, and the arithmetic on them (pure).

The store counts (:mod:`taskhub.store.stats`); this module says what a window is, how hour
buckets line up, and how percentiles are interpolated when the database cannot (SQLite), the
same way Postgres' ``percentile_cont`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from taskhub.domain.errors import ValidationError
from taskhub.domain.states import Status

DEFAULT_HOURS = 24
MAX_HOURS = 168  # a week of hour buckets
PERCENTILES = (0.5, 0.95, 0.99)
RUN_TIME_SAMPLE = 50_000  # run-time percentiles: from the newest this many completed tasks
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Window:
    """The last ``hours`` hours up to ``until``, as ``hours`` buckets of one hour each: the
    first starts on the hour, the last is the current (partial) hour."""

    hours: int
    until: datetime

    @property
    def first_hour(self) -> datetime:
        top = self.until.replace(minute=0, second=0, microsecond=0)
        return top - (self.hours - 1) * HOUR

    @property
    def since(self) -> datetime:
        return self.until - self.hours * HOUR

    def bucket_starts(self) -> list[datetime]:
        first = self.first_hour
        return [first + n * HOUR for n in range(self.hours)]


def parse_hours(raw: str | None, field: str = "hours") -> int:
    """``?hours=``: a whole number of hours, 1 to :data:`MAX_HOURS`; the default when absent."""
    if raw is None or raw == "":
        return DEFAULT_HOURS
    try:
        hours = int(raw)
    except ValueError:
        raise ValidationError(field, f"must be a whole number of hours, got {raw!r}") from None
    if not 1 <= hours <= MAX_HOURS:
        raise ValidationError(field, f"must be between 1 and {MAX_HOURS}, got {hours}")
    return hours


def failure_rate(completed: int, failed: int) -> float | None:
    """The share of finished (completed or failed) tasks that failed; ``None`` if none did."""
    finished = completed + failed
    return failed / finished if finished else None


@dataclass(frozen=True)
class HourBucket:
    """Tasks that finished within one hour: completed and failed (cancelled are not run)."""

    start: datetime
    completed: int = 0
    failed: int = 0

    @property
    def finished(self) -> int:
        return self.completed + self.failed

    @property
    def failure_rate(self) -> float | None:
        return failure_rate(self.completed, self.failed)


def buckets(window: Window, counts: Mapping[tuple[datetime, Status], int]) -> list[HourBucket]:
    """One bucket per hour of ``window``, from counts keyed by (hour start, status)."""
    return [
        HourBucket(
            start,
            counts.get((start, Status.COMPLETED), 0),
            counts.get((start, Status.FAILED), 0),
        )
        for start in window.bucket_starts()
    ]


@dataclass(frozen=True)
class Throughput:
    """The overview: unfinished tasks by status now, those that ended within the window by
    status, and what completed and failed in each hour of the window."""

    window: Window
    by_status: dict[Status, int]
    hours: list[HourBucket]

    @property
    def completed(self) -> int:
        return sum(b.completed for b in self.hours)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.hours)

    @property
    def failure_rate(self) -> float | None:
        return failure_rate(self.completed, self.failed)


@dataclass(frozen=True)
class RunTimes:
    """One task type in the window: its completed tasks' run times (finished - started, in
    seconds) at p50/p95/p99, and how many of its finished tasks failed."""

    task_name: str
    completed: int
    failed: int
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None

    @property
    def finished(self) -> int:
        return self.completed + self.failed

    @property
    def failure_rate(self) -> float | None:
        return failure_rate(self.completed, self.failed)


@dataclass(frozen=True)
class FailureGroup:
    """Failed tasks of one exception type in the window: how many, the newest one's message."""

    error_type: str | None
    count: int
    last_failed_at: datetime
    sample_message: str


@dataclass(frozen=True)
class Waiting:
    """The workspace's oldest waiting task on one queue: pending, published, not blocked,
    not held for later."""

    queue: str
    tasks: int
    oldest_since: datetime | None  # when the oldest was published


@dataclass(frozen=True)
class QueueState:
    """A queue: its depth in the broker (every workspace's messages; ``None`` when the broker
    cannot be reached) and this workspace's oldest waiting task."""

    queue: str
    depth: int | None
    waiting: int
    oldest_since: datetime | None

    def age_s(self, at: datetime) -> float | None:
        return (at - self.oldest_since).total_seconds() if self.oldest_since else None


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of ``ordered`` (sorted ascending), interpolated linearly
    between the closest ranks: what Postgres' ``percentile_cont`` answers."""
    if not ordered:
        return None
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
