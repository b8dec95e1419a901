"""Frozen domain records. The store returns these; rows never leak out of it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from taskhub.domain.states import Outcome, Status, StepStatus, TaskType

JSONValue = Any


@dataclass(frozen=True)
class ErrorInfo:
    type: str
    message: str
    traceback: str | None = None

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


@dataclass(frozen=True)
class Progress:
    current_step: int | None = None
    total_steps: int | None = None
    percent: float | None = None
    message: str | None = None

    @property
    def label(self) -> str:
        """``"Step 2 of 5"`` when the task declared its steps, else the message or ``""``."""
        if self.total_steps and self.current_step:
            return f"Step {self.current_step} of {self.total_steps}"
        return self.message or ""


@dataclass(frozen=True)
class StepRecord:
    name: str
    position: int
    status: StepStatus
    started_at: datetime | None
    finished_at: datetime | None
    detail: str | None
    output: JSONValue = None


@dataclass(frozen=True)
class AttemptRecord:
    """One failed execution: ``attempt`` counts from 1 within its ``run`` (a person's retry
    starts the next run)."""

    attempt: int
    worker: str | None
    started_at: datetime
    finished_at: datetime | None
    error: ErrorInfo | None
    run: int


@dataclass(frozen=True)
class Output:
    name: str
    content_type: str
    content: str
    size_bytes: int


@dataclass(frozen=True)
class TaskOptions:
    """How one submission runs: the task's defaults merged with what the caller asked."""

    priority: int
    queue: str
    timeout_s: float
    max_retries: int
    retry_delay_s: float
    retry_backoff: float
    deadline: datetime | None = None


def held(blocked: bool, scheduled_for: datetime | None, at: datetime) -> bool:
    """Whether a task waits in the database, not published: for its parents (``blocked``) or
    for its due time (``scheduled_for``, a run_at still ahead)."""
    return blocked or (scheduled_for is not None and scheduled_for > at)


@dataclass(frozen=True)
class NewTask:
    """A validated submission, ready to insert."""

    id: str
    workspace_id: str
    task_name: str
    name: str
    type: TaskType
    origin: str | None
    input: dict[str, JSONValue]
    options: TaskOptions
    idempotency_key: str | None
    created_at: datetime
    scheduled_for: datetime | None = None  # when the run is due: fire time, or run_at
    pipeline_id: str | None = None  # the pipeline it is a node of
    node: str | None = None  # its node's name there
    blocked: bool = False  # it waits for its parents (depends_on, a pipeline's edges)
    has_dependents: bool = False  # other tasks wait for it

    def as_record(self, dispatched_at: datetime | None = None) -> TaskRecord:
        """The record exactly as the store inserts it, without reading it back: the
        submission's fields, and every other field as a new task starts (``dispatched_at``:
        stamped at insert, its message about to go out)."""
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        starts = NEW_TASK_STARTS | {"dispatched_at": dispatched_at}
        return TaskRecord(**given, **starts, updated_at=self.created_at)

    def held(self, at: datetime) -> bool:
        """Whether it waits in the database, not published (:func:`held`)."""
        return held(self.blocked, self.scheduled_for, at)


@dataclass(frozen=True)
class TaskRecord:
    id: str
    workspace_id: str
    task_name: str
    name: str
    type: TaskType
    origin: str | None
    status: Status
    input: dict[str, JSONValue]
    options: TaskOptions
    idempotency_key: str | None
    attempt: int  # executions within the current run: 0 until the first starts
    run: int  # 1, then one more for each retry a person asks for (each gets all its attempts)
    worker: str | None
    worker_pid: int | None
    created_at: datetime
    dispatched_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    next_attempt_at: datetime | None
    cancel_requested_at: datetime | None
    pause_requested_at: datetime | None
    error: ErrorInfo | None
    progress: Progress
    scheduled_for: datetime | None = None  # when the run is due: fire time, or run_at
    pipeline_id: str | None = None  # the pipeline it is a node of
    node: str | None = None  # its node's name there
    blocked: bool = False  # pending until its parents allow it (depends_on, pipeline edges)
    has_dependents: bool = False  # other tasks wait for it
    steps: tuple[StepRecord, ...] = field(default=(), compare=False)
    attempts: tuple[AttemptRecord, ...] = field(default=(), compare=False)
    output_names: tuple[str, ...] = field(default=(), compare=False)
    updated_at: datetime | None = field(default=None, compare=False)
    # Why the call that returned this record could not publish it (not stored): the record is
    # kept, ``pending`` with no ``dispatched_at``, and the sweep publishes it.
    dispatch_error: str | None = field(default=None, compare=False)

    @property
    def dispatched(self) -> bool:
        """Whether its message went to the broker (``dispatched_at`` is set)."""
        return self.dispatched_at is not None

    def held(self, at: datetime) -> bool:
        """Whether it waits in the database, not published (:func:`held`)."""
        return held(self.blocked, self.scheduled_for, at)

    def awaits_publish(self, at: datetime) -> bool:
        """Pending, not published and not held: the broker could not take it when it was
        submitted (or queued again), and the sweep publishes it."""
        return self.status is Status.PENDING and not self.dispatched and not self.held(at)

    @property
    def priority(self) -> int:
        return self.options.priority

    @property
    def deadline(self) -> datetime | None:
        return self.options.deadline


# How a new task starts, for each field of a TaskRecord a NewTask does not carry (``updated_at``
# is its ``created_at``; steps, attempts, output names and ``dispatch_error`` start empty).
NEW_TASK_STARTS: dict[str, Any] = {
    "status": Status.PENDING,
    "attempt": 0,
    "run": 1,
    "worker": None,
    "worker_pid": None,
    "dispatched_at": None,
    "started_at": None,
    "finished_at": None,
    "heartbeat_at": None,
    "next_attempt_at": None,
    "cancel_requested_at": None,
    "pause_requested_at": None,
    "error": None,
    "progress": Progress(),
}


@dataclass(frozen=True)
class StepState:
    """A step as a live page shows it: its name and status."""

    name: str
    status: StepStatus


@dataclass(frozen=True)
class TaskChange:
    """What changed on a task, as a live page follows it: status, progress, current step."""

    id: str
    name: str
    task_name: str
    status: Status
    progress: Progress
    step: StepState | None
    updated_at: datetime


@dataclass(frozen=True)
class NewNotification:
    outcome: Outcome
    title: str
    description: str

    @property
    def kind(self) -> str:
        return "success" if self.outcome is Outcome.COMPLETED else "error"


@dataclass(frozen=True)
class Notification:
    id: int
    workspace_id: str
    task_id: str
    outcome: Outcome
    kind: str
    title: str
    description: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class Control:
    """What people asked of a running task, read at checkpoints."""

    status: Status
    cancel_requested: bool
    pause_requested: bool
    cancel_requested_at: datetime | None = None


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    plan: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    """A key's public facts; the key itself is shown once at creation and stored hashed."""

    id: str
    workspace_id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
