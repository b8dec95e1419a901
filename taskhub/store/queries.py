"""Reading queries for lists, bulk selections and live updates (a store module: SQL lives here).

Lists are ordered most recent first, by ``(created_at, id)`` descending; a cursor is a position
in that order, so keyset paging never skips nor repeats a task while new ones arrive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, select, tuple_

from taskhub.domain.paging import Position, TaskFilter
from taskhub.domain.records import Progress, StepState, TaskChange, TaskRecord
from taskhub.domain.states import Status, StepStatus
from taskhub.store import tables as m
from taskhub.store.rows import task_record
from taskhub.store.tasks import Store

T, S = m.tasks, m.task_steps


class TaskQueries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list_tasks(
        self,
        where: TaskFilter,
        *,
        limit: int,
        skip: int = 0,
        after: Position | None = None,
        count_up_to: int | None = None,
    ) -> tuple[list[TaskRecord], int, bool]:
        """A page of tasks, the number matching ``where`` in all (at most ``count_up_to + 1``:
        the count stops there), and whether more follow."""
        clauses = _clauses(where)
        page = clauses + ([_before(after)] if after is not None else [])
        query = _newest_first(select(T).where(*page)).limit(limit + 1).offset(skip)
        with self.store.read() as c:
            total = c.execute(_count(clauses, count_up_to)).scalar_one()
            records = [task_record(row) for row in c.execute(query)]
        return records[:limit], int(total), len(records) > limit

    def task_ids(self, where: TaskFilter, *, limit: int) -> tuple[list[str], int]:
        """Up to ``limit`` ids matching ``where`` (newest first), and how many match in all."""
        clauses = _clauses(where)
        with self.store.read() as c:
            total = c.execute(select(func.count()).select_from(T).where(*clauses)).scalar_one()
            ids = c.execute(_newest_first(select(T.c.id).where(*clauses)).limit(limit)).scalars()
            return [str(ident) for ident in ids], int(total)

    def ids_starting_with(self, workspace_id: str, prefix: str, *, limit: int) -> list[str]:
        """Up to ``limit`` ids of the workspace's tasks that start with ``prefix`` (lowercase
        hex digits and dashes: no LIKE wildcard), in id order. The range on the primary key
        lets its index answer (Postgres uses an index for ``LIKE`` only in the C collation)."""
        query = (
            select(T.c.id)
            .where(
                T.c.id >= prefix,
                T.c.id < _next_prefix(prefix),
                T.c.id.like(f"{prefix}%"),
                T.c.workspace_id == workspace_id,
            )
            .order_by(T.c.id)
            .limit(limit)
        )
        with self.store.read() as c:
            return [str(ident) for ident in c.execute(query).scalars()]

    def changed_since(
        self,
        workspace_id: str,
        since: datetime | None,
        task_id: str | None = None,
        *,
        limit: int = 1000,
    ) -> list[TaskChange]:
        """Tasks whose ``updated_at`` is after ``since`` (all when ``None``), oldest change first,
        each with the step it is at."""
        query = _changes(workspace_id).order_by(T.c.updated_at, T.c.id).limit(limit)
        if since is not None:
            query = query.where(T.c.updated_at > since)
        if task_id is not None:
            query = query.where(T.c.id == task_id)
        with self.store.read() as c:
            return [_change(row._mapping) for row in c.execute(query)]

    def recently_changed(self, workspace_id: str, *, limit: int) -> list[TaskChange]:
        """The ``limit`` tasks changed last, newest change first: a backward scan of the index
        ``(workspace_id, updated_at)`` that stops after ``limit`` rows, however many tasks."""
        query = _changes(workspace_id).order_by(T.c.updated_at.desc(), T.c.id.desc())
        with self.store.read() as c:
            return [_change(row._mapping) for row in c.execute(query.limit(limit))]


def _changes(workspace_id: str) -> Select[Any]:
    """The workspace's task changes, each with the step it is at."""
    step = and_(S.c.task_id == T.c.id, S.c.position == T.c.current_step)
    return (
        select(*_CHANGE_COLUMNS, S.c.name.label("step_name"), S.c.status.label("step_status"))
        .select_from(T.outerjoin(S, step))
        .where(T.c.workspace_id == workspace_id)
    )


_CHANGE_COLUMNS = (
    T.c.id,
    T.c.name,
    T.c.task_name,
    T.c.status,
    T.c.current_step,
    T.c.total_steps,
    T.c.percent,
    T.c.message,
    T.c.updated_at,
)


def _next_prefix(prefix: str) -> str:
    """The least string above every id starting with ``prefix`` (hex and dashes), in any
    collation: its last hex digit moved up one (``9`` to ``a``: a ``:`` may sort as nothing)."""
    stem = prefix.rstrip("-")
    last = stem[-1:]
    return stem[:-1] + ("a" if last == "9" else chr(ord(last) + 1)) if last else "g"


def _clauses(where: TaskFilter) -> list[Any]:
    clauses: list[Any] = [T.c.workspace_id == where.workspace_id]
    equal = {
        T.c.status: where.status.value if where.status is not None else None,
        T.c.type: where.type.value if where.type is not None else None,
        T.c.task_name: where.task_name,
        T.c.origin: where.origin,
        T.c.error_type: where.error_type,
    }
    clauses += [column == value for column, value in equal.items() if value is not None]
    if where.q:
        clauses.append(T.c.name.icontains(where.q, autoescape=True))
    if where.created_after is not None:
        clauses.append(T.c.created_at > where.created_after)
    if where.created_before is not None:
        clauses.append(T.c.created_at < where.created_before)
    return clauses


def _count(clauses: list[Any], up_to: int | None) -> Select[Any]:
    """How many rows match, or (``up_to``) how many of the first ``up_to + 1`` found: the
    scan stops there instead of reading every match."""
    if up_to is None:
        return select(func.count()).select_from(T).where(*clauses)
    found = select(literal(1).label("one")).select_from(T).where(*clauses).limit(up_to + 1)
    return select(func.count()).select_from(found.subquery())


def _newest_first(query: Select[Any]) -> Select[Any]:
    return query.order_by(T.c.created_at.desc(), T.c.id.desc())


def _before(position: Position) -> Any:
    """Strictly after ``position`` in newest-first order.

    A row-value comparison, with the bound on ``created_at`` spelled out, so the index on
    ``(workspace_id[, status], created_at)`` seeks to the position instead of filtering every
    newer row: page 10,000 costs what page 1 costs.
    """
    after = tuple_(T.c.created_at, T.c.id) < tuple_(
        literal(position.created_at, T.c.created_at.type), literal(position.id, T.c.id.type)
    )
    return and_(T.c.created_at <= position.created_at, after)


def _change(r: Any) -> TaskChange:
    step = None
    if r["step_name"] is not None:
        step = StepState(r["step_name"], StepStatus(r["step_status"]))
    return TaskChange(
        id=r["id"],
        name=r["name"],
        task_name=r["task_name"],
        status=Status(r["status"]),
        progress=Progress(r["current_step"], r["total_steps"], r["percent"], r["message"]),
        step=step,
        updated_at=r["updated_at"],
    )
