"""The dashboard's pages, server-rendered (Jinja2; htmx vendored under ``/static``).

Each page calls the same service functions as the REST API (``hub.tasks.list_tasks``, ``get``,
``act``, ``output``; ``hub.accounts.identify``), scoped to the signed-in workspace: another
workspace's task is "not found", as in the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from taskhub.domain.errors import AuthError, NotFoundError, TransitionError, ValidationError
from taskhub.domain.records import Output, TaskRecord, Workspace
from taskhub.domain.states import Status, TaskType
from taskhub.hub import TaskHub
from taskhub.web import sessions, views
from taskhub.web.sessions import CsrfRefused, SignInRequired, WebSession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(badge=views.badge_class, label=views.status_label, when=views.when)
router = APIRouter(include_in_schema=False)

Action = Literal["cancel", "pause", "resume", "retry"]
CsrfField = Annotated[str | None, Form(alias="csrf_token")]


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the signed-in session and its workspace."""

    session: WebSession
    workspace: Workspace


def get_hub(request: Request) -> TaskHub:
    hub: TaskHub = request.app.state.hub
    return hub


HubDep = Annotated[TaskHub, Depends(get_hub)]


def get_viewer(request: Request, hub: HubDep) -> Viewer:
    """The signed-in session, its key still live; else ``SignInRequired`` (→ ``/login``)."""
    session = sessions.read(request)
    if session is None or session.key_id is None:
        raise SignInRequired()
    try:
        workspace = hub.accounts.by_key_id(session.key_id)
    except AuthError:
        raise SignInRequired() from None
    if workspace.id != session.workspace_id:
        raise SignInRequired()
    return Viewer(session, workspace)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def install(app: FastAPI) -> None:
    """Serve the dashboard from ``app``: its pages at ``/``, its files at ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="web-static")
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(CsrfRefused, _csrf_refused)


def _to_sign_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


def _csrf_refused(request: Request, exc: Exception) -> Response:
    return message(request, 403, "Refused", "This form has expired. Reload the page and retry.")


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def message(request: Request, status_code: int, title: str, text: str) -> HTMLResponse:
    viewer = _maybe_viewer(request)
    context = {"title": title, "text": text, "viewer": viewer}
    return page(request, "message.html", context, status_code)


def _maybe_viewer(request: Request) -> Viewer | None:
    try:
        return get_viewer(request, get_hub(request))
    except SignInRequired:
        return None


# -- signing in ----------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request, sessions.anonymous(request))


def _login_page(
    request: Request, session: WebSession, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    context = {"csrf": session.csrf, "error": error, "viewer": None}
    response = page(request, "login.html", context, status_code)
    sessions.save(request, response, session)
    return response


@router.post("/login")
def login(
    request: Request,
    hub: HubDep,
    csrf_token: CsrfField = None,
    api_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    session = sessions.read(request)
    sessions.check_csrf(session, csrf_token)
    assert session is not None
    try:
        workspace, key_id = hub.accounts.identify(api_key.strip())
    except AuthError:
        error = "That API key is not valid (unknown or revoked)."
        return _login_page(request, session, error, 401)
    response = RedirectResponse("/", status_code=303)
    sessions.save(request, response, sessions.signed_in(workspace.id, key_id))
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: CsrfField = None) -> Response:
    sessions.check_csrf(sessions.read(request), csrf_token)
    response = RedirectResponse("/login", status_code=303)
    sessions.forget(request, response)
    return response


# -- tasks ---------------------------------------------------------------------------------------


@router.get("/")
def history(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    """The workspace's tasks, newest first; filters and paging in the URL query."""
    try:
        listing = views.Listing.parse(request.query_params)
    except ValidationError as exc:
        return message(request, 422, "Invalid filter", f"{exc.field}: {exc.message}")
    found = hub.tasks.list_tasks(
        listing.where(viewer.workspace.id), limit=listing.limit, skip=listing.skip
    )
    context = {
        "viewer": viewer,
        "listing": listing,
        "page": found,
        "statuses": list(Status),
        "types": list(TaskType),
        "previous_url": listing.previous_url(),
        "next_url": listing.next_url(found),
    }
    return page(request, "tasks.html", context)


@router.get("/tasks/{task_id}")
def task_page(request: Request, hub: HubDep, viewer: ViewerDep, task_id: str) -> HTMLResponse:
    try:
        record = hub.tasks.get(viewer.workspace.id, task_id)
    except NotFoundError:
        return _not_found(request, task_id)
    return _task_page(request, hub, viewer, record)


def _task_page(
    request: Request,
    hub: TaskHub,
    viewer: Viewer,
    record: TaskRecord,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    definition = hub.tasks.definition(record.task_name)
    outputs: list[Output] = []
    if len(record.output_names) == 1:
        outputs = [hub.tasks.output(viewer.workspace.id, record.id, record.output_names[0])]
    context = {
        "viewer": viewer,
        "task": record,
        "description": definition.description if definition else "",
        "percent": views.percent(record),
        "actions": views.actions(record),
        "single_output": outputs[0] if outputs else None,
        "error": error,
    }
    return page(request, "task.html", context, status_code)


def _not_found(request: Request, task_id: str) -> HTMLResponse:
    return message(request, 404, "Not found", f"There is no task {task_id!r} in this workspace.")


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
        return _task_page(request, hub, viewer, record, f"Cannot {action}: {exc.reason}.", 409)
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.get("/tasks/{task_id}/outputs/{name:path}")
def output(request: Request, hub: HubDep, viewer: ViewerDep, task_id: str, name: str) -> Response:
    """One output, as text (never rendered as HTML by the browser)."""
    try:
        found = hub.tasks.output(viewer.workspace.id, task_id, name)
    except NotFoundError as exc:
        return message(request, 404, "Not found", f"There is no {exc.kind} {exc.ident!r} here.")
    media = "application/json" if found.content_type == "application/json" else "text/plain"
    return Response(found.content, media_type=media, headers={"X-Content-Type-Options": "nosniff"})
