"""The statements every task costs a worker: claim it, then complete it.

Both are compare-and-set transitions of the state machine in :mod:`taskhub.domain.states` (their
status lists come from it; tested by key, :data:`~taskhub.store.tables.STATUS_BY_KEY`); no row
back means the record must not move. They are
written once as SQL and, on Postgres, prepared on the server once per connection: psycopg2 sends
every statement as text, and parsing and planning these cost more server time than running them.

Completing on Postgres is one round trip: ``WITH done AS (UPDATE tasks ... RETURNING ...)
INSERT INTO notifications SELECT ... FROM done`` — the outcome and the notification commit
together, in autocommit; a result output joins them in one transaction. The ``INSERT`` is
compiled from the one notification insert (:mod:`taskhub.store.notifications`). Other databases take
the state machine's own transition (:func:`complete` picks). Around them: the plan's running
limit, checked inside the claiming transaction, and the error of each execution that ended, kept
as an attempt row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, Text, func, insert, select
from sqlalchemy.types import TypeEngine

from taskhub.domain.records import ErrorInfo, NewNotification, Output, TaskRecord
from taskhub.domain.states import Status, transition
from taskhub.store import notifications
from taskhub.store import tables as m
from taskhub.store.prepared import Prepared
from taskhub.store.rows import task_record_from
from taskhub.store.runs import upsert_output
from taskhub.store.tasks import Store

T = m.tasks


def _sources(action: str) -> str:
    return ", ".join(f"'{status.value}'" for status in sorted(transition(action).sources))


_CLAIMING = f"""UPDATE tasks SET status = '{transition("start").target.value}',
 attempt = attempt + 1, worker = :worker, worker_pid = :pid,
 started_at = :at, heartbeat_at = :at, updated_at = :at, next_attempt_at = NULL,
 error_type = NULL, error_message = NULL, error_traceback = NULL
 WHERE id = :task_id AND {m.STATUS_BY_KEY} IN ({{sources}}) AND {{guard}}
 RETURNING {", ".join(column.name for column in T.c)}"""
_CLAIM_TYPES: dict[str, TypeEngine[Any]] = {"task_id": Text(), "worker": Text(), "pid": Integer()}
_CLAIM_TYPES["at"] = m.UTCDateTime()

_START = Prepared(
    "taskhub_start",
    _CLAIMING.format(
        sources=_sources("start"), guard="(deadline IS NULL OR deadline > :at) AND NOT blocked"
    ),
    _CLAIM_TYPES,
    list(T.c),
)
_TAKE_OVER = Prepared(  # only from the very execution that was found lost
    "taskhub_take_over",
    _CLAIMING.format(
        sources=_sources("take_over"),
        guard="run = :run AND attempt = :attempt"
        " AND (worker_pid = :lost_pid OR (worker_pid IS NULL AND :lost_pid IS NULL))",
    ),
    _CLAIM_TYPES | {"run": Integer(), "attempt": Integer(), "lost_pid": Integer()},
    list(T.c),
)


def claim(
    store: Store, task_id: str, worker: str, pid: int, at: datetime, conn: Connection | None = None
) -> TaskRecord | None:
    """Start a pending or retrying record whose deadline (if any) is after ``at``."""
    params = {"task_id": task_id, "worker": worker, "pid": pid, "at": at}
    with store.begin(conn) if conn is not None else store.single() as c:
        rows = _START.rows(c, params)
    return task_record_from(rows[0]) if rows else None


def take_over(
    store: Store, lost: TaskRecord, worker: str, pid: int, at: datetime
) -> TaskRecord | None:
    """Start a new attempt of a record whose running execution (``lost``) is gone."""
    params = {"task_id": lost.id, "worker": worker, "pid": pid, "at": at}
    params |= {"run": lost.run, "attempt": lost.attempt, "lost_pid": lost.worker_pid}
    with store.single() as c:
        rows = _TAKE_OVER.rows(c, params)
    return task_record_from(rows[0]) if rows else None


_COMPLETING = f"""WITH done AS (
 UPDATE tasks SET status = '{transition("complete").target.value}', finished_at = :at,
 updated_at = :at, worker_pid = NULL, percent = 100.0, pause_requested_at = NULL
 WHERE id = :task_id AND {m.STATUS_BY_KEY} IN ({_sources("complete")})
 AND run = :run AND attempt = :attempt
 RETURNING {", ".join(notifications.TASK_COLUMNS)}, has_dependents
), noted AS (
{notifications.insert_from_sql("done", at="at")}
)
SELECT has_dependents FROM done"""
_TYPES: dict[str, TypeEngine[Any]] = {"task_id": Text(), "at": m.UTCDateTime()}
_TYPES |= {"run": Integer(), "attempt": Integer(), **notifications.NOTE_PARAM_TYPES}

_COMPLETE = Prepared("taskhub_complete", _COMPLETING, _TYPES)


def complete(
    store: Store, claimed: TaskRecord, at: datetime, note: NewNotification, output: Output | None
) -> Completed | None:
    """Complete the execution ``claimed`` started, with its notification and result output,
    in one transaction; ``None`` if it is not running (anymore), or another execution (a
    take-over, a person's retry) owns it. What comes back says, as of that commit, whether
    other tasks wait for it.

    On Postgres the outcome and the notification are one prepared statement in autocommit when
    there is no output (the common no-op case), and share a transaction with the output upsert
    otherwise; elsewhere the state machine's transition does the same in a transaction.
    """
    if not store.is_postgres:
        return _complete_portably(store, claimed, at, note, output)
    params: dict[str, Any] = {"task_id": claimed.id, "at": at, "attempt": claimed.attempt}
    params |= {"run": claimed.run, **notifications.note_values(note)}
    if output is None:
        with store.single() as c:
            return _completed(_COMPLETE.rows(c, params))
    with store.begin() as c:
        done = _completed(_COMPLETE.rows(c, params))
        if done is not None:
            upsert_output(c, claimed.id, output, at)
        return done


@dataclass(frozen=True)
class Completed:
    has_dependents: bool  # fresh: a depends_on added while it ran is seen


def _completed(rows: list[dict[str, Any]]) -> Completed | None:
    return Completed(bool(rows[0]["has_dependents"])) if rows else None


def _complete_portably(
    store: Store, claimed: TaskRecord, at: datetime, note: NewNotification, output: Output | None
) -> Completed | None:
    values = {"finished_at": at, "worker_pid": None, "percent": 100.0, "pause_requested_at": None}
    with store.begin() as c:
        record = store.transition(
            claimed.id, "complete", values, owner=claimed, conn=c, notify=lambda _: note
        )
        if record is not None and output is not None:
            upsert_output(c, claimed.id, output, at)
        return None if record is None else Completed(record.has_dependents)


# -- around the claim and the outcome --------------------------------------------------------


def running_limit_reached(c: Connection, task_id: str, limits: Mapping[str, int]) -> bool:
    """Whether the task's workspace already runs as many tasks as its plan allows.

    Call inside the claiming transaction: on Postgres a per-workspace advisory lock makes
    count-then-claim atomic across workers; SQLite's write lock does the same.
    """
    W = m.workspaces
    query = select(W.c.id, W.c.plan).join(T, T.c.workspace_id == W.c.id)
    row = c.execute(query.where(T.c.id == task_id)).one_or_none()
    limit = limits.get(row.plan) if row is not None else None
    if row is None or limit is None:
        return False
    if c.dialect.name == "postgresql":
        c.execute(select(func.pg_advisory_xact_lock(func.hashtext(row.id))))
    running = select(func.count()).where(
        T.c.workspace_id == row.id, T.c.status == Status.IN_PROGRESS.value
    )
    return int(c.execute(running).scalar_one()) >= limit


def record_attempt_error(
    conn: Connection, record: TaskRecord, error: ErrorInfo, now: datetime
) -> None:
    """Keep the error of an execution that ended (failed, retried, or lost)."""
    conn.execute(
        insert(m.task_attempts).values(
            task_id=record.id,
            run=record.run,
            attempt=record.attempt,
            worker=record.worker,
            started_at=record.started_at or now,
            finished_at=now,
            error_type=error.type,
            error_message=error.message,
            error_traceback=error.traceback,
        )
    )
