"""The service layer: what the SDK, CLI, REST API and (later) the dashboard all call.

Every function is scoped to one workspace. No query is built here: the store owns SQL, the
state machine owns transitions, the dispatcher owns publishing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from taskhub.domain.clock import now
from taskhub.domain.errors import NotFoundError, TaskTimeoutError, TransitionError, ValidationError
from taskhub.domain.paging import Page, decode_cursor, encode_cursor
from taskhub.domain.policy import check_submission
from taskhub.domain.records import NewTask, Output, TaskChange, TaskRecord, Workspace
from taskhub.domain.registry import TaskDefinition, lookup
from taskhub.domain.states import Outcome, Status
from taskhub.domain.submissions import Submission, build
from taskhub.services.notifications import announce, describe
from taskhub.store.tasks import TaskFilter

if TYPE_CHECKING:
    from taskhub.hub import TaskHub

SUBMIT_BATCH = 1000
PENDING_KEY = "taskhub.pending_publish"
MAX_LIST_LIMIT = 1000
BULK_MAX = 10_000  # the most tasks one bulk action touches
NO_STEPS = (
    "it has no steps: a running task pauses only at a step boundary; "
    "declare steps=(...) on @task or cancel it"
)


def submit(
    hub: TaskHub,
    workspace_id: str,
    task_name: str,
    task_input: object = None,
    ask: Submission | None = None,
    *,
    session: Session | None = None,
) -> TaskRecord:
    """Write the record, commit, then publish; returns it dispatched, or (the broker failed)
    with no ``dispatched_at`` and the reason in ``dispatch_error``: the sweep publishes it.
    Inside ``session``: published after its commit (the record returned is not yet)."""
    new = _build(hub, workspace_id, task_name, task_input, ask or Submission())
    if session is not None:
        record = hub.store.insert_idempotent(new, conn=session.connection())
        if record.id == new.id:
            _publish_after_commit(hub, session, record)
        return record
    return _insert_and_publish(hub, new)[0]


def submit_checked(
    hub: TaskHub,
    workspace: Workspace,
    task_name: str,
    task_input: object = None,
    ask: Submission | None = None,
    *,
    depends_on: Sequence[str] | None = None,
) -> tuple[TaskRecord, bool]:
    """Submit on behalf of ``workspace`` within what its plan allows (:mod:`taskhub.domain.policy`).

    Returns the record (as :func:`submit` does) and whether it is new (``False``: its
    idempotency key was used before).
    """
    ask = ask or Submission()
    check_submission(workspace, ask, depends_on)
    return _insert_and_publish(hub, _build(hub, workspace.id, task_name, task_input, ask))


def _insert_and_publish(hub: TaskHub, new: NewTask) -> tuple[TaskRecord, bool]:
    record = hub.store.insert_idempotent(new)
    created = record.id == new.id
    if created:
        record = _publish(hub, record)
    return record, created


def _publish(hub: TaskHub, record: TaskRecord) -> TaskRecord:
    """Publish for a caller waiting on the answer: the record dispatched, or why not."""
    return hub.dispatcher.publish_quietly([record], interactive=True)[0]


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
        hub.dispatcher.publish_quietly([new.as_record() for new in batch], interactive=True)
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
            hub.dispatcher.publish_quietly(records, interactive=True)

        @event.listens_for(session, "after_soft_rollback")
        def forget(_: Session, __: Any) -> None:
            session.info[PENDING_KEY] = []  # rolled back: those records never existed

    session.info[PENDING_KEY].append(record)


# -- reading ---------------------------------------------------------------------------------


def get(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    return hub.store.get(task_id, workspace_id, detail=True)


def list_tasks(
    hub: TaskHub, where: TaskFilter, *, limit: int = 25, skip: int = 0, after: str | None = None
) -> Page:
    """Tasks of ``where.workspace_id`` matching ``where``, newest first: by ``skip`` or by the
    cursor ``after`` (a ``next_cursor``; then ``skip`` must be 0)."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValidationError("limit", f"must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
    if skip < 0:
        raise ValidationError("skip", f"must be 0 or more, got {skip}")
    position = decode_cursor(after) if after is not None else None
    if position is not None and skip:
        raise ValidationError("skip", "must be 0 when paging with a cursor (after)")
    items, total, more = hub.queries.list_tasks(where, limit=limit, skip=skip, after=position)
    next_cursor = encode_cursor(items[-1]) if more and items else None
    return Page(items, total, limit, skip, next_cursor)


def changes(
    hub: TaskHub,
    workspace_id: str,
    since: datetime | None,
    task_id: str | None = None,
    *,
    limit: int = 1000,
) -> list[TaskChange]:
    """What changed on the workspace's tasks (or on one) after ``since``, oldest first."""
    return hub.queries.changed_since(workspace_id, since, task_id, limit=limit)


def definitions(hub: TaskHub) -> list[TaskDefinition]:
    """The registered tasks, by name."""
    return sorted(hub.definitions.values(), key=lambda d: d.name)


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
        announce(hub, record, Outcome.CANCELLED)
        return record
    return _request(hub, workspace_id, task_id, "cancel", {"cancel_requested_at": at})


def pause(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    """Waiting: paused now. Running: paused at its next step boundary; refused if it has none
    (no declared steps, none begun), since it could only finish with the pause unheeded."""
    record = hub.store.transition(task_id, "pause", {}, workspace_id=workspace_id)
    if record is not None:
        return record
    current = hub.store.get(task_id, workspace_id)
    if current.status is Status.IN_PROGRESS and not _has_steps(hub, current):
        raise TransitionError(task_id, "pause", current.status.value, NO_STEPS)
    return _request(hub, workspace_id, task_id, "pause", {"pause_requested_at": now()})


def _has_steps(hub: TaskHub, record: TaskRecord) -> bool:
    """Whether a running task has a step boundary to pause at: declared steps, or step rows."""
    definition = hub.definitions.get(record.task_name)
    return bool(definition is not None and definition.steps) or bool(hub.runs.steps(record.id))


def resume(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    """Paused: queued again, continuing after its last completed step."""
    values = {"dispatched_at": None, "pause_requested_at": None}
    record = hub.store.transition(task_id, "resume", values, workspace_id=workspace_id)
    if record is None:
        current = hub.store.get(task_id, workspace_id)
        if current.status is Status.IN_PROGRESS and current.pause_requested_at is not None:
            return _request(hub, workspace_id, task_id, "resume", {"pause_requested_at": None})
        raise TransitionError(task_id, "resume", current.status.value)
    return _publish(hub, record)


def retry(hub: TaskHub, workspace_id: str, task_id: str) -> TaskRecord:
    """Failed or cancelled: run again as a new run, with its whole retry budget (its attempts
    count from 1 again; completed steps are kept)."""
    return _publish(hub, hub.store.rerun(task_id, workspace_id))


def _request(
    hub: TaskHub, workspace_id: str, task_id: str, action: str, values: dict[str, Any]
) -> TaskRecord:
    record = hub.store.request_running(task_id, workspace_id, values)
    if record is None:
        current = hub.store.get(task_id, workspace_id)
        raise TransitionError(task_id, action, current.status.value)
    return record


ACTIONS: dict[str, Callable[[TaskHub, str, str], TaskRecord]] = {
    "cancel": cancel,
    "pause": pause,
    "resume": resume,
    "retry": retry,
}


def _action(action: str) -> Callable[[TaskHub, str, str], TaskRecord]:
    try:
        return ACTIONS[action]
    except KeyError:
        raise ValidationError("action", f"must be one of {', '.join(ACTIONS)}") from None


def act(hub: TaskHub, workspace_id: str, action: str, task_id: str) -> TaskRecord:
    """Apply a person's ``action``; returns the record after it, with its detail."""
    _action(action)(hub, workspace_id, task_id)
    return get(hub, workspace_id, task_id)


@dataclass(frozen=True)
class BulkResult:
    """``matched``: tasks selected; ``capped``: more matched than :data:`BULK_MAX` (the newest
    were acted on)."""

    action: str
    changed: int
    skipped: list[tuple[str, str]]  # (task id, reason)
    matched: int
    capped: bool


def bulk(
    hub: TaskHub, workspace_id: str, action: str, target: Sequence[str] | TaskFilter
) -> BulkResult:
    """Apply ``action`` to the tasks ``target`` names (ids, or a filter) within the workspace;
    a task that does not allow it (or is not found) is skipped with the reason."""
    act_on = _action(action)
    if isinstance(target, TaskFilter):
        scoped = replace(target, workspace_id=workspace_id)
        ids, matched = hub.queries.task_ids(scoped, limit=BULK_MAX)
    else:
        ids = list(dict.fromkeys(target))
        matched = len(ids)
        if matched > BULK_MAX:
            raise ValidationError("ids", f"at most {BULK_MAX} tasks at a time, got {matched}")
    changed, skipped = 0, []
    for task_id in ids:
        try:
            act_on(hub, workspace_id, task_id)
            changed += 1
        except NotFoundError:
            skipped.append((task_id, "not found"))
        except TransitionError as exc:
            skipped.append((task_id, exc.reason))
    return BulkResult(action, changed, skipped, matched, matched > len(ids))
