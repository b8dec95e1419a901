"""Between rows and records: what a task row holds, and the frozen record built from one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row

from .records import AttemptRecord, ErrorInfo, NewTask, Progress, TaskOptions, TaskRecord
from .states import Status, TaskType


def new_row(task: NewTask) -> dict[str, Any]:
    o = task.options
    return {
        "id": task.id,
        "workspace_id": task.workspace_id,
        "task_name": task.task_name,
        "name": task.name,
        "type": task.type.value,
        "origin": task.origin,
        "status": Status.PENDING.value,
        "priority": o.priority,
        "queue": o.queue,
        "input": task.input,
        "timeout_s": o.timeout_s,
        "max_retries": o.max_retries,
        "retry_delay_s": o.retry_delay_s,
        "retry_backoff": o.retry_backoff,
        "deadline": o.deadline,
        "idempotency_key": task.idempotency_key,
        "attempt": 0,
        "run": 1,
        "created_at": task.created_at,
        "updated_at": task.created_at,
    }


def task_record(row: Row[Any]) -> TaskRecord:
    return task_record_from(row._mapping)


def task_record_from(r: Mapping[Any, Any]) -> TaskRecord:
    """The record from a task row's columns by name."""
    options = TaskOptions(
        priority=r["priority"],
        queue=r["queue"],
        timeout_s=r["timeout_s"],
        max_retries=r["max_retries"],
        retry_delay_s=r["retry_delay_s"],
        retry_backoff=r["retry_backoff"],
        deadline=r["deadline"],
    )
    progress = Progress(r["current_step"], r["total_steps"], r["percent"], r["message"])
    return TaskRecord(
        id=r["id"],
        workspace_id=r["workspace_id"],
        task_name=r["task_name"],
        name=r["name"],
        type=TaskType(r["type"]),
        origin=r["origin"],
        status=Status(r["status"]),
        input=r["input"],
        options=options,
        idempotency_key=r["idempotency_key"],
        attempt=r["attempt"],
        run=r["run"],
        worker=r["worker"],
        worker_pid=r["worker_pid"],
        created_at=r["created_at"],
        dispatched_at=r["dispatched_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        heartbeat_at=r["heartbeat_at"],
        next_attempt_at=r["next_attempt_at"],
        cancel_requested_at=r["cancel_requested_at"],
        pause_requested_at=r["pause_requested_at"],
        error=error_of(r),
        progress=progress,
        updated_at=r["updated_at"],
    )


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
