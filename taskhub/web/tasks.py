"""The task history and a task's page, with the actions people take on a task."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from taskhub.domain.errors import NotFoundError, TransitionError, ValidationError
from taskhub.domain.records import TaskRecord
from taskhub.domain.states import Status, TaskType
from taskhub.hub import TaskHub
from taskhub.web import sessions, taskpage, views
from taskhub.web.common import CsrfField, HubDep, Viewer, ViewerDep, message, not_found, page

router = APIRouter(include_in_schema=False)

Action = Literal["cancel", "pause", "resume", "retry"]


@router.get("/")
def history(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    """The workspace's tasks, newest first; filters and paging in the URL query.
    ``&fragment=rows``: the live region alone (count and rows), which the first page re-fetches
    as tasks change (``static/history.js``)."""
    try:
        listing = views.Listing.parse(request.query_params)
    except ValidationError as exc:
        return message(request, 422, "Invalid filter", f"{exc.field}: {exc.message}")
    fragment = request.query_params.get("fragment")
    if fragment not in (None, "rows"):
        return message(request, 422, "Invalid filter", "fragment: must be rows")
    where = listing.where(viewer.workspace.id)
    found = hub.tasks.list_tasks(
        where, limit=listing.limit, skip=listing.skip, count_up_to=views.COUNT_UP_TO
    )
    context = {
        "viewer": viewer,
        "listing": listing,
        "page": found,
        "count": views.count(found, "task"),
        "statuses": list(Status),
        "types": list(TaskType),
        "previous_url": listing.previous_url(),
        "next_url": listing.next_url(found),
    }
    return page(request, "_history_rows.html" if fragment else "tasks.html", context)


@router.get("/tasks/{task_id}")
def task_page(request: Request, hub: HubDep, viewer: ViewerDep, task_id: str) -> HTMLResponse:
    try:
        record = hub.tasks.get(viewer.workspace.id, task_id)
    except NotFoundError:
        return _not_found(request, task_id)
    return task_view(request, hub, viewer, record)


@router.get("/tasks/{task_id}/live")
def task_live(
    request: Request,
    hub: HubDep,
    viewer: ViewerDep,
    task_id: str,
    open: Annotated[list[str] | None, Query(max_length=100)] = None,
    tab: Annotated[str | None, Query(max_length=500)] = None,
) -> HTMLResponse:
    """The page's live region alone (``task_live.html``), for htmx to swap in; ``open`` (the
    steps whose detail is open) and ``tab`` (the output shown) keep what the person opened."""
    try:
        record = hub.tasks.get(viewer.workspace.id, task_id)
    except NotFoundError:
        return _not_found(request, task_id)
    state = taskpage.State(frozenset(open or ()), tab)
    return page(request, "task_live.html", taskpage.context(hub, viewer, record, state))


def task_view(
    request: Request,
    hub: TaskHub,
    viewer: Viewer,
    record: TaskRecord,
    *,
    error: str | None = None,
    run_error: str | None = None,
    run_input: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A task's page: its live region, then "Run a new task" and "Compare with..."."""
    context = taskpage.context(hub, viewer, record)
    context.update(
        error=error,
        run_error=run_error,
        run_input=taskpage.input_text(record.input) if run_input is None else run_input,
        run_url=taskpage.run_url(record.task_name),
        runs=taskpage.recent_runs(hub, viewer, record),
    )
    return page(request, "task.html", context, status_code)


def _not_found(request: Request, task_id: str) -> HTMLResponse:
    return not_found(request, "task", task_id)


@router.post("/tasks/{task_id}/{action}")
def act(
    request: Request,
    hub: HubDep,
    viewer: ViewerDep,
    task_id: str,
    action: Action,
    csrf_token: CsrfField = None,
) -> Response:
    """A person's action (``hub.tasks.act``), then back to the task's page."""
    sessions.check_csrf(viewer.session, csrf_token)
    try:
        hub.tasks.act(viewer.workspace.id, action, task_id)
    except NotFoundError:
        return _not_found(request, task_id)
    except TransitionError as exc:
        record = hub.tasks.get(viewer.workspace.id, task_id)
        reason = f"Cannot {action}: {exc.reason}."
        return task_view(request, hub, viewer, record, error=reason, status_code=409)
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.get("/tasks/{task_id}/outputs/{name:path}")
def output(
    request: Request,
    hub: HubDep,
    viewer: ViewerDep,
    task_id: str,
    name: str,
    download: Annotated[bool, Query()] = False,
) -> Response:
    """One output, as text (never rendered as HTML by the browser); with ``?download=1``, as
    a file to save (``Content-Disposition: attachment``)."""
    try:
        found = hub.tasks.output(viewer.workspace.id, task_id, name)
    except NotFoundError as exc:
        return message(request, 404, "Not found", f"There is no {exc.kind} {exc.ident!r} here.")
    media = "application/json" if found.content_type == "application/json" else "text/plain"
    headers = {"X-Content-Type-Options": "nosniff"}
    if download:
        headers["Content-Disposition"] = taskpage.attachment(found.name, found.content_type)
    return Response(found.content, media_type=media, headers=headers)
