"""Running tasks from the dashboard: the registered tasks (``/definitions``), one task's page
with the box that starts it (``/definitions/NAME``, the "source" page of a manual task), and the
submission itself (``POST /definitions/NAME/run``), which a task's page also posts to.

A submission goes through the service with the workspace's plan rules
(``hub.tasks.submit_checked``). Bad JSON or input the task refuses re-renders the page it came
from with the field at fault (422) and the text as typed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from taskhub.domain.errors import NotFoundError, PlanError, ValidationError
from taskhub.domain.paging import TaskFilter
from taskhub.domain.registry import TaskDefinition
from taskhub.hub import TaskHub
from taskhub.web import sessions, taskpage
from taskhub.web.common import CsrfField, HubDep, Viewer, ViewerDep, message, page
from taskhub.web.tasks import task_view

router = APIRouter(include_in_schema=False)

RECENT = 10  # recent runs listed on a definition's page
MAX_INPUT_CHARS = 1_000_000
PLACEHOLDERS: dict[str, Any] = {
    "string": "",
    "integer": 0,
    "number": 0,
    "boolean": False,
    "array": [],
    "object": {},
}


@router.get("/definitions")
def definitions(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    """Every registered task: name, description, defaults."""
    context = {"viewer": viewer, "definitions": hub.tasks.definitions(), "url": definition_url}
    return page(request, "definitions.html", context)


@router.get("/definitions/{name}")
def definition(request: Request, hub: HubDep, viewer: ViewerDep, name: str) -> HTMLResponse:
    found = hub.tasks.definition(name)
    if found is None:
        return _unknown(request, name)
    return _definition_page(request, hub, viewer, found, skeleton_text(found.inputs.schema))


@router.post("/definitions/{name}/run")
def run(
    request: Request,
    hub: HubDep,
    viewer: ViewerDep,
    name: str,
    input: Annotated[str, Form(max_length=MAX_INPUT_CHARS)] = "",
    from_task: Annotated[str | None, Form(max_length=200)] = None,
    csrf_token: CsrfField = None,
) -> Response:
    """Submit a new task of ``name`` with the JSON ``input``; then to the new task's page."""
    sessions.check_csrf(viewer.session, csrf_token)
    found = hub.tasks.definition(name)
    if found is None:
        return _unknown(request, name)
    try:
        record, _ = hub.tasks.submit_checked(viewer.workspace, name, parse_input(input))
    except ValidationError as exc:
        problem = "; ".join(f"{field}: {text}" for field, text in exc.errors)
        return _refused(request, hub, viewer, found, input, from_task, problem, 422)
    except PlanError as exc:
        return _refused(request, hub, viewer, found, input, from_task, str(exc), 403)
    return RedirectResponse(f"/tasks/{record.id}", status_code=303)


def parse_input(text: str) -> object:
    """The box's JSON; ``ValidationError`` on ``input`` saying where it is not JSON."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValidationError("input", f"is not valid JSON ({exc.msg} at {where})") from None


def skeleton(schema: dict[str, Any]) -> dict[str, Any]:
    """An input to start from: each property of the task's input schema, at its default or an
    empty value of its type."""
    found: dict[str, Any] = {}
    for key, spec in schema.get("properties", {}).items():
        if "default" in spec:
            found[key] = spec["default"]
        else:
            found[key] = PLACEHOLDERS.get(spec.get("type", ""))
    return found


def skeleton_text(schema: dict[str, Any]) -> str:
    return taskpage.input_text(skeleton(schema))


def definition_url(name: str) -> str:
    return f"/definitions/{quote(name, safe='')}"


def _refused(
    request: Request,
    hub: TaskHub,
    viewer: Viewer,
    found: TaskDefinition,
    text: str,
    from_task: str | None,
    problem: str,
    status_code: int,
) -> HTMLResponse:
    """The page the box was on, again, with ``problem`` and the text as typed."""
    if from_task:
        try:
            record = hub.tasks.get(viewer.workspace.id, from_task)
        except NotFoundError:
            pass
        else:
            if record.task_name == found.name:
                return task_view(
                    request,
                    hub,
                    viewer,
                    record,
                    run_error=problem,
                    run_input=text,
                    status_code=status_code,
                )
    return _definition_page(request, hub, viewer, found, text, problem, status_code)


def _definition_page(
    request: Request,
    hub: TaskHub,
    viewer: Viewer,
    found: TaskDefinition,
    text: str,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    where = TaskFilter(viewer.workspace.id, task_name=found.name)
    context = {
        "viewer": viewer,
        "definition": found,
        "schema": json.dumps(found.inputs.schema, indent=2),
        "run_url": taskpage.run_url(found.name),
        "run_input": text,
        "run_error": error,
        "recent": hub.tasks.list_tasks(where, limit=RECENT).items,
    }
    return page(request, "definition.html", context, status_code)


def _unknown(request: Request, name: str) -> HTMLResponse:
    return message(request, 404, "Not found", f"No task is registered under the name {name!r}.")
