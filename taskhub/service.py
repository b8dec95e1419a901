"""The service layer: what the SDK, CLI and (later) the REST API and dashboard all call.

Every function is scoped to one workspace. No query is built here: the store owns SQL, the
state machine owns transitions, the dispatcher owns publishing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from .clock import now
from .errors import TaskTimeoutError, TransitionError, ValidationError
from .notifications import describe, fire
from .records import NewTask, Output, TaskRecord
from .registry import lookup
from .states import Outcome, Status
from .store import TaskFilter
from .submissions import Submission, build

if TYPE_CHECKING:
    from .hub import TaskHub

SUBMIT_BATCH = 1000
PENDING_KEY = "taskhub.pending_publish"


def submit(
    hub: TaskHub,
    workspace_id: str,
    task_name: str,
    task_input: object = None,
    ask: Submission | None = None,
    *,
    session: Session | None = None,
) -> TaskRecord:
    """Write the record, commit, then publish. Inside ``session``: publish after its commit."""
    new = _build(hub, workspace_id, task_name, task_input, ask or Submission())
    if session is not None:
        record = hub.store.insert_idempotent(new, conn=session.connection())
        if record.id == new.id:
            _publish_after_commit(hub, session, record)
        return record
    record = hub.store.insert_idempotent(new)
    if record.id == new.id:
        hub.dispatcher.publish_quietly([record])
    return record


def submit_many(
    hub: TaskHub,
    workspace_id: str,
    task_name: str,
    inputs: Iterable[object],
    ask: Submission | None = None,
) -> list[str]:
    """Insert and publish in batches; returns the new ids in input order."""
    ask = ask or Submission()
    if ask.idempotency_key is not None:
        raise ValidationError("idempotency_key", "is not supported by submit_many")
    news = [_build(hub, workspace_id, task_name, item, ask) for item in inputs]
    for start in range(0, len(news), SUBMIT_BATCH):
        batch = news[start : start + SUBMIT_BATCH]
        hub.store.insert_tasks(batch)
        hub.dispatcher.publish_quietly([new.as_record() for new in batch])
    return [new.id for new in news]


def _build(
    hub: TaskHub, workspace_id: str, task_name: str, task_input: object, ask: Submission
) -> NewTask:
    definition = lookup(task_name)
    return build(
        definition, task_input, ask, settings=hub.settings, workspace_id=workspace_id, now=now()
    )


def _publish_after_commit(hub: TaskHub, session: Session, record: TaskRecord) -> None:
    pending: list[TaskRecord] | None = session.info.get(PENDING_KEY)
    if pending is None:
        pending = session.info[PENDING_KEY] = []

        @event.listens_for(session, "after_commit")
        def publish(_: Session) -> None:
            records = list(session.info.get(PENDING_KEY, []))
            session.info[PENDING_KEY] = []
            hub.dispatcher.publish_quietly(records)

        @event.listens_for(session, "after_soft_rollback")
        def forget(_: Session, __: Any) -> None:
            session.info[PENDING_KEY] = []  # rolled back: those records never existed

    session.info[PENDING_KEY].append(record)


# -- reading ---------------------------------------------------------------------------------


def get(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    return hub.store.get(task_id, workspace_id, detail=True)


def list_tasks(
    hub: TaskHub,
    workspace_id: str,
    *,
    status: Status | None = None,
    task_name: str | None = None,
    limit: int = 25,
    skip: int = 0,
) -> tuple[list[TaskRecord], int]:
    where = TaskFilter(workspace_id, status=status, task_name=task_name)
    return hub.store.list_tasks(where, limit=limit, skip=skip)


def output(hub: TaskHub, workspace_id: str, task_id: str, name: str) -> Output:
    hub.store.get(task_id, workspace_id)  # scope check: another workspace's task is not found
    return hub.runs.get_output(task_id, name)


def wait(
    hub: TaskHub, workspace_id: str, task_id: str, *, timeout_s: float = 60.0, poll_s: float = 0.1
) -> TaskRecord:
    """Poll until the task reaches a final status; ``TaskTimeoutError`` past ``timeout_s``."""
    give_up = time.monotonic() + timeout_s
    while True:
        record = hub.store.get(task_id, workspace_id)
        if record.status.is_final:
            return hub.store.get(task_id, workspace_id, detail=True)
        if time.monotonic() >= give_up:
            raise TaskTimeoutError(task_id, record.status.value, timeout_s)
        time.sleep(poll_s)


# -- people's actions ------------------------------------------------------------------------


def cancel(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    """Waiting or paused: cancelled now. Running: asked to stop at its next checkpoint."""
    at = now()
    record = hub.store.transition(
        task_id,
        "cancel",
        {"finished_at": at},
        workspace_id=workspace_id,
        notify=describe(Outcome.CANCELLED),
    )
    if record is not None:
        fire(describe(Outcome.CANCELLED)(record), record)
        return record
    return _request(hub, workspace_id, task_id, "cancel", {"cancel_requested_at": at})


def pause(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    """Waiting: paused now. Running: paused at its next step boundary."""
    record = hub.store.transition(task_id, "pause", {}, workspace_id=workspace_id)
    if record is not None:
        return record
    return _request(hub, workspace_id, task_id, "pause", {"pause_requested_at": now()})


def resume(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    """Paused: queued again, continuing after its last completed step."""
    values = {"dispatched_at": None, "pause_requested_at": None}
    record = hub.store.transition(task_id, "resume", values, workspace_id=workspace_id)
    if record is None:
        current = hub.store.get(task_id, workspace_id)
        if current.status is Status.IN_PROGRESS and current.pause_requested_at is not None:
            return _request(hub, workspace_id, task_id, "resume", {"pause_requested_at": None})
        raise TransitionError(task_id, "resume", current.status.value)
    hub.dispatcher.publish_quietly([record])
    return record


def retry(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    """Failed or cancelled: run again as a new attempt (completed steps are kept)."""
    record = hub.store.rerun(task_id, workspace_id)
    hub.dispatcher.publish_quietly([record])
    return record


def _request(
    hub: TaskHub, workspace_id: str, task_id: str, action: str, values: dict[str, Any]
) -> TaskRecord:
    record = hub.store.request_running(task_id, workspace_id, values)
    if record is None:
        current = hub.store.get(task_id, workspace_id)
        raise TransitionError(task_id, action, current.status.value)
    return record
