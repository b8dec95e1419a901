"""The metrics' reads (a store module: SQL lives here). Each is bounded: a count stops at its
limit, a page of finished tasks at its size, the schedule lag is one index lookup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from taskhub.domain.errors import StoreError
from taskhub.domain.observations import Finished, FinishedCursor, StatusCount
from taskhub.domain.states import Status
from taskhub.store import tables as m
from taskhub.store.tasks import Store

T, SCHEDULES, SWEPT = m.tasks, m.schedules, m.sweep_counts
FINISHED_COLUMNS = [T.c[field.name] for field in fields(Finished)]


class ObservationQueries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def status_counts(self, limit: int) -> list[StatusCount]:
        """Tasks by status and type; a status with more than ``limit`` tasks counts ``limit``
        of them (split by type as those happen to be), so a scrape never scans a large table."""
        counts: list[StatusCount] = []
        with self.store.read() as c:
            for status in Status:
                capped = select(T.c.type).where(T.c.status == status.value).limit(limit)
                sub = capped.subquery()
                query = select(sub.c.type, func.count()).group_by(sub.c.type)
                counts += [StatusCount(status.value, str(t), int(n)) for t, n in c.execute(query)]
        return counts

    def finished_after(
        self, cursor: FinishedCursor, before: datetime, limit: int
    ) -> list[Finished]:
        """Tasks that finished after ``cursor`` and before ``before``, in that order, ``limit``
        at most (on ``ix_tasks_finished_at``)."""
        later = or_(
            T.c.finished_at > cursor.finished_at,
            and_(T.c.finished_at == cursor.finished_at, T.c.id > cursor.id),
        )
        query = (
            select(*FINISHED_COLUMNS)
            .where(T.c.finished_at.is_not(None), T.c.finished_at < before, later)
            .order_by(T.c.finished_at, T.c.id)
            .limit(limit)
        )
        with self.store.read() as c:
            return [Finished(*row) for row in c.execute(query)]

    def oldest_due_schedule(self, at: datetime) -> datetime | None:
        """The earliest fire time of an enabled schedule that is due at ``at`` and not yet
        decided by beat (``ix_schedules_due``)."""
        query = select(func.min(SCHEDULES.c.next_run_at)).where(
            SCHEDULES.c.enabled.is_(True), SCHEDULES.c.next_run_at <= at
        )
        with self.store.read() as c:
            value = c.execute(query).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    def sweep_counts(self) -> dict[str, int]:
        """What the sweep recovered since the database was made, by kind."""
        with self.store.read() as c:
            return {str(k): int(n) for k, n in c.execute(select(SWEPT.c.kind, SWEPT.c.count))}

    def add_sweep_counts(self, counts: Mapping[str, int], at: datetime) -> None:
        """Add one sweep's ``counts`` (kinds with 0 are skipped) to the totals."""
        for kind, n in counts.items():
            if n:
                self._add(kind, n, at)

    def _add(self, kind: str, n: int, at: datetime) -> None:
        add = update(SWEPT).where(SWEPT.c.kind == kind)
        add = add.values(count=SWEPT.c.count + n, updated_at=at)
        with self.store.begin() as c:
            if c.execute(add).rowcount:
                return
        try:
            with self.store.begin() as c:
                c.execute(insert(SWEPT).values(kind=kind, count=n, updated_at=at))
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            with self.store.begin() as c:  # another beat's sweep made the row meanwhile
                c.execute(add)
