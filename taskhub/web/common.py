"""What every dashboard page shares: templates, who is looking (:class:`Viewer`), and rendering.

Each area of the dashboard is a module with its own ``router`` (``signin``, ``tasks``, ``live``
...), listed once in :data:`taskhub.web.ROUTERS`. A page depends on :data:`ViewerDep` (signed in,
its key still live; else a redirect to ``/login``) and calls the services through the hub,
scoped to ``viewer.workspace``: another workspace's record is "not found", as in the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from taskhub.domain.errors import AuthError
from taskhub.domain.records import Workspace
from taskhub.hub import TaskHub
from taskhub.web import sessions, views
from taskhub.web.sessions import SignInRequired, WebSession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(
    badge=views.badge_class, label=views.status_label, when=views.when, source=views.source
)

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


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def message(request: Request, status_code: int, title: str, text: str) -> HTMLResponse:
    viewer = _maybe_viewer(request)
    context = {"title": title, "text": text, "viewer": viewer}
    return page(request, "message.html", context, status_code)


def not_found(request: Request, kind: str, ident: str) -> HTMLResponse:
    """The 404 page of a record this workspace does not have (another workspace's included)."""
    return message(request, 404, "Not found", f"There is no {kind} {ident!r} in this workspace.")


def _maybe_viewer(request: Request) -> Viewer | None:
    try:
        return get_viewer(request, get_hub(request))
    except SignInRequired:
        return None
