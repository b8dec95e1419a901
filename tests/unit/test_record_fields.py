"""A task's fields are listed once, in :class:`TaskRecord`; every mapping of them — the new
task, the row, the JSON and back, the public API schema — covers each field, or says why not.

Each check walks ``dataclasses.fields`` so that one more field fails here until every mapping
has it. Needs no services.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from taskhub.api.schemas import AttemptOut, ErrorOut, ProgressOut, StepOut, TaskDetail, TaskSummary
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
from taskhub.domain.serialize import record_from_dict, record_to_dict
from taskhub.domain.states import Status, StepStatus, TaskType
from taskhub.store import rows
from taskhub.store import tables as models

# -- deliberate exclusions ----------------------------------------------------------------------

# Never in the JSON (so neither in the API schema nor read back by the remote client): the
# reason one call could not publish its task names the broker's host; the client sets its own
# from the HTTP 202 (``client.NOT_DISPATCHED``).
NOT_IN_JSON = {"dispatch_error"}
# A list's items (``TaskSummary``) leave out what only the task's own page shows.
NOT_IN_SUMMARY = {"steps", "attempts", "output_names"}
# JSON keys derived from the record rather than a field of it.
DERIVED_JSON = {"dispatched"}  # dispatched_at is set
DERIVED_PROGRESS = {"label"}  # Progress.label
# A new task starts with these at their declared defaults (empty, not yet read or published).
NEW_TASK_DEFAULTS = {"steps", "attempts", "output_names", "dispatch_error"}
# Columns of ``tasks`` that no record field reads (none today).
UNREAD_COLUMNS: set[str] = set()

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def full_record() -> TaskRecord:
    """A record with every field, and every nested field, set to a value of its own."""
    error = ErrorInfo("ValueError", "bad input", "Traceback ...")
    return TaskRecord(
        id="t-1",
        workspace_id="w-1",
        task_name="tests.echo",
        name="Echo",
        type=TaskType.SCHEDULED,
        origin="cron",
        status=Status.FAILED,
        input={"value": [1, 2]},
        options=TaskOptions(7, "low", 30.0, 3, 1.5, 2.0, deadline=_at(90)),
        idempotency_key="key-1",
        attempt=2,
        run=3,
        worker="celery@host",
        worker_pid=4242,
        created_at=_at(0),
        dispatched_at=_at(1),
        started_at=_at(2),
        finished_at=_at(9),
        heartbeat_at=_at(8),
        next_attempt_at=_at(10),
        cancel_requested_at=_at(5),
        pause_requested_at=_at(4),
        error=error,
        progress=Progress(current_step=2, total_steps=5, percent=40.0, message="halfway"),
        scheduled_for=_at(-1),
        pipeline_id="p-1",
        node="transform",
        blocked=True,
        has_dependents=True,
        steps=(StepRecord("fetch", 1, StepStatus.COMPLETED, _at(2), _at(3), "ok", {"rows": 3}),),
        attempts=(AttemptRecord(1, "celery@other", _at(2), _at(3), error, run=3),),
        output_names=("result",),
        updated_at=_at(9),
        dispatch_error="broker at redis://example:6379 refused",
    )


def _unset(value: object) -> bool:
    return value is None or value == () or value == {}


def _unset_fields(value: Any, path: str) -> list[str]:
    """Every field path in ``value`` (dataclasses, recursively, and tuples of them) left unset."""
    missing = []
    for f in fields(value):
        item = getattr(value, f.name)
        items = item if isinstance(item, tuple) else (item,)
        if _unset(item):
            missing.append(f"{path}.{f.name}")
        for part in items:
            if is_dataclass(part):
                missing += _unset_fields(part, f"{path}.{f.name}")
    return missing


def _differences(got: Any, want: Any, skip: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Fields that differ, compared one by one (``TaskRecord.__eq__`` skips some)."""
    return [
        f.name
        for f in fields(want)
        if f.name not in skip and getattr(got, f.name) != getattr(want, f.name)
    ]


def _names(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def _field_names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def test_the_sample_record_sets_every_field() -> None:
    """Given the sample the round trips use, then no field of it (nested too) is left unset:
    a new field must be given a value there, or the round trips could not see it."""
    assert _unset_fields(full_record(), "TaskRecord") == []


# -- a new task ---------------------------------------------------------------------------------


def test_a_new_task_sets_every_field_of_its_record() -> None:
    """Every field of a new task's record comes from the submission or from how a new task
    starts (``NEW_TASK_STARTS``); only the declared ones are left at their defaults."""
    covered = _field_names(NewTask) | set(NEW_TASK_STARTS) | {"updated_at"} | NEW_TASK_DEFAULTS
    assert _field_names(TaskRecord) - covered == set()

    full = full_record()
    given = {f.name: getattr(full, f.name) for f in fields(NewTask)}
    record = NewTask(**given).as_record()
    assert (record.status, record.attempt, record.run) == (Status.PENDING, 0, 1)
    assert record.updated_at == full.created_at and record.progress == Progress()
    not_submitted = _field_names(TaskRecord) - _field_names(NewTask)
    assert _differences(record, full, skip=not_submitted) == []


# -- the row ------------------------------------------------------------------------------------


def _mapped_columns() -> set[str]:
    own = set(rows.RECORD_COLUMNS) | set(rows.OPTION_COLUMNS) | set(rows.PROGRESS_COLUMNS)
    return own | set(rows.ERROR_COLUMNS.values())


def test_every_record_field_is_a_column_or_declared_not_stored() -> None:
    """Each field maps to columns ``tasks`` has, each column is read, nothing is mapped twice."""
    declared = set(rows.RECORD_COLUMNS) | rows.GROUPED | rows.NOT_IN_ROW
    assert _field_names(TaskRecord) - declared == set()
    assert set(rows.OPTION_COLUMNS) == _field_names(TaskOptions)
    assert set(rows.PROGRESS_COLUMNS) == _field_names(Progress)
    assert set(rows.ERROR_COLUMNS) == _field_names(ErrorInfo)
    table = {column.name for column in models.tasks.columns}
    assert _mapped_columns() - table == set(), "fields with no column in models.tasks"
    assert table - _mapped_columns() == UNREAD_COLUMNS, "columns no record field reads"


def test_a_record_survives_its_row() -> None:
    """Given a full record, when written as a row and read back, then every stored field is
    the same (the row holds enum values, as the database does)."""
    record = full_record()
    row = rows.record_row(record)
    assert set(row) == _mapped_columns()
    assert row["status"] == "failed" and row["error_type"] == "ValueError"
    back = rows.task_record_from(row)
    assert _differences(back, record, skip=rows.NOT_IN_ROW) == []


def test_a_new_tasks_row_is_its_records_row() -> None:
    full = full_record()
    new = NewTask(**{f.name: getattr(full, f.name) for f in fields(NewTask)})
    row, full_row = rows.new_row(new), rows.record_row(new.as_record())
    left_out = full_row.keys() - row.keys()
    assert {key: full_row[key] for key in left_out} == dict.fromkeys(left_out)  # all NULL
    assert row == {key: value for key, value in full_row.items() if key not in left_out}
    assert row["status"] == "pending"


# -- JSON and the remote client ----------------------------------------------------------------


def test_a_record_survives_the_apis_json() -> None:
    """Given a full record, when it goes to JSON (as the API answers) and the remote client
    reads it back, then every field is the same but the ones JSON never carries."""
    record = full_record()
    data = json.loads(json.dumps(record_to_dict(record)))
    assert set(data) & NOT_IN_JSON == set()
    back = record_from_dict(data)
    assert _differences(back, record, skip=NOT_IN_JSON) == []
    assert back.dispatch_error is None


def _json_keys() -> set[str]:
    """The top-level keys the record's JSON has: its fields, options flattened into it."""
    own = _field_names(TaskRecord) - {"options"} - NOT_IN_JSON
    return own | _field_names(TaskOptions) | DERIVED_JSON


def test_the_json_has_each_field_once_options_flattened() -> None:
    data = record_to_dict(full_record())
    assert set(data) == _json_keys()
    assert set(data["progress"]) == _field_names(Progress) | DERIVED_PROGRESS
    assert set(data["error"]) == _field_names(ErrorInfo)
    assert set(data["steps"][0]) == _field_names(StepRecord)
    assert set(data["attempts"][0]) == _field_names(AttemptRecord)


# -- the public API schema (a hand-written contract) ------------------------------------------


def test_the_api_schema_documents_every_field() -> None:
    """Each field of a record, and of its nested records, is in the public schema, and the
    schema has nothing the JSON does not send."""
    assert _names(TaskDetail) == _json_keys()
    assert _names(TaskSummary) == _json_keys() - NOT_IN_SUMMARY
    assert _names(ProgressOut) == _field_names(Progress) | DERIVED_PROGRESS
    assert _names(ErrorOut) == _field_names(ErrorInfo)
    assert _names(StepOut) == _field_names(StepRecord)
    assert _names(AttemptOut) == _field_names(AttemptRecord)


def test_the_json_of_a_full_record_is_a_valid_task_detail() -> None:
    detail: dict[str, Any] = TaskDetail.model_validate(record_to_dict(full_record())).model_dump()
    assert set(detail) == _json_keys()
