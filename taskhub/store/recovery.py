"""The recovery sweep's queries: the records whose promise is not being kept.

Each finds records for :class:`taskhub.worker.sweep.Sweep` to publish again or expire; none
changes a row (the sweep's changes go through the state machine, :meth:`Store.transition`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from taskhub.domain.records import TaskRecord
from taskhub.domain.states import Status
from taskhub.store import tables as m
from taskhub.store.rows import task_record
from taskhub.store.tasks import Store

T = m.tasks


class RecoveryQueries:
    """What the sweep finds: never published, published but lost, lost executions, expired."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def undispatched(self, created_before: datetime, limit: int = 1000) -> list[TaskRecord]:
        """Pending records never published, created before ``created_before``, oldest first;
        not one held for a due time still ahead (``run_at``: beat's tick publishes it)."""
        due = or_(T.c.scheduled_for.is_(None), T.c.scheduled_for <= created_before)
        query = (
            select(T)
            .where(T.c.status == Status.PENDING.value, T.c.dispatched_at.is_(None), due)
            .where(T.c.blocked.is_(False))  # waits for its parents: they release it
            .where(T.c.created_at < created_before)
            .order_by(T.c.created_at)
            .limit(limit)
        )
        return self._records(query)

    def pending_queues(self, before: datetime) -> list[str]:
        """The queues of the pending records last published before ``before``."""
        published = and_(T.c.status == Status.PENDING.value, T.c.dispatched_at < before)
        with self.store.read() as c:
            return list(c.execute(select(T.c.queue).where(published).distinct()).scalars())

    def published_pending(
        self,
        idle_before: datetime,
        busy_before: datetime,
        idle_queues: Collection[str],
        limit: int = 1000,
    ) -> list[TaskRecord]:
        """Pending records last published before ``idle_before`` in one of ``idle_queues``,
        or before ``busy_before`` in any queue; oldest first. (Those waiting in a busy queue
        are not read until then, so they never crowd out the lost ones of an idle queue.)"""
        idle = and_(T.c.queue.in_(list(idle_queues)), T.c.dispatched_at < idle_before)
        query = (
            select(T)
            .where(T.c.status == Status.PENDING.value, or_(idle, T.c.dispatched_at < busy_before))
            .order_by(T.c.dispatched_at)
            .limit(limit)
        )
        return self._records(query)

    def lost(self, heartbeat_before: datetime, retry_due_before: datetime) -> list[TaskRecord]:
        """Running tasks whose heartbeat went stale, and retries whose message never came."""
        stale = and_(T.c.status == Status.IN_PROGRESS.value, T.c.heartbeat_at < heartbeat_before)
        overdue = and_(T.c.status == Status.RETRYING.value, T.c.next_attempt_at < retry_due_before)
        return self._records(select(T).where(or_(stale, overdue)))

    def overdue(self, at: datetime) -> list[TaskRecord]:
        """Waiting records whose deadline passed before any worker started them."""
        waiting = T.c.status.in_([Status.PENDING.value, Status.RETRYING.value])
        return self._records(select(T).where(waiting, T.c.deadline.is_not(None), T.c.deadline < at))

    def _records(self, query: Select[tuple[object, ...]]) -> list[TaskRecord]:
        with self.store.read() as c:
            return [task_record(row) for row in c.execute(query)]
