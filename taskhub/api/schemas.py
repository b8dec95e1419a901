"""Request and response models: what the OpenAPI schema says, exactly what the API answers.

Responses are built from :mod:`taskhub.domain.serialize` (the same JSON the CLI prints) and
validated against these models; nullable fields are ``| None``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from taskhub.api.problems import Problem
from taskhub.domain.batches import MAX_BATCH_ITEMS, BatchItem
from taskhub.domain.errors import ValidationError
from taskhub.domain.paging import TaskFilter
from taskhub.domain.registry import PRIORITY_MAX, PRIORITY_MIN
from taskhub.domain.states import Status, StepStatus, TaskType
from taskhub.domain.submissions import MAX_KEY_CHARS, MAX_NAME_CHARS, Submission
from taskhub.services.tasks import BULK_MAX

MAX_PAGE = 100
Seconds = Annotated[float, Field(strict=True)]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


AssumedUTC = Annotated[datetime, AfterValidator(_utc)]

# -- tasks ------------------------------------------------------------------------------------


class ProgressOut(BaseModel):
    current_step: int | None
    total_steps: int | None
    percent: float | None
    message: str | None
    label: str = Field(description='"Step 2 of 5" when the task declares steps, else the message.')


class ErrorOut(BaseModel):
    type: str
    message: str
    traceback: str | None


class StepOut(BaseModel):
    name: str
    position: int
    status: StepStatus
    started_at: datetime | None
    finished_at: datetime | None
    detail: str | None
    output: Any = Field(None, description="The step's saved result (JSON).")


class AttemptOut(BaseModel):
    """A failed execution: attempt 1, 2, ... of its run (a person's retry starts a new run)."""

    run: int
    attempt: int
    worker: str | None
    started_at: datetime
    finished_at: datetime | None
    error: ErrorOut | None


class TaskSummary(BaseModel):
    """A task as lists show it (no steps, attempts or outputs)."""

    id: str
    workspace_id: str
    task_name: str
    name: str
    type: TaskType
    origin: str | None
    status: Status
    input: dict[str, Any]
    priority: int
    queue: str
    timeout_s: float
    max_retries: int
    retry_delay_s: float
    retry_backoff: float
    deadline: datetime | None
    idempotency_key: str | None
    attempt: int
    run: int
    worker: str | None
    worker_pid: int | None
    created_at: datetime
    dispatched_at: datetime | None
    dispatched: bool = Field(
        description="Its message is on the broker (`dispatched_at` is set). A task recorded "
        "while the broker was down is not yet: the sweep publishes it."
    )
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    next_attempt_at: datetime | None
    cancel_requested_at: datetime | None
    pause_requested_at: datetime | None
    error: ErrorOut | None
    progress: ProgressOut
    scheduled_for: datetime | None = Field(
        None,
        description="When the run is due: its schedule's fire time, or the `run_at` it was "
        "submitted with (held, pending, until then).",
    )
    pipeline_id: str | None = Field(None, description="The pipeline it is a node of.")
    node: str | None = Field(None, description="Its node's name in that pipeline.")
    blocked: bool = Field(
        False, description="Pending until its parents allow it to run (`depends_on`, edges)."
    )
    has_dependents: bool = Field(False, description="Other tasks wait for this one.")
    updated_at: datetime | None


class TaskDetail(TaskSummary):
    """A task with everything about it: steps, each failed attempt's error, output names."""

    steps: list[StepOut]
    attempts: list[AttemptOut]
    output_names: list[str]


class TaskPage(BaseModel):
    items: list[TaskSummary]
    total: int = Field(
        description="Tasks matching the filters in all; with `count_up_to`, at most that many."
    )
    total_exact: bool = Field(
        description="Whether `total` is the exact count (false: counting stopped at "
        "`count_up_to`, and more match)."
    )
    limit: int
    skip: int
    next_cursor: str | None = Field(
        description="Pass as `after` for the next page; null when no more follow."
    )


class TaskFilters(BaseModel):
    """Which tasks: every given field must match."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    type: TaskType | None = None
    origin: str | None = Field(None, max_length=200)
    task: str | None = Field(None, max_length=200, description="The registered task name.")
    q: str | None = Field(None, max_length=200, description="Case-insensitive name search.")
    created_after: AssumedUTC | None = Field(None, description="ISO 8601; UTC if no offset.")
    created_before: AssumedUTC | None = Field(None, description="ISO 8601; UTC if no offset.")

    def to_filter(self, workspace_id: str) -> TaskFilter:
        return TaskFilter(
            workspace_id,
            status=self.status,
            task_name=self.task,
            type=self.type,
            origin=self.origin,
            q=self.q or None,
            created_after=self.created_after,
            created_before=self.created_before,
        )


class ListParams(TaskFilters):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(25, ge=1, le=MAX_PAGE)
    skip: int | None = Field(None, ge=0, description="Tasks to skip (default 0).")
    offset: int | None = Field(None, ge=0, description="An alias of `skip`.")
    after: str | None = Field(None, max_length=200, description="A `next_cursor`.")
    count_up_to: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Stop counting `total` past this many (`total_exact` false then): the "
        "exact count of millions of matching tasks is most of a page's time.",
    )

    def start(self) -> int:
        if self.skip is not None and self.offset is not None and self.skip != self.offset:
            raise ValidationError("offset", "is an alias of skip; give one or the other")
        return self.skip if self.skip is not None else self.offset or 0


class SubmitOptions(BaseModel):
    """The options of a submission; anything left out takes the task's default."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=MAX_NAME_CHARS)
    priority: int | None = Field(None, strict=True, ge=PRIORITY_MIN, le=PRIORITY_MAX)
    timeout: Seconds | None = Field(None, gt=0, description="Seconds.")
    retries: int | None = Field(None, strict=True, ge=0, le=1000)
    retry_delay: Seconds | None = Field(None, ge=0, description="Seconds.")
    deadline: AwareDatetime | None = Field(None, description="Growth and Enterprise plans.")
    run_at: AwareDatetime | None = Field(
        None,
        description="Run no sooner than this: the task waits, pending, in the database until "
        "then (Growth and Enterprise plans).",
    )
    countdown: Seconds | None = Field(
        None, ge=0, description="Seconds from now: run_at = now + countdown (one or the other)."
    )

    def options(self, idempotency_key: str | None = None) -> Submission:
        return Submission(
            name=self.name,
            priority=self.priority,
            timeout=self.timeout,
            retries=self.retries,
            retry_delay=self.retry_delay,
            deadline=self.deadline,
            idempotency_key=idempotency_key,
            scheduled_for=self.run_at,
            countdown=self.countdown,
        )


class SubmitIn(SubmitOptions):
    """A submission; anything left out takes the task's default."""

    task: str = Field(min_length=1, max_length=200, description="A registered task name.")
    input: dict[str, Any] | None = Field(None, description="The task's input, a JSON object.")
    depends_on: list[str] | None = Field(
        None, max_length=1000, description="Task ids (Growth and Enterprise; with pipelines)."
    )
    idempotency_key: str | None = Field(None, min_length=1, max_length=MAX_KEY_CHARS)

    def submission(self, header_key: str | None) -> Submission:
        """What to submit; the ``Idempotency-Key`` header and body field must agree."""
        key = self.idempotency_key
        if header_key is not None and key is not None and header_key != key:
            raise ValidationError("idempotency_key", "differs from the Idempotency-Key header")
        return self.options(key if key is not None else header_key)


# -- batch ------------------------------------------------------------------------------------


class BatchItemIn(SubmitOptions):
    """One task of a batch: its input, and any option of its own (it replaces the batch's)."""

    input: dict[str, Any] | None = Field(None, description="The task's input, a JSON object.")

    def item(self) -> BatchItem:
        return BatchItem(self.input, self.options())


class BatchIn(SubmitOptions):
    """Many tasks of one kind: the options given here are every item's, unless it sets its own
    (an item giving `run_at` or `countdown` replaces both)."""

    task: str = Field(min_length=1, max_length=200, description="A registered task name.")
    items: list[BatchItemIn] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS, description=f"1 to {MAX_BATCH_ITEMS} items."
    )
    all_or_nothing: bool = Field(
        False,
        description="Refuse the whole batch (422, or 403) when any item is refused, writing "
        "nothing; by default the valid items are submitted and each refused one answered alone.",
    )


class BatchItemOut(BaseModel):
    """What became of one item."""

    index: int = Field(description="Its position in `items`, from 0.")
    status: int = Field(
        description="201 submitted; 202 recorded but not yet on the broker (the sweep "
        "publishes it); 422 invalid (`problem.field` names it, e.g. `items.3.input.region`); "
        "403 its options need another plan."
    )
    task: TaskDetail | None = Field(None, description="The record (201, 202).")
    problem: Problem | None = Field(None, description="Why it was refused (422, 403).")


class BatchOut(BaseModel):
    items: list[BatchItemOut] = Field(description="One per item, in order.")
    submitted: int = Field(description="Items submitted (201 or 202).")
    refused: int = Field(description="Items refused (422 or 403).")
    max_items: int = Field(description="The most items one batch request takes.")


# -- bulk -------------------------------------------------------------------------------------


class BulkIn(BaseModel):
    """One action on many tasks: name them by `ids`, or select them with `filter`."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["cancel", "retry", "pause", "resume"]
    ids: list[str] | None = Field(None, min_length=1, max_length=BULK_MAX)
    filter: TaskFilters | None = None

    def target(self, workspace_id: str) -> list[str] | TaskFilter:
        if self.ids is not None and self.filter is None:
            return self.ids
        if self.filter is not None and self.ids is None:
            return self.filter.to_filter(workspace_id)
        raise ValidationError("ids", "give either ids or filter (exactly one)")


class Skipped(BaseModel):
    id: str
    reason: str = Field(description='Why not: "not found", or e.g. "it is completed".')


class BulkOut(BaseModel):
    action: str
    changed: int = Field(description="Tasks the action applied to.")
    skipped: list[Skipped]
    matched: int = Field(description="Tasks the ids or filter selected.")
    capped: bool = Field(description="More matched than `max_tasks`; the newest were acted on.")
    max_tasks: int = Field(description="The most tasks one bulk request acts on.")


# -- definitions and events -------------------------------------------------------------------


class DefaultsOut(BaseModel):
    timeout_s: float
    retries: int
    retry_delay_s: float
    retry_backoff: float
    priority: int
    queue: str
    steps: list[str]


class DefinitionOut(BaseModel):
    name: str
    description: str
    input_schema: dict[str, Any] = Field(
        description="JSON Schema of the input, read from the task's signature: its keys, their"
        " types, which are required, and whether others are allowed (additionalProperties)."
    )
    defaults: DefaultsOut


class StepStateOut(BaseModel):
    name: str
    status: StepStatus


class TaskEvent(BaseModel):
    """The data of an SSE ``task`` event."""

    id: str
    name: str
    task_name: str
    status: Status
    progress: ProgressOut
    step: StepStateOut | None
    updated_at: datetime
