"""Completing a task in one round trip (Postgres): the hot path of every successful task.

``WITH done AS (UPDATE tasks ... RETURNING ...) [, out AS (INSERT INTO task_outputs ...)]
INSERT INTO notifications SELECT ... FROM done``: the compare-and-set, the result output and the
notification commit together, in autocommit, without BEGIN/COMMIT round trips. Zero rows back
means the record was not ``in_progress`` (a stale message) and nothing was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, update
from sqlalchemy.dialects.postgresql import insert

from . import models as m
from .records import NewNotification, Output
from .states import Status, transition
from .store import Store

T, N, O = m.tasks, m.notifications, m.task_outputs  # noqa: E741


def complete(
    store: Store, task_id: str, at: datetime, note: NewNotification, output: Output | None
) -> bool:
    rule = transition("complete")
    done = (
        update(T)
        .where(T.c.id == task_id, T.c.status.in_([s.value for s in rule.sources]))
        .values(
            status=Status.COMPLETED.value,
            finished_at=at,
            updated_at=at,
            worker_pid=None,
            percent=100.0,
        )
        .returning(T.c.id, T.c.workspace_id, T.c.run)
        .cte("done")
    )
    statement: Any = (
        insert(N)
        .from_select(
            [
                "workspace_id",
                "task_id",
                "run",
                "outcome",
                "kind",
                "title",
                "description",
                "created_at",
            ],
            select(
                done.c.workspace_id,
                done.c.id,
                done.c.run,
                literal(note.outcome.value),
                literal(note.kind),
                literal(note.title),
                literal(note.description),
                literal(at, m.UTCDateTime),
            ),
        )
        .returning(N.c.task_id)
    )
    if output is not None:
        statement = statement.add_cte(_output_cte(done, output, at))
    with store.single() as c:
        return c.execute(statement).first() is not None


def _output_cte(done: Any, output: Output, at: datetime) -> Any:
    values = {
        "content_type": output.content_type,
        "content": output.content,
        "size_bytes": output.size_bytes,
        "created_at": at,
    }
    upsert = insert(O).from_select(
        ["task_id", "name", "content_type", "content", "size_bytes", "created_at"],
        select(
            done.c.id,
            literal(output.name),
            literal(output.content_type),
            literal(output.content),
            literal(output.size_bytes),
            literal(at, m.UTCDateTime),
        ),
    )
    return upsert.on_conflict_do_update(index_elements=["task_id", "name"], set_=values).cte("out")
