"""Pruning finished tasks past retention, one short transaction per batch.

Each batch selects up to ``limit`` prunable tasks (the rule: :mod:`taskhub.domain.retention`)
in (``finished_at``, ``id``) order from where the last batch stopped, on the index
``ix_tasks_finished_at``, and deletes them with every row keyed by them, in the same
transaction. On Postgres the selection is ``FOR UPDATE SKIP LOCKED``: a row a writer holds
(a person retrying that task, a new task depending on it) is skipped, not waited for, and a
writer arriving after waits at most for one batch; the next prune looks at it again. On
SQLite a batch holds the database's write lock only for its own statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    exists,
    func,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.sql.expression import FromClause

from taskhub.domain.retention import Cursor, PrunedBatch
from taskhub.domain.states import FINAL_STATUSES
from taskhub.store import tables as m
from taskhub.store.tasks import Store

T, E, N, P = m.tasks, m.task_edges, m.notifications, m.pipelines
FINAL = sorted(status.value for status in FINAL_STATUSES)
BY_TASK = {
    "task_steps": m.task_steps,
    "task_attempts": m.task_attempts,
    "task_outputs": m.task_outputs,
}


def _done(table: FromClause, before: datetime) -> ColumnElement[bool]:
    """``table``'s row is final and finished before ``before`` (never NULL)."""
    c = table.c
    return and_(c.status.in_(FINAL), c.finished_at.is_not(None), c.finished_at < before)


def prunable(before: datetime) -> ColumnElement[bool]:
    """The rule, in SQL, for a row of ``tasks``: done, and no one needs it any more."""
    child, node = T.alias("child"), T.alias("node")
    waiting_child = (
        exists()
        .where(E.c.parent_id == T.c.id, E.c.child_id == child.c.id)
        .where(not_(_done(child, before)))
    )
    live_node = exists().where(node.c.pipeline_id == T.c.pipeline_id, not_(_done(node, before)))
    return and_(
        _done(T, before),
        or_(T.c.has_dependents.is_(False), not_(waiting_child)),
        or_(T.c.pipeline_id.is_(None), not_(live_node)),
    )


def _after(cursor: Cursor | None) -> ColumnElement[bool]:
    if cursor is None:
        return true()
    at, ident = cursor.finished_at, cursor.task_id
    return and_(T.c.finished_at >= at, or_(T.c.finished_at > at, T.c.id > ident))


class RetentionStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def prune_batch(self, before: datetime, limit: int, after: Cursor | None) -> PrunedBatch:
        """Delete up to ``limit`` prunable tasks after ``after``, and their rows: one
        transaction. Fewer than ``limit`` tasks means none is left after it."""
        query = (
            select(T.c.id, T.c.finished_at, T.c.pipeline_id)
            .where(prunable(before), _after(after))
            .order_by(T.c.finished_at, T.c.id)
            .limit(limit)
        )
        if self.store.is_postgres:
            query = query.with_for_update(skip_locked=True, of=T)
        with self.store.begin() as c:
            found = c.execute(query).all()
            if not found:
                return PrunedBatch({}, None)
            ids = [row.id for row in found]
            rows = _delete(c, ids, {row.pipeline_id for row in found if row.pipeline_id})
        last = found[-1]
        return PrunedBatch(rows, Cursor(last.finished_at, last.id))

    def count(self, before: datetime) -> dict[str, int]:
        """What pruning everything prunable before ``before`` would delete, by table."""
        ids = select(T.c.id).where(prunable(before)).scalar_subquery()
        notes = select(N.c.id).where(N.c.task_id.in_(ids)).scalar_subquery()
        hooks = m.webhook_deliveries
        pipelines = (
            select(T.c.pipeline_id)
            .where(prunable(before), T.c.pipeline_id.is_not(None))
            .distinct()
            .subquery()
        )
        queries: dict[str, Select[Any]] = {
            "tasks": select(func.count()).where(prunable(before)),
            **{
                name: select(func.count()).select_from(table).where(table.c.task_id.in_(ids))
                for name, table in BY_TASK.items()
            },
            "notifications": select(func.count()).where(N.c.task_id.in_(ids)),
            "webhook_deliveries": select(func.count()).where(hooks.c.notification_id.in_(notes)),
            "task_edges": select(func.count()).where(
                or_(E.c.child_id.in_(ids), E.c.parent_id.in_(ids))
            ),
            "pipelines": select(func.count()).select_from(pipelines),
        }
        with self.store.read() as c:
            return {name: int(c.execute(q).scalar_one()) for name, q in queries.items()}


def _delete(c: Connection, ids: Sequence[str], pipeline_ids: set[str]) -> dict[str, int]:
    """Delete the tasks ``ids`` and every row keyed by them (foreign keys cascade too, but
    deleting explicitly counts them, and works whatever SQLite's ``foreign_keys``)."""
    hooks = m.webhook_deliveries
    notes = select(N.c.id).where(N.c.task_id.in_(ids))
    gone = c.execute(delete(hooks).where(hooks.c.notification_id.in_(notes)))
    rows = {"webhook_deliveries": gone.rowcount}
    rows["notifications"] = c.execute(delete(N).where(N.c.task_id.in_(ids))).rowcount
    for name, table in BY_TASK.items():
        rows[name] = c.execute(delete(table).where(table.c.task_id.in_(ids))).rowcount
    edges = or_(E.c.child_id.in_(ids), E.c.parent_id.in_(ids))
    rows["task_edges"] = c.execute(delete(E).where(edges)).rowcount
    deliveries = m.trigger_deliveries  # kept: they stop a webhook being delivered twice
    c.execute(update(deliveries).where(deliveries.c.task_id.in_(ids)).values(task_id=None))
    rows["tasks"] = c.execute(delete(T).where(T.c.id.in_(ids))).rowcount
    emptied = and_(P.c.id.in_(pipeline_ids), not_(exists().where(T.c.pipeline_id == P.c.id)))
    rows["pipelines"] = c.execute(delete(P).where(emptied)).rowcount if pipeline_ids else 0
    return rows
