"""What the metrics observe, read from the records: pure values and the arithmetic on them.

The API process's ``/metrics`` derives every task figure from the database, so it counts what
every worker did without the workers exporting anything: tasks by status and type (counted at
scrape time), and the wait, run time and retries of each task that finished since the last
scrape (:class:`Finished`).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate

# Histogram bounds (seconds) for waits and run times: milliseconds to an hour.
DURATION_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
)  # fmt: skip


@dataclass(frozen=True)
class StatusCount:
    """How many tasks of ``task_type`` have ``status`` (at most the count limit per status)."""

    status: str
    task_type: str
    count: int


@dataclass(frozen=True)
class Finished:
    """A task that reached a final status: when it was created, due, started and finished."""

    id: str
    task_name: str
    status: str
    attempt: int  # executions within its run; each one past the first was a retry
    created_at: datetime
    scheduled_for: datetime | None  # a run_at or a schedule's fire time: it waited from then
    started_at: datetime | None  # None: it ended before any execution (cancelled, expired)
    finished_at: datetime

    @property
    def wait_s(self) -> float | None:
        """From when it could run (created, or due if later) to its start; ``None`` for a task
        that ran more than once (its record keeps only the last start)."""
        if self.started_at is None or self.attempt > 1:
            return None
        due = max(self.created_at, self.scheduled_for or self.created_at)
        return max((self.started_at - due).total_seconds(), 0.0)

    @property
    def run_s(self) -> float | None:
        """From its last start to its end."""
        if self.started_at is None:
            return None
        return max((self.finished_at - self.started_at).total_seconds(), 0.0)

    @property
    def retries(self) -> int:
        return max(self.attempt - 1, 0)


@dataclass(frozen=True)
class FinishedCursor:
    """A position in the order tasks finished, ``(finished_at, id)``: read after it next."""

    finished_at: datetime
    id: str = ""


@dataclass
class Histogram:
    """Observations counted into ``bounds`` (seconds, ascending) and one bucket past the last;
    mutable, kept by the one process that observes."""

    bounds: tuple[float, ...] = DURATION_BUCKETS_S
    counts: list[int] = field(default_factory=list)
    sum_s: float = 0.0

    def __post_init__(self) -> None:
        self.counts = self.counts or [0] * (len(self.bounds) + 1)

    def observe(self, value_s: float) -> None:
        self.counts[bisect_left(self.bounds, value_s)] += 1
        self.sum_s += value_s

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, float]]:
        """``(upper bound, observations at most that)`` pairs, ending with ``("+Inf", count)``,
        as Prometheus exposes a histogram."""
        bounds = [repr(b) for b in self.bounds] + ["+Inf"]
        return list(zip(bounds, accumulate(self.counts), strict=True))
