"""The statements every task costs a worker: claim it, then complete it.

Built once, with bind parameters, so a task pays only for executing them (building and caching a
statement per call cost more than the round trip). Both are compare-and-set transitions of the
state machine in :mod:`taskhub.states`; no row back means the record must not move.

Completing on Postgres is one round trip: ``WITH done AS (UPDATE tasks ... RETURNING ...)
[, out AS (INSERT INTO task_outputs ...)] INSERT INTO notifications SELECT ... FROM done`` — the
outcome, the result output and the notification commit together, in autocommit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Integer,
    String,
    Text,
    Update,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from . import models as m
from .records import NewNotification, Output, TaskRecord
from .rows import task_record
from .states import Status, transition
from .store import Store

T, N, O = m.tasks, m.notifications, m.task_outputs  # noqa: E741


def _at() -> BindParameter[datetime]:
    return bindparam("at", type_=m.UTCDateTime)


def _sources(action: str) -> ColumnElement[bool]:
    return T.c.status.in_([s.value for s in transition(action).sources])


def _claiming(action: str, guard: ColumnElement[bool]) -> Update:
    """Move the record to ``in_progress`` for this execution (a new attempt)."""
    return (
        update(T)
        .where(T.c.id == bindparam("task_id"), _sources(action), guard)
        .values(
            status=transition(action).target.value,
            attempt=T.c.attempt + 1,
            worker=bindparam("worker", type_=String),
            worker_pid=bindparam("pid", type_=Integer),
            started_at=_at(),
            heartbeat_at=_at(),
            updated_at=_at(),
            next_attempt_at=None,
            error_type=None,
            error_message=None,
            error_traceback=None,
        )
        .returning(*T.c)
    )


_START = _claiming("start", or_(T.c.deadline.is_(None), T.c.deadline > _at()))
_TAKE_OVER = _claiming(  # only from the very execution found lost
    "take_over",
    and_(
        T.c.attempt == bindparam("attempt", type_=Integer),
        T.c.worker_pid.is_not_distinct_from(bindparam("lost_pid", type_=Integer)),
    ),
)


def claim(
    store: Store, task_id: str, worker: str, pid: int, at: datetime, conn: Connection | None = None
) -> TaskRecord | None:
    """Start a pending or retrying record whose deadline (if any) is after ``at``."""
    params = {"task_id": task_id, "worker": worker, "pid": pid, "at": at}
    with store.begin(conn) if conn is not None else store.single() as c:
        row = c.execute(_START, params).one_or_none()
    return task_record(row) if row is not None else None


def take_over(
    store: Store, lost: TaskRecord, worker: str, pid: int, at: datetime
) -> TaskRecord | None:
    """Start a new attempt of a record whose running execution (``lost``) is gone."""
    params = {"task_id": lost.id, "worker": worker, "pid": pid, "at": at}
    params |= {"attempt": lost.attempt, "lost_pid": lost.worker_pid}
    with store.single() as c:
        row = c.execute(_TAKE_OVER, params).one_or_none()
    return task_record(row) if row is not None else None


def _completing(with_output: bool) -> Any:
    done = (
        update(T)
        .where(T.c.id == bindparam("task_id"), _sources("complete"))
        .values(
            status=Status.COMPLETED.value,
            finished_at=_at(),
            updated_at=_at(),
            worker_pid=None,
            percent=100.0,
        )
        .returning(T.c.id, T.c.workspace_id, T.c.run)
        .cte("done")
    )
    note = [bindparam(k, type_=Text) for k in ("outcome", "kind", "title", "description")]
    columns = ["workspace_id", "task_id", "run", "outcome", "kind", "title", "description"]
    statement = (
        insert(N)
        .from_select(
            [*columns, "created_at"],
            select(done.c.workspace_id, done.c.id, done.c.run, *note, _at()),
        )
        .returning(N.c.task_id)
    )
    return statement.add_cte(_result_output(done)) if with_output else statement


def _result_output(done: Any) -> Any:
    names = ["content_type", "content", "size_bytes", "created_at"]
    output = [bindparam(f"output_{k}", type_=Text) for k in ("name", "content_type", "content")]
    upsert = insert(O).from_select(
        ["task_id", "name", *names],
        select(done.c.id, *output, bindparam("output_size", type_=Integer), _at()),
    )
    excluded = {name: upsert.excluded[name] for name in names}
    return upsert.on_conflict_do_update(index_elements=["task_id", "name"], set_=excluded).cte(
        "out"
    )


_COMPLETE = _completing(with_output=False)
_COMPLETE_WITH_OUTPUT = _completing(with_output=True)


def complete(
    store: Store, task_id: str, at: datetime, note: NewNotification, output: Output | None
) -> bool:
    """Postgres only: complete an ``in_progress`` record; ``False`` if it was not."""
    params: dict[str, Any] = {"task_id": task_id, "at": at, "outcome": note.outcome.value}
    params |= {"kind": note.kind, "title": note.title, "description": note.description}
    statement = _COMPLETE
    if output is not None:
        statement = _COMPLETE_WITH_OUTPUT
        params |= {"output_name": output.name, "output_content_type": output.content_type}
        params |= {"output_content": output.content, "output_size": output.size_bytes}
    with store.single() as c:
        return c.execute(statement, params).first() is not None
