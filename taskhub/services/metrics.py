"""What ``/metrics`` reports, read from the records and the broker by the API process.

Every figure about tasks comes from the database, so one API process reports what all workers
did, and nothing in a worker or beat needs exporting: tasks by status and type are counted at
scrape time; waits, run times, retries and final statuses are tallied from the tasks that
finished since the previous scrape (read in ``finished_at`` order from a cursor this object
keeps, a bounded page per scrape), so those counters start at zero when the process starts, as
Prometheus counters do. Queue depths come from the broker; the schedule lag from the schedules'
next fire times; the sweep's recoveries from the totals it records (it runs in beat's process).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import timedelta

from taskhub.domain.clock import now
from taskhub.domain.observations import Finished, FinishedCursor, Histogram, StatusCount
from taskhub.domain.settings import Settings
from taskhub.store.observations import ObservationQueries
from taskhub.worker.publisher import Dispatcher

FINISHED_PER_SCRAPE = 10_000  # finished tasks tallied per scrape at most; the rest the next
# A task is tallied once it finished this long ago: its completion may be committed a moment
# after the time it records (a writer thread commits it), and clocks of hosts differ a little.
FINISH_SETTLE_S = 2.0


@dataclass
class Tallies:
    """What the tasks finished since the process started add up to, by task name."""

    waits: dict[str, Histogram] = field(default_factory=dict)
    runs: dict[str, Histogram] = field(default_factory=dict)
    finished: Counter[tuple[str, str]] = field(default_factory=Counter)  # (task, status)
    retries: Counter[str] = field(default_factory=Counter)

    def add(self, task: Finished) -> None:
        name = task.task_name
        self.finished[name, task.status] += 1
        self.retries[name] += task.retries
        if task.wait_s is not None:
            self.waits.setdefault(name, Histogram()).observe(task.wait_s)
        if task.run_s is not None:
            self.runs.setdefault(name, Histogram()).observe(task.run_s)


class Metrics:
    """The figures behind ``/metrics``; ``queues`` names the queues whose depth to report."""

    def __init__(
        self,
        settings: Settings,
        stats: ObservationQueries,
        dispatcher: Dispatcher,
        queues: Callable[[], Iterable[str]],
    ) -> None:
        self._count_limit = settings.metrics_count_limit
        self._stats = stats
        self._dispatcher = dispatcher
        self._queues = queues
        self._cursor = FinishedCursor(now())
        self._tallies = Tallies()
        self._lock = threading.Lock()

    @property
    def count_limit(self) -> int:
        return self._count_limit

    def task_counts(self) -> list[StatusCount]:
        return self._stats.status_counts(self._count_limit)

    def queue_depths(self) -> dict[str, int] | None:
        """Messages waiting in each queue; ``None`` when the broker cannot be reached."""
        return self._dispatcher.queue_depths(sorted(set(self._queues())))

    def schedule_lag_s(self) -> float:
        """How late the most overdue enabled schedule is (0 when none is due): beat keeps it
        under its tick while it runs."""
        at = now()
        oldest = self._stats.oldest_due_schedule(at)
        return (at - oldest).total_seconds() if oldest is not None else 0.0

    def sweep_recoveries(self) -> dict[str, int]:
        """What the recovery sweep (in beat) recovered, by kind, as it recorded."""
        return self._stats.sweep_counts()

    def tallies(self) -> Tallies:
        """The tallies, after adding the tasks finished since the last call (a copy)."""
        with self._lock:
            before = now() - timedelta(seconds=FINISH_SETTLE_S)
            page = self._stats.finished_after(self._cursor, before, FINISHED_PER_SCRAPE)
            for task in page:
                self._tallies.add(task)
            if page:
                self._cursor = FinishedCursor(page[-1].finished_at, page[-1].id)
            return deepcopy(self._tallies)
