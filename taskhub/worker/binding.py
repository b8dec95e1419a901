"""How a task definition runs as a Celery task: claim the record, run the body, plan a retry.

One :class:`Executor` per app binds every definition; the Celery signal receivers
(:mod:`taskhub.worker.signals`) record what it raised. It is given the parts it uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task
from celery.exceptions import Ignore, Retry, SoftTimeLimitExceeded

from taskhub.domain.clock import now
from taskhub.domain.errors import StoreError
from taskhub.domain.outputs import OutputCodec
from taskhub.domain.records import ErrorInfo, TaskRecord
from taskhub.domain.registry import TaskDefinition
from taskhub.domain.retries import plan_retry
from taskhub.domain.settings import Settings
from taskhub.logs import bind_task
from taskhub.store.edges import EdgeStore
from taskhub.store.runs import RunStore
from taskhub.store.tasks import Store
from taskhub.worker import tracing
from taskhub.worker.app import KILLED_AT_HARD_LIMIT, TaskhubTask
from taskhub.worker.context import Heartbeat, Stop, Superseded, TaskContext
from taskhub.worker.lifecycle import Deferred, Lifecycle, error_info

STORE_UNAVAILABLE_RETRY_S = 5.0
PLAN_LIMIT_RETRY_S = 1.0  # a task held back by its plan's running limit asks again after this
CLAIMED = "taskhub_claimed"  # the request attribute holding the record this execution claimed


class TimedOut(Exception):
    """The body ran past its time limit (timeout, or what was left before the deadline)."""


class PlannedRetry(Retry):  # type: ignore[misc]
    """A failure taskhub will retry; the ``task_retry`` handler records it and republishes."""

    def __init__(self, error: ErrorInfo, delay_s: float) -> None:
        super().__init__(message=f"retry in {delay_s:.1f} s: {error}", when=delay_s)
        self.error = error
        self.delay_s = delay_s

    def __reduce__(self) -> tuple[type[PlannedRetry], tuple[ErrorInfo, float]]:
        return PlannedRetry, (self.error, self.delay_s)  # it crosses from pool child to parent


class Executor:
    """Binds definitions to ``app`` and runs their executions."""

    def __init__(
        self,
        app: Celery,
        settings: Settings,
        store: Store,
        runs: RunStore,
        outputs: OutputCodec,
        lifecycle: Lifecycle,
        heartbeat: Heartbeat,
        edges: EdgeStore | None = None,
    ) -> None:
        self.app = app
        self._edges = edges
        self._settings = settings
        self._store = store
        self._runs = runs
        self._outputs = outputs
        self._lifecycle = lifecycle
        self._heartbeat = heartbeat
        self.definitions: dict[str, TaskDefinition] = {}

    def bind_all(self, definitions: Mapping[str, TaskDefinition]) -> None:
        for definition in definitions.values():
            self.bind(definition)

    def bind(self, definition: TaskDefinition) -> Task:
        """Register ``definition`` on the app: claim, run, then retry or raise."""
        lifecycle = self._lifecycle

        def run(task: Task, **kwargs: Any) -> Any:
            request = task.request
            try:
                record = lifecycle.claim(request.id, request.hostname or "unknown", os.getpid())
            except StoreError as exc:
                raise task.retry(
                    exc=exc, countdown=STORE_UNAVAILABLE_RETRY_S, max_retries=None
                ) from exc
            except Deferred as exc:
                self._store.mark_dispatched([request.id], now())  # sent again: not lost
                raise task.retry(exc=exc, countdown=PLAN_LIMIT_RETRY_S, max_retries=None) from exc
            if record is None:
                raise Ignore()  # stale or duplicate message: the record says it must not run
            setattr(request, CLAIMED, record)  # the task_success handler completes from it
            bind_task(record.id, record.workspace_id)  # log records name the task (taskhub.logs)
            tracing.annotate(workspace_id=record.workspace_id, attempt=record.attempt)
            try:
                return self.run_body(definition, record, kwargs)
            except Superseded:
                raise Ignore() from None  # another execution owns the record: record nothing
            except Stop as stop:
                lifecycle.stop(record, stop.outcome)
                raise Ignore() from None
            except Exception as exc:
                failure = timed_out(record, exc) if isinstance(exc, SoftTimeLimitExceeded) else exc
                retry = self.planned_retry(definition, record, failure)
                if retry is not None:
                    raise retry from exc
                if failure is exc:
                    raise
                raise failure from exc

        run.__name__ = definition.fn.__name__
        run.__doc__ = definition.description
        bound: Task = self.app.task(
            run, name=definition.name, bind=True, base=TaskhubTask, shared=False
        )
        self.definitions[definition.name] = definition
        return bound

    def run_body(
        self, definition: TaskDefinition, record: TaskRecord, kwargs: dict[str, Any]
    ) -> Any:
        """Run the task body for a claimed record; ``Stop`` ends it at a checkpoint."""
        ctx = TaskContext(self._runs, self._outputs, record, definition, self._edges)
        self._heartbeat.track(record)
        try:
            return definition.fn(ctx, **definition.inputs.for_body(kwargs))
        finally:
            self._heartbeat.track(None)

    def planned_retry(
        self, definition: TaskDefinition, record: TaskRecord, exc: BaseException
    ) -> PlannedRetry | None:
        """A retry to raise instead of ``exc``, or ``None`` when this failure is final."""
        delay = self._retry_delay(definition, record, exc)
        return None if delay is None else PlannedRetry(error_info(exc), delay)

    def _retry_delay(
        self, definition: TaskDefinition, record: TaskRecord, exc: BaseException
    ) -> float | None:
        return plan_retry(
            record,
            exc,
            dont_retry=definition.dont_retry,
            now=datetime.now(UTC),
            cap_s=self._settings.max_retry_delay_s,
        )

    def hard_time_limit(self, task_id: str, exc: BaseException) -> None:
        """The body ignored its soft limit and was killed: fail it, or retry if allowed — only
        if the record still belongs to the killed execution."""
        executor = KILLED_AT_HARD_LIMIT.pop(task_id, None)
        if executor is None:
            return
        record = self._store.get(task_id)
        failure = timed_out(record, exc)
        failure.args = (f"{failure} (killed at the hard limit)",)
        delay = self._retry_delay(self.definitions[record.task_name], record, failure)
        if delay is None:
            self._lifecycle.fail(task_id, error_info(failure), executor=executor)
        else:
            self._lifecycle.schedule_retry(task_id, error_info(failure), delay, executor=executor)


def timed_out(record: TaskRecord, cause: BaseException | None = None) -> TimedOut:
    """The error a record shows when its body was stopped by a time limit."""
    limit = record.options.timeout_s
    deadline = record.options.deadline
    message = f"timed out after {limit:g} s"
    if deadline is not None and record.started_at is not None:
        left = (deadline - record.started_at).total_seconds()
        if left < limit:
            message = f"deadline exceeded: stopped after {left:.3g} s"
    error = TimedOut(message)
    error.__cause__ = cause
    return error
