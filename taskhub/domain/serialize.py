"""Records as plain JSON: the one shape the CLI's ``--json`` (and, later, the REST API) emit.

Datetimes become ISO 8601 strings, enums their values, tuples lists; a task's options are
flattened into the top level and its progress carries its human ``label``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from taskhub.domain.records import (
    AttemptRecord,
    ErrorInfo,
    Progress,
    StepRecord,
    TaskChange,
    TaskOptions,
    TaskRecord,
)
from taskhub.domain.registry import TaskDefinition
from taskhub.domain.settings import Settings
from taskhub.domain.states import Status, StepStatus, TaskType


def to_jsonable(value: object) -> Any:
    """``value`` with datetimes, enums, dataclasses and tuples turned into JSON types."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    return value


def record_to_dict(record: TaskRecord) -> dict[str, Any]:
    """A task record as a JSON-able dict, keys in the record's field order, with ``dispatched``
    after ``dispatched_at``; a failed publish's ``dispatch_error`` (it names the broker's host)
    is for the caller who got it, not for the JSON."""
    data: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name == "options":
            data.update(to_jsonable(value))
        elif f.name == "progress":
            data["progress"] = {**to_jsonable(value), "label": record.progress.label}
        elif f.name != "dispatch_error":
            data[f.name] = to_jsonable(value)
        if f.name == "dispatched_at":
            data["dispatched"] = record.dispatched
    return data


def change_to_dict(change: TaskChange) -> dict[str, Any]:
    """A live update (an SSE event's data): status, progress with its label, current step."""
    data: dict[str, Any] = to_jsonable(change)
    data["progress"]["label"] = change.progress.label
    return data


def definition_to_dict(definition: TaskDefinition, settings: Settings) -> dict[str, Any]:
    """A registered task, the JSON Schema of its input, and the defaults a submission gets
    (settings fill what it leaves)."""
    d = definition
    defaults = {
        "timeout_s": d.timeout_s or settings.default_timeout_s,
        "retries": d.retries,
        "retry_delay_s": d.retry_delay_s,
        "retry_backoff": d.retry_backoff,
        "priority": d.priority,
        "queue": d.queue or settings.default_queue,
        "steps": list(d.steps),
    }
    return {
        "name": d.name,
        "description": d.description,
        "input_schema": d.inputs.schema,
        "defaults": defaults,
    }


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _error_from(data: Mapping[str, Any] | None) -> ErrorInfo | None:
    return ErrorInfo(data["type"], data["message"], data.get("traceback")) if data else None


def record_from_dict(data: Mapping[str, Any]) -> TaskRecord:
    """The inverse of :func:`record_to_dict`: how the remote client reads the API's JSON."""
    options = TaskOptions(
        priority=data["priority"],
        queue=data["queue"],
        timeout_s=data["timeout_s"],
        max_retries=data["max_retries"],
        retry_delay_s=data["retry_delay_s"],
        retry_backoff=data["retry_backoff"],
        deadline=_when(data.get("deadline")),
    )
    p = data["progress"]
    steps = tuple(
        StepRecord(
            s["name"],
            s["position"],
            StepStatus(s["status"]),
            _when(s["started_at"]),
            _when(s["finished_at"]),
            s["detail"],
            s.get("output"),
        )
        for s in data.get("steps", ())
    )
    attempts = tuple(
        AttemptRecord(
            attempt=a["attempt"],
            worker=a["worker"],
            started_at=_when(a["started_at"]),  # type: ignore[arg-type]
            finished_at=_when(a["finished_at"]),
            error=_error_from(a["error"]),
            run=a["run"],
        )
        for a in data.get("attempts", ())
    )
    times = {name: _when(data.get(name)) for name in _TIMES}
    return TaskRecord(
        id=data["id"],
        workspace_id=data["workspace_id"],
        task_name=data["task_name"],
        name=data["name"],
        type=TaskType(data["type"]),
        origin=data["origin"],
        status=Status(data["status"]),
        input=data["input"],
        options=options,
        idempotency_key=data["idempotency_key"],
        attempt=data["attempt"],
        run=data["run"],
        worker=data["worker"],
        worker_pid=data["worker_pid"],
        pipeline_id=data.get("pipeline_id"),
        node=data.get("node"),
        blocked=bool(data.get("blocked", False)),
        has_dependents=bool(data.get("has_dependents", False)),
        error=_error_from(data["error"]),
        progress=Progress(p["current_step"], p["total_steps"], p["percent"], p["message"]),
        steps=steps,
        attempts=attempts,
        output_names=tuple(data.get("output_names", ())),
        **times,  # type: ignore[arg-type]
    )


_TIMES = (
    "created_at",
    "dispatched_at",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "next_attempt_at",
    "cancel_requested_at",
    "pause_requested_at",
    "scheduled_for",
    "updated_at",
)
