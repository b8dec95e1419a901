"""Tasks over HTTP: submit, list, read, act on, follow. Each route calls one service function.

Every route is scoped to the API key's workspace: another workspace's task is "not found",
exactly like a task that does not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from taskhub import streams as sse
from taskhub.api.deps import HubDep, WorkspaceDep, get_workspace
from taskhub.api.problems import problems
from taskhub.api.schemas import (
    AssumedUTC,
    BulkIn,
    BulkOut,
    DefinitionOut,
    ListParams,
    SubmitIn,
    TaskDetail,
    TaskPage,
)
from taskhub.domain.clock import now
from taskhub.domain.records import Output, TaskRecord
from taskhub.domain.serialize import definition_to_dict, record_to_dict
from taskhub.services import tasks as service

router = APIRouter(tags=["tasks"], responses=problems(401, 422))  # on every route

Action = Literal["cancel", "pause", "resume", "retry"]
NOT_DISPATCHED = (
    "Recorded and queued, but not yet on the broker (`dispatched: false`): the broker could not "
    "take it, and the sweep publishes it."
)
SAFE_FILENAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def existing_task(task_id: str, hub: HubDep, workspace: WorkspaceDep) -> TaskRecord:
    """The task, looked up before a stream starts (so a missing one is a plain 404)."""
    return hub.tasks.get(workspace.id, task_id)


def stream_start(
    since: Annotated[
        AssumedUTC | None, Query(description="Changes after this (ISO 8601; UTC if no offset).")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> datetime:
    """Where ``/events`` starts: ``since``, ``Last-Event-ID``, or now (read before streaming)."""
    return sse.resume_point(since, last_event_id) or now()


@router.get("/tasks", response_model=TaskPage)
def list_tasks(
    hub: HubDep, workspace: WorkspaceDep, params: Annotated[ListParams, Query()]
) -> dict[str, Any]:
    """Tasks, most recent first. Page with `limit` and `skip` (or `offset`), or with the cursor
    `after=<next_cursor>`; `total` counts every task matching the filters (up to
    `count_up_to`, if given)."""
    where = params.to_filter(workspace.id)
    page = hub.tasks.list_tasks(
        where,
        limit=params.limit,
        skip=params.start(),
        after=params.after,
        count_up_to=params.count_up_to,
    )
    items = [record_to_dict(record) for record in page.items]
    return {
        "items": items,
        "total": page.total,
        "total_exact": page.total_exact,
        "limit": page.limit,
        "skip": page.skip,
        "next_cursor": page.next_cursor,
    }


@router.post(
    "/tasks",
    status_code=201,
    response_model=TaskDetail,
    responses={
        200: {"model": TaskDetail, "description": "The Idempotency-Key was used before: its task."},
        201: {
            "description": "Recorded and on the broker (`dispatched: true`), or held for its "
            "`run_at` (`scheduled_for`; beat publishes it then)."
        },
        202: {"model": TaskDetail, "description": NOT_DISPATCHED},
        **problems(400, 403, 413),
    },
)
def submit(
    body: SubmitIn,
    hub: HubDep,
    workspace: WorkspaceDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    """Submit a task: 201 with the new record; 202 if it is recorded but the broker could not
    take it yet (`dispatched: false`; the sweep publishes it). A repeated idempotency key
    (header or body) answers 200 with the task it created."""
    ask = body.submission(idempotency_key)
    record, created = hub.tasks.submit_checked(
        workspace, body.task, body.input, ask, depends_on=body.depends_on
    )
    response.status_code = (202 if record.awaits_publish(now()) else 201) if created else 200
    response.headers["Location"] = f"/api/v1/tasks/{record.id}"
    return record_to_dict(record)


@router.post("/tasks/bulk", response_model=BulkOut, responses=problems(400, 413))
def bulk(body: BulkIn, hub: HubDep, workspace: WorkspaceDep) -> dict[str, Any]:
    """One action on many tasks of this workspace, by `ids` or by `filter` (at most
    `max_tasks`, newest first). Tasks the action does not apply to are `skipped`, with why."""
    result = hub.tasks.bulk(workspace.id, body.action, body.target(workspace.id))
    return {
        "action": result.action,
        "changed": result.changed,
        "skipped": [{"id": ident, "reason": reason} for ident, reason in result.skipped],
        "matched": result.matched,
        "capped": result.capped,
        "max_tasks": service.BULK_MAX,
    }


@router.get("/tasks/{task_id}", response_model=TaskDetail, responses=problems(404))
def get_task(task_id: str, hub: HubDep, workspace: WorkspaceDep) -> dict[str, Any]:
    """One task: status, progress, steps, attempts with their errors, output names."""
    return record_to_dict(hub.tasks.get(workspace.id, task_id))


def _action_route(action: Action, summary: str) -> None:
    def act(
        task_id: str, hub: HubDep, workspace: WorkspaceDep, response: Response
    ) -> dict[str, Any]:
        record = hub.tasks.act(workspace.id, action, task_id)
        if record.awaits_publish(now()):
            response.status_code = 202  # queued again, but the broker could not take it yet
        return record_to_dict(record)

    act.__doc__ = summary
    router.add_api_route(
        f"/tasks/{{task_id}}/{action}",
        act,
        methods=["POST"],
        name=f"{action}_task",
        response_model=TaskDetail,
        responses={202: {"model": TaskDetail, "description": NOT_DISPATCHED}, **problems(404, 409)},
    )


_action_route("cancel", "Cancel: a waiting or paused task now, a running one at its checkpoint.")
_action_route("pause", "Pause: a waiting task now, a running one at its next step boundary.")
_action_route("resume", "Resume a paused task; it continues after its last completed step.")
_action_route("retry", "Run a failed or cancelled task again: a new run, with all its retries.")


@router.get(
    "/tasks/{task_id}/outputs/{name:path}",
    response_class=Response,
    responses={
        200: {
            "description": "The output: JSON outputs as application/json, text as text/plain.",
            "content": {"application/json": {}, "text/plain": {"schema": {"type": "string"}}},
        },
        **problems(404),
    },
)
def get_output(
    task_id: str,
    name: str,
    hub: HubDep,
    workspace: WorkspaceDep,
    download: Annotated[bool, Query(description="Send as an attachment named `name`.")] = False,
) -> Response:
    """One named output of a task."""
    output = hub.tasks.output(workspace.id, task_id, name)
    headers = {"Content-Disposition": _attachment(output.name)} if download else None
    return Response(output.content, media_type=_media_type(output), headers=headers)


def _media_type(output: Output) -> str:
    return "application/json" if output.content_type == "application/json" else "text/plain"


def _attachment(name: str) -> str:
    """``attachment; filename="name"`` (and an RFC 6266 ``filename*`` for other characters)."""
    plain = "".join(ch if ch in SAFE_FILENAME else "_" for ch in name) or "output"
    value = f'attachment; filename="{plain}"'
    return value if plain == name else f"{value}; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/tasks/{task_id}/events",
    response_class=EventSourceResponse,
    responses=problems(401, 404, 422, streaming=True),
)
async def task_events(
    hub: HubDep,
    record: Annotated[TaskRecord, Depends(existing_task)],
    slot: Annotated[sse.StreamSlot, Depends(sse.stream_slot)],
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events for one task: its state now, then each status, step or progress
    change (`event: task`); the stream ends after the final status (completed, failed,
    cancelled)."""
    async for item in sse.task_stream(slot, hub, record.workspace_id, record.id):
        yield item


@router.get(
    "/events", response_class=EventSourceResponse, responses=problems(401, 422, streaming=True)
)
async def workspace_events(
    hub: HubDep,
    workspace: WorkspaceDep,
    start: Annotated[datetime, Depends(stream_start)],
    slot: Annotated[sse.StreamSlot, Depends(sse.stream_slot)],
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events for every task of the workspace (`event: task`), from `since` or
    `Last-Event-ID` (else from now); `: keep-alive` comments while nothing changes."""
    async for item in sse.workspace_stream(slot, hub, workspace.id, start):
        yield item


@router.get(
    "/task-definitions", response_model=list[DefinitionOut], dependencies=[Depends(get_workspace)]
)
def task_definitions(hub: HubDep) -> list[dict[str, Any]]:
    """The registered tasks and the defaults a submission gets."""
    return [definition_to_dict(d, hub.settings) for d in hub.tasks.definitions()]
