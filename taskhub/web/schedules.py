"""The workspace's schedules: the list, one schedule's page (its audit trail and recent runs),
and the buttons pause / resume / run now, each calling ``hub.schedules`` as the API does.

Which plans may schedule is :mod:`taskhub.domain.plans`' rule (the service enforces it: a
Starter workspace's resume or run-now is refused there); the page only says so up front.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from taskhub.domain.errors import ConflictError, NotFoundError, PlanError, ValidationError
from taskhub.domain.paging import TaskFilter
from taskhub.domain.plans import Feature, Plan, allows
from taskhub.domain.records import Workspace
from taskhub.domain.schedule_records import Schedule
from taskhub.domain.schedules import describe
from taskhub.hub import TaskHub
from taskhub.web import sessions
from taskhub.web.common import CsrfField, HubDep, Viewer, ViewerDep, not_found, page
from taskhub.web.pager import PagerDep

router = APIRouter(include_in_schema=False)

Action = Literal["pause", "resume", "run-now"]
RECENT_RUNS = 10


def plan_note(workspace: Workspace) -> str | None:
    """What to say when the workspace's plan does not include scheduled tasks."""
    if allows(Plan(workspace.plan), Feature.SCHEDULED):
        return None
    plans = " or ".join(p.value.capitalize() for p in Plan if allows(p, Feature.SCHEDULED))
    current = workspace.plan.capitalize()
    return f"Scheduled tasks need the {plans} plan; this workspace is on {current}."


@router.get("/schedules")
def schedules(request: Request, hub: HubDep, viewer: ViewerDep, pager: PagerDep) -> HTMLResponse:
    """Both kinds of schedule (``api`` and ``code``), oldest first, as the API lists them."""
    items, total = hub.schedules.page(viewer.workspace.id, limit=pager.limit, skip=pager.skip)
    context = {
        "viewer": viewer,
        "schedules": items,
        "words": {s.id: describe(s.cron) for s in items},
        "plan_note": plan_note(viewer.workspace),
        **pager.links(len(items), total),
    }
    return page(request, "schedules.html", context)


@router.get("/schedules/{schedule_id}")
def schedule_page(
    request: Request, hub: HubDep, viewer: ViewerDep, schedule_id: str
) -> HTMLResponse:
    try:
        schedule = hub.schedules.get(viewer.workspace.id, schedule_id)
    except NotFoundError:
        return _not_found(request, schedule_id)
    return _schedule_page(request, hub, viewer, schedule)


def _schedule_page(
    request: Request,
    hub: TaskHub,
    viewer: Viewer,
    schedule: Schedule,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    runs = hub.tasks.list_tasks(
        TaskFilter(viewer.workspace.id, origin=schedule.origin), limit=RECENT_RUNS
    )
    context = {
        "viewer": viewer,
        "schedule": schedule,
        "words": describe(schedule.cron),
        "trail": list(reversed(schedule.trail)),
        "runs": runs,
        "plan_note": plan_note(viewer.workspace),
        "error": error,
    }
    return page(request, "schedule.html", context, status_code)


def _not_found(request: Request, schedule_id: str) -> HTMLResponse:
    return not_found(request, "schedule", schedule_id)


@router.post("/schedules/{schedule_id}/{action}")
def act(
    request: Request,
    hub: HubDep,
    viewer: ViewerDep,
    schedule_id: str,
    action: Action,
    csrf_token: CsrfField = None,
    back: Literal["list", "schedule"] = Form("schedule"),
) -> Response:
    """Pause or resume (back to where the button was), or run now (to the new task's page)."""
    sessions.check_csrf(viewer.session, csrf_token)
    workspace = viewer.workspace
    try:
        if action == "run-now":
            record = hub.schedules.run_now(workspace, schedule_id)
            return RedirectResponse(f"/tasks/{record.id}", status_code=303)
        if action == "pause":
            hub.schedules.pause(workspace.id, schedule_id)
        else:
            hub.schedules.resume(workspace, schedule_id)
    except NotFoundError:
        return _not_found(request, schedule_id)
    except (PlanError, ConflictError, ValidationError) as exc:
        schedule = hub.schedules.get(workspace.id, schedule_id)
        code = 403 if isinstance(exc, PlanError) else 409 if isinstance(exc, ConflictError) else 422
        text = f"Cannot {action.replace('-', ' ')}: {exc}."
        return _schedule_page(request, hub, viewer, schedule, text, code)
    where = "/schedules" if back == "list" else f"/schedules/{schedule_id}"
    return RedirectResponse(where, status_code=303)
