"""The workspace's notifications: the top bar's bell (the unread count, live) and the list at
``/notifications``, newest first, with "mark read" for one or all (POST, with the CSRF token).

The bell is a fragment (``GET /notifications/bell``) that ``base.html`` loads with htmx and
re-fetches on each ``taskhub-notification`` from the live channel, so no page has to pass the
count to its template.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from taskhub.domain.errors import NotFoundError
from taskhub.web import sessions
from taskhub.web.common import CsrfField, HubDep, ViewerDep, not_found, page
from taskhub.web.pager import PagerDep

router = APIRouter(include_in_schema=False)

BELL_CAP = 100  # the bell counts up to 99 and then says "99+"


def bell_label(count: int) -> str:
    return f"{BELL_CAP - 1}+" if count >= BELL_CAP else str(count)


@router.get("/notifications")
def notifications(
    request: Request, hub: HubDep, viewer: ViewerDep, pager: PagerDep
) -> HTMLResponse:
    """The workspace's notifications, newest first, unread ones marked."""
    workspace_id = viewer.workspace.id
    items, total = hub.inbox.page(workspace_id, limit=pager.limit, skip=pager.skip)
    unread = hub.inbox.unread_count(workspace_id, cap=BELL_CAP)
    context = {
        "viewer": viewer,
        "items": items,
        "unread": bell_label(unread) if unread else "",
        **pager.links(len(items), total),
    }
    return page(request, "notifications.html", context)


@router.get("/notifications/bell")
def bell(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    """The bell's inside: the unread count (a fragment; ``base.html`` swaps it in)."""
    count = hub.inbox.unread_count(viewer.workspace.id, cap=BELL_CAP)
    return page(request, "bell.html", {"count": count, "label": bell_label(count)})


@router.post("/notifications/read-all")
def read_all(hub: HubDep, viewer: ViewerDep, csrf_token: CsrfField = None) -> Response:
    sessions.check_csrf(viewer.session, csrf_token)
    hub.inbox.mark_all_read(viewer.workspace.id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/{notification_id}/read")
def read_one(
    request: Request,
    hub: HubDep,
    viewer: ViewerDep,
    notification_id: str,
    csrf_token: CsrfField = None,
) -> Response:
    sessions.check_csrf(viewer.session, csrf_token)
    try:
        hub.inbox.mark_read(viewer.workspace.id, notification_id)
    except NotFoundError:
        return not_found(request, "notification", notification_id)
    return RedirectResponse("/notifications", status_code=303)
