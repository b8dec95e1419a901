"""Schedules: their rows, the due ones, and the counts of their runs.

A tick claims a schedule by a compare-and-set on its ``updated_at`` (:meth:`advance`): of two
beat processes deciding the same fire times, one writes its decision and the other's matches
no row. The runs themselves are keyed by ``(schedule, fire time)`` (the task's idempotency
key), so a second beat submitting the same firing gets the same record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from taskhub.domain.errors import ConflictError, NotFoundError
from taskhub.domain.schedule_policies import (
    FiringDecision,
    MissedPolicy,
    OverlapPolicy,
    ScheduleOptions,
)
from taskhub.domain.schedule_records import Schedule
from taskhub.domain.states import Status
from taskhub.store import tables as m
from taskhub.store.tasks import Store

S = m.schedules
T = m.tasks
ACTIVE = (Status.IN_PROGRESS.value, Status.RETRYING.value)  # running, or between attempts
WAITING = (Status.PENDING.value, Status.PAUSED.value)  # submitted, not started (or held)
NAME_TAKEN = "a schedule of this name exists in the workspace"


class ScheduleStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def ensure_workspace(self, name: str, now: datetime) -> str:
        return self._store.ensure_workspace(name, now=now)

    def plans(self, workspace_ids: Sequence[str]) -> dict[str, str]:
        """Each workspace's plan, by id."""
        W = m.workspaces
        with self._store.read() as c:
            rows = c.execute(select(W.c.id, W.c.plan).where(W.c.id.in_(set(workspace_ids))))
            return {row.id: row.plan for row in rows}

    # -- rows ------------------------------------------------------------------------------

    def insert(self, schedule: Schedule) -> None:
        try:
            with self._store.begin() as c:
                c.execute(insert(S).values(_row(schedule)))
        except Exception as exc:
            _name_taken(exc)
            raise

    def get(self, workspace_id: str, schedule_id: str) -> Schedule:
        with self._store.read() as c:
            row = c.execute(select(S).where(_one(workspace_id, schedule_id))).one_or_none()
        if row is None:
            raise NotFoundError("schedule", schedule_id)
        return _schedule(row)

    def page(self, workspace_id: str, *, limit: int, skip: int) -> tuple[list[Schedule], int]:
        """Both kinds (api and code), oldest first."""
        mine = S.c.workspace_id == workspace_id
        query = select(S).where(mine).order_by(S.c.created_at, S.c.id).limit(limit).offset(skip)
        with self._store.read() as c:
            rows = c.execute(query).all()
            total = c.execute(select(func.count()).select_from(S).where(mine)).scalar_one()
        return [_schedule(row) for row in rows], int(total)

    def save(self, schedule: Schedule, seen: datetime | None = None) -> bool:
        """Write every column of ``schedule``; with ``seen``, only if its row's ``updated_at``
        still is ``seen`` (a compare-and-set: ``False`` when someone changed it meanwhile)."""
        where = _one(schedule.workspace_id, schedule.id)
        if seen is not None:
            where = and_(where, S.c.updated_at == seen)
        values = {k: v for k, v in _row(schedule).items() if k not in ("id", "workspace_id")}
        try:
            with self._store.begin() as c:
                changed = c.execute(update(S).where(where).values(values)).rowcount
        except Exception as exc:
            _name_taken(exc)
            raise
        if not changed and seen is None:
            raise NotFoundError("schedule", schedule.id)
        return bool(changed)

    def delete(self, workspace_id: str, schedule_id: str) -> None:
        with self._store.begin() as c:
            gone = c.execute(delete(S).where(_one(workspace_id, schedule_id))).rowcount
        if not gone:
            raise NotFoundError("schedule", schedule_id)

    # -- firing ----------------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 100) -> list[Schedule]:
        """Enabled schedules with a fire time due, or a queued one waiting (oldest first)."""
        ready = or_(S.c.next_run_at <= now, S.c.queued_fire_at.is_not(None))
        query = select(S).where(S.c.enabled.is_(True), ready).order_by(S.c.next_run_at)
        with self._store.read() as c:
            return [_schedule(row) for row in c.execute(query.limit(limit))]

    def runs(
        self, schedule: Schedule, statuses: Sequence[str], *, besides: str | None = None
    ) -> list[str]:
        """Ids of the schedule's runs in ``statuses``, leaving out the one keyed ``besides``."""
        where = and_(
            T.c.workspace_id == schedule.workspace_id,
            T.c.origin == schedule.origin,
            T.c.status.in_(statuses),
        )
        if besides is not None:
            where = and_(where, or_(T.c.idempotency_key.is_(None), T.c.idempotency_key != besides))
        with self._store.read() as c:
            return [str(i) for i in c.execute(select(T.c.id).where(where)).scalars()]

    def counts(self, schedule: Schedule, *, besides: str | None = None) -> tuple[int, int]:
        """(active, waiting) runs of the schedule, leaving out the run keyed ``besides``."""
        active = len(self.runs(schedule, ACTIVE, besides=besides))
        waiting = len(self.runs(schedule, WAITING, besides=besides))
        return active, waiting + (schedule.queued_fire_at is not None)

    # -- code-defined ----------------------------------------------------------------------

    def code_schedules(self) -> list[Schedule]:
        with self._store.read() as c:
            return [_schedule(r) for r in c.execute(select(S).where(S.c.source == "code"))]

    def by_name(self, workspace_id: str, name: str) -> Schedule | None:
        where = and_(S.c.workspace_id == workspace_id, S.c.name == name)
        with self._store.read() as c:
            row = c.execute(select(S).where(where)).one_or_none()
        return _schedule(row) if row is not None else None

    def insert_once(self, schedule: Schedule) -> bool:
        """Insert unless its name is taken in its workspace (by another beat's sync, say)."""
        with self._store.begin() as c:
            try:
                with c.begin_nested():
                    c.execute(insert(S).values(_row(schedule)))
            except IntegrityError:
                return False
        return True


def _one(workspace_id: str, schedule_id: str) -> Any:
    return and_(S.c.id == schedule_id, S.c.workspace_id == workspace_id)


def _name_taken(exc: Exception) -> None:
    cause = getattr(exc, "__cause__", None)
    if isinstance(exc, IntegrityError) or isinstance(cause, IntegrityError):
        raise ConflictError(NAME_TAKEN) from None


def _row(s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "workspace_id": s.workspace_id,
        "name": s.name,
        "task_name": s.task_name,
        "input": s.input,
        "cron": s.cron,
        "timezone": s.timezone,
        "enabled": s.enabled,
        "options": s.options.to_dict(),
        "missed_policy": s.missed_policy.value,
        "overlap_policy": s.overlap_policy.value,
        "next_run_at": s.next_run_at,
        "queued_fire_at": s.queued_fire_at,
        "last_run_at": s.last_run_at,
        "last_task_id": s.last_task_id,
        "source": s.source,
        "code_key": s.code_key,
        "trail": [entry.to_dict() for entry in s.trail],
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _schedule(row: Row[Any]) -> Schedule:
    r = row._mapping
    return Schedule(
        id=r["id"],
        workspace_id=r["workspace_id"],
        name=r["name"],
        task_name=r["task_name"],
        input=dict(r["input"] or {}),
        cron=r["cron"],
        timezone=r["timezone"],
        enabled=bool(r["enabled"]),
        options=ScheduleOptions.from_dict(r["options"] or {}),
        missed_policy=MissedPolicy(r["missed_policy"]),
        overlap_policy=OverlapPolicy(r["overlap_policy"]),
        next_run_at=r["next_run_at"],
        queued_fire_at=r["queued_fire_at"],
        last_run_at=r["last_run_at"],
        last_task_id=r["last_task_id"],
        source=r["source"],
        code_key=r["code_key"],
        trail=tuple(FiringDecision.from_dict(entry) for entry in r["trail"] or ()),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )
