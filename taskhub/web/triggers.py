"""The workspace's webhook triggers: each one's name, task, the URL senders POST to, and what
it received (its deliveries and the tasks they made). A trigger's secret is never shown: it
is given once, when the trigger is created over the API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taskhub.domain.errors import NotFoundError
from taskhub.domain.hooks import Trigger
from taskhub.domain.paging import TaskFilter
from taskhub.web.common import HubDep, ViewerDep, not_found, page
from taskhub.web.pager import PagerDep

router = APIRouter(include_in_schema=False)

RECENT = 10
HOOK_ROUTE = "receive"  # the API's route senders POST to (``POST /hooks/{trigger_id}``)


def hook_url(request: Request, trigger: Trigger) -> str:
    """The full URL a sender posts to: this server's base URL and the API's hook route."""
    return str(request.url_for(HOOK_ROUTE, trigger_id=trigger.id))


@router.get("/triggers")
def triggers(request: Request, hub: HubDep, viewer: ViewerDep, pager: PagerDep) -> HTMLResponse:
    """The workspace's triggers, newest first, with how many deliveries each received."""
    workspace_id = viewer.workspace.id
    items, total = hub.triggers.page(workspace_id, limit=pager.limit, skip=pager.skip)
    latest = hub.triggers.delivery_summaries(items)
    context = {
        "viewer": viewer,
        "triggers": items,
        "urls": {t.id: hook_url(request, t) for t in items},
        "latest": latest,
        **pager.links(len(items), total),
    }
    return page(request, "triggers.html", context)


@router.get("/triggers/{trigger_id}")
def trigger_page(request: Request, hub: HubDep, viewer: ViewerDep, trigger_id: str) -> HTMLResponse:
    workspace_id = viewer.workspace.id
    try:
        trigger = hub.triggers.get(workspace_id, trigger_id)
        deliveries, received = hub.triggers.deliveries(workspace_id, trigger_id, limit=RECENT)
    except NotFoundError:
        return not_found(request, "trigger", trigger_id)
    origin = f"trigger:{trigger.id}"
    context = {
        "viewer": viewer,
        "trigger": trigger,
        "url": hook_url(request, trigger),
        "deliveries": deliveries,
        "received": received,
        "origin": origin,
        "runs": hub.tasks.list_tasks(TaskFilter(workspace_id, origin=origin), limit=RECENT),
    }
    return page(request, "trigger.html", context)
