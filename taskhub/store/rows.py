"""Between rows and records: what a task row holds, and the frozen record built from one.

One table, :data:`RECORD_COLUMNS`, says which column holds each field of a
:class:`~taskhub.domain.records.TaskRecord`; reading a row and writing one both follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from taskhub.domain.records import (
    NEW_TASK_STARTS,
    AttemptRecord,
    ErrorInfo,
    NewTask,
    Progress,
    StepRecord,
    TaskOptions,
    TaskRecord,
)
from taskhub.domain.states import Status, StepStatus, TaskType
from taskhub.store.tables import task_steps

# Not columns of ``tasks``: ``steps``, ``attempts`` and ``output_names`` are read from their own
# tables; ``dispatch_error`` is what one call could not publish, never stored.
NOT_IN_ROW: frozenset[str] = frozenset({"steps", "attempts", "output_names", "dispatch_error"})
# Fields whose parts are columns: each option and progress field by its own name, the error's as
# ``error_type``, ``error_message``, ``error_traceback``.
GROUPED: frozenset[str] = frozenset({"options", "progress", "error"})
OPTION_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(TaskOptions))
PROGRESS_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Progress))
ERROR_COLUMNS: dict[str, str] = {f.name: f"error_{f.name}" for f in fields(ErrorInfo)}
# Every other field of the record is the column of the same name.
RECORD_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(TaskRecord) if f.name not in NOT_IN_ROW | GROUPED
)

_ENUMS: dict[str, Callable[[Any], Any]] = {"type": TaskType, "status": Status}


# Columns every new task leaves NULL (as NEW_TASK_STARTS says): the insert omits them, the same
# set for every row so that a batch stays one statement. Sent as explicit NULLs, they made
# submit_many ~9% slower (16 more parameters a row).
_NULL_WHEN_NEW: frozenset[str] = frozenset(
    [key for key, value in NEW_TASK_STARTS.items() if value is None and key in RECORD_COLUMNS]
    + (list(ERROR_COLUMNS.values()) if NEW_TASK_STARTS["error"] is None else [])
    + [name for name in PROGRESS_COLUMNS if getattr(NEW_TASK_STARTS["progress"], name) is None]
)


_NULL_WHEN_STAMPED = _NULL_WHEN_NEW - {"dispatched_at"}


def new_row(
    task: NewTask, dispatched_at: datetime | None = None, *, stamping: bool = False
) -> dict[str, Any]:
    """The row the store inserts for ``task`` (:func:`inserted_row` of its new record)."""
    return inserted_row(task.as_record(dispatched_at), stamping=stamping)


def inserted_row(record: TaskRecord, *, stamping: bool = False) -> dict[str, Any]:
    """The row of a new task's ``record``, column by column, less the columns every new task
    leaves NULL. ``stamping``: the row has its ``dispatched_at`` column (set, or NULL for a
    held task), so that every row of a batch has the same columns."""
    row = record_row(record)
    for key in _NULL_WHEN_STAMPED if stamping else _NULL_WHEN_NEW:
        del row[key]
    return row


def record_row(record: TaskRecord) -> dict[str, Any]:
    """Every column of ``record``'s row, enums as their values."""
    row = {name: getattr(record, name) for name in RECORD_COLUMNS}
    for name in _ENUMS:  # one test per enum column, not one per column
        row[name] = row[name].value
    row.update({name: getattr(record.options, name) for name in OPTION_COLUMNS})
    row.update({name: getattr(record.progress, name) for name in PROGRESS_COLUMNS})
    error = record.error
    row.update({col: getattr(error, f) if error else None for f, col in ERROR_COLUMNS.items()})
    return row


def task_record(row: Row[Any]) -> TaskRecord:
    return task_record_from(row._mapping)


def task_record_from(r: Mapping[Any, Any]) -> TaskRecord:
    """The record from a task row's columns by name."""
    own = {name: _ENUMS.get(name, _same)(r[name]) for name in RECORD_COLUMNS}
    options = TaskOptions(**{name: r[name] for name in OPTION_COLUMNS})
    progress = Progress(**{name: r[name] for name in PROGRESS_COLUMNS})
    return TaskRecord(**own, options=options, progress=progress, error=error_of(r))


def error_of(r: Mapping[Any, Any]) -> ErrorInfo | None:
    if not r["error_type"]:
        return None
    return ErrorInfo(r["error_type"], r["error_message"] or "", r["error_traceback"])


def attempt_record(row: Row[Any]) -> AttemptRecord:
    r = row._mapping
    return AttemptRecord(
        attempt=r["attempt"],
        worker=r["worker"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        error=error_of(r),
        run=r["run"],
    )


def _same(value: Any) -> Any:
    return value


def read_steps(c: Connection, task_id: str) -> Iterator[StepRecord]:
    s = task_steps
    rows = c.execute(select(s).where(s.c.task_id == task_id).order_by(s.c.position))
    for row in rows:
        r = row._mapping
        yield StepRecord(
            name=r["name"],
            position=r["position"],
            status=StepStatus(r["status"]),
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            detail=r["detail"],
            output=r["output"],
        )
