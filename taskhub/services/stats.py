"""What operators ask of a workspace: its tasks by status, throughput and failure rate per hour,
run-time percentiles per task type, failures grouped by exception, and its queues (depth in the
broker, oldest waiting task) — the questions Flower cannot answer from Celery's events alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from taskhub.domain.clock import now
from taskhub.domain.registry import TaskDefinition
from taskhub.domain.settings import Settings
from taskhub.domain.states import Status
from taskhub.domain.stats import (
    FailureGroup,
    QueueState,
    RunTimes,
    Throughput,
    Window,
    buckets,
)
from taskhub.store.stats import StatsQueries
from taskhub.worker.publisher import Dispatcher


class Stats:
    """Read-only views of one workspace's tasks, each bounded by a time window or a backlog."""

    def __init__(
        self,
        settings: Settings,
        queries: StatsQueries,
        publisher: Dispatcher,
        definitions: Mapping[str, TaskDefinition],
    ) -> None:
        self._settings = settings
        self._queries = queries
        self._publisher = publisher
        self._definitions = definitions

    def window(self, hours: int, at: datetime | None = None) -> Window:
        return Window(hours, at or now())

    def throughput(self, workspace_id: str, window: Window) -> Throughput:
        """Unfinished tasks by status now; completed, failed and cancelled within ``window``
        (all of them, and the first two per hour)."""
        counts = self._queries.finished_per_hour(workspace_id, window.first_hour)
        by_status = {s: 0 for s in Status} | self._queries.unfinished(workspace_id)
        for (_, status), n in counts.items():
            by_status[status] += n
        return Throughput(window, by_status, buckets(window, counts))

    def run_times(self, workspace_id: str, window: Window) -> list[RunTimes]:
        """Per task type, finished in ``window``: p50/p95/p99 run time and failure rate."""
        return self._queries.run_times(workspace_id, window.since)

    def failures(self, workspace_id: str, window: Window) -> list[FailureGroup]:
        """Failed in ``window``, grouped by exception type, most first."""
        return self._queries.failure_groups(workspace_id, window.since)

    def queues(self, workspace_id: str, at: datetime | None = None) -> list[QueueState]:
        """The queues this workspace uses (the default, its task types', any it waits on):
        each one's depth in the broker and the workspace's oldest waiting task there."""
        waiting = {w.queue: w for w in self._queries.waiting(workspace_id, at or now())}
        names = {self._settings.default_queue, *waiting}
        names |= {d.queue for d in self._definitions.values() if d.queue}
        depths = self._publisher.queue_depths(sorted(names)) or {}
        return [
            QueueState(
                name,
                depths.get(name),
                waiting[name].tasks if name in waiting else 0,
                waiting[name].oldest_since if name in waiting else None,
            )
            for name in sorted(names)
        ]
