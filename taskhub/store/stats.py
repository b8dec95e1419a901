"""The counting queries behind the overview and ops pages (a store module: SQL lives here).

Each is bounded by what the indexes reach: a time window over finished tasks
(``ix_tasks_finished``: workspace, status, finished_at, task_name; finished rows only), the
waiting tasks (``ix_tasks_waiting``: workspace, queue, published at, due time; pending,
published, unblocked rows only), or the workspace's unfinished statuses
(``ix_tasks_workspace_status_created``). Percentiles are Postgres' ``percentile_cont`` over the
window's newest :data:`~taskhub.domain.stats.RUN_TIME_SAMPLE` completed tasks; on SQLite
those run times are read and interpolated in Python (:func:`taskhub.domain.stats.percentile`),
the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Subquery, false, func, or_, select

from taskhub.domain.states import FINAL_STATUSES, Status
from taskhub.domain.stats import (
    PERCENTILES,
    RUN_TIME_SAMPLE,
    FailureGroup,
    RunTimes,
    Waiting,
    percentile,
)
from taskhub.store import tables as m
from taskhub.store.tasks import Store

T = m.tasks
RAN = (Status.COMPLETED.value, Status.FAILED.value)
FINAL = sorted(status.value for status in FINAL_STATUSES)
UNFINISHED = sorted(status.value for status in Status if not status.is_final)
MAX_FAILURE_GROUPS = 50


class StatsQueries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def unfinished(self, workspace_id: str) -> dict[Status, int]:
        """How many of the workspace's tasks are pending, running, retrying or paused now
        (the backlog: ranges of ``ix_tasks_workspace_status_created``)."""
        query = (
            select(T.c.status, func.count())
            .where(T.c.workspace_id == workspace_id, T.c.status.in_(UNFINISHED))
            .group_by(T.c.status)
        )
        with self.store.read() as c:
            return {Status(status): int(n) for status, n in c.execute(query)}

    def finished_per_hour(
        self, workspace_id: str, since: datetime
    ) -> dict[tuple[datetime, Status], int]:
        """Tasks that ended since ``since`` (completed, failed, cancelled), by (hour they
        ended in, status)."""
        hour = self._hour(T.c.finished_at).label("hour")
        query = (
            select(hour, T.c.status, func.count())
            .where(*_finished(workspace_id, since), T.c.status.in_(FINAL))
            .group_by(hour, T.c.status)
        )
        with self.store.read() as c:
            return {
                (_as_hour(start), Status(status)): int(n) for start, status, n in c.execute(query)
            }

    def run_times(self, workspace_id: str, since: datetime) -> list[RunTimes]:
        """Per task type, of its tasks finished since ``since``: completed and failed counts,
        and the p50/p95/p99 run time of the completed ones; most finished first."""
        with self.store.read() as c:
            counts = self._ran_counts(c, workspace_id, since)
            if self.store.is_postgres:
                spread = self._percentiles_in_sql(c, workspace_id, since)
            else:
                spread = self._percentiles_here(c, workspace_id, since)
        found = [
            RunTimes(name, done, failed, *spread.get(name, (None, None, None)))
            for name, (done, failed) in counts.items()
        ]
        return sorted(found, key=lambda r: (-r.finished, r.task_name))

    def failure_groups(self, workspace_id: str, since: datetime) -> list[FailureGroup]:
        """Tasks failed since ``since``, grouped by their exception's type, most first; each
        with the newest one's message."""
        query = (
            select(T.c.error_type, func.count().label("n"), func.max(T.c.finished_at))
            .where(*_finished(workspace_id, since), T.c.status == Status.FAILED.value)
            .group_by(T.c.error_type)
            .order_by(func.count().desc(), T.c.error_type)
            .limit(MAX_FAILURE_GROUPS)
        )
        with self.store.read() as c:
            groups = list(c.execute(query))
            return [
                FailureGroup(kind, int(n), last, self._sample(c, workspace_id, since, kind))
                for kind, n, last in groups
            ]

    def waiting(self, workspace_id: str, at: datetime) -> list[Waiting]:
        """Per queue, the workspace's tasks waiting there at ``at`` (pending, published, not
        blocked, not held for later) and when the oldest of them was published."""
        query = (
            select(T.c.queue, func.count(), func.min(T.c.dispatched_at))
            .where(
                T.c.workspace_id == workspace_id,
                T.c.status == Status.PENDING.value,
                T.c.dispatched_at.is_not(None),
                T.c.blocked == false(),
                or_(T.c.scheduled_for.is_(None), T.c.scheduled_for <= at),
            )
            .group_by(T.c.queue)
            .order_by(T.c.queue)
        )
        with self.store.read() as c:
            return [Waiting(queue, int(n), oldest) for queue, n, oldest in c.execute(query)]

    # -- parts ---------------------------------------------------------------------------------

    def _hour(self, column: Any) -> Any:
        if self.store.is_postgres:
            return func.date_trunc("hour", func.timezone("UTC", column))
        return func.strftime("%Y-%m-%d %H:00:00", column)

    def _ran_counts(
        self, c: Connection, workspace_id: str, since: datetime
    ) -> dict[str, tuple[int, int]]:
        query = (
            select(T.c.task_name, T.c.status, func.count())
            .where(*_finished(workspace_id, since), T.c.status.in_(RAN))
            .group_by(T.c.task_name, T.c.status)
        )
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for name, status, n in c.execute(query):
            counts[name][0 if status == Status.COMPLETED.value else 1] = int(n)
        return {name: (done, failed) for name, (done, failed) in counts.items()}

    def _percentiles_in_sql(
        self, c: Connection, workspace_id: str, since: datetime
    ) -> dict[str, tuple[float | None, ...]]:
        newest = _newest_completed(workspace_id, since, func.extract("epoch", _RUN_TIME))
        spread = [func.percentile_cont(p).within_group(newest.c.seconds) for p in PERCENTILES]
        query = select(newest.c.task_name, *spread).group_by(newest.c.task_name)
        return {
            name: tuple(None if v is None else float(v) for v in values)
            for name, *values in c.execute(query)
        }

    def _percentiles_here(
        self, c: Connection, workspace_id: str, since: datetime
    ) -> dict[str, tuple[float | None, ...]]:
        newest = _newest_completed(workspace_id, since, T.c.started_at)
        seconds: dict[str, list[float]] = defaultdict(list)
        for name, started, finished in c.execute(select(newest)):
            seconds[name].append((finished - started).total_seconds())
        return {name: _spread(sorted(values)) for name, values in seconds.items()}

    def _sample(self, c: Connection, workspace_id: str, since: datetime, kind: str | None) -> str:
        same = T.c.error_type.is_(None) if kind is None else T.c.error_type == kind
        query = (
            select(T.c.error_message)
            .where(*_finished(workspace_id, since), T.c.status == Status.FAILED.value, same)
            .order_by(T.c.finished_at.desc())
            .limit(1)
        )
        return str(c.execute(query).scalar_one_or_none() or "")


def _finished(workspace_id: str, since: datetime) -> list[Any]:
    """Finished since ``since``: the range ``ix_tasks_finished`` reaches."""
    return [T.c.workspace_id == workspace_id, T.c.finished_at >= since]


_RUN_TIME = T.c.finished_at - T.c.started_at


def _newest_completed(workspace_id: str, since: datetime, measure: Any) -> Subquery:
    """The newest :data:`RUN_TIME_SAMPLE` tasks completed since ``since``: ``task_name``,
    ``seconds`` (``measure``) and ``finished_at``; read newest first along ``ix_tasks_finished``,
    so a busy week costs what a busy day does."""
    return (
        select(T.c.task_name, measure.label("seconds"), T.c.finished_at)
        .where(
            *_finished(workspace_id, since),
            T.c.status == Status.COMPLETED.value,
            T.c.started_at.is_not(None),
        )
        .order_by(T.c.finished_at.desc())
        .limit(RUN_TIME_SAMPLE)
        .subquery("newest")
    )


def _spread(ordered: Iterable[float]) -> tuple[float | None, ...]:
    values = list(ordered)
    return tuple(percentile(values, p) for p in PERCENTILES)


def _as_hour(value: datetime | str) -> datetime:
    """An hour bucket's start as an aware UTC datetime (Postgres: naive UTC; SQLite: text)."""
    start = datetime.fromisoformat(value) if isinstance(value, str) else value
    return start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
