"""The task panel: a slide-over, opened from the top bar, listing the workspace's 100 most
recently changed tasks (a change log: running and finished, newest change first).

``GET /panel`` is its fragment; ``static/panel.js`` fetches it when the panel opens and again
on ``taskhub-task`` events while it is open (at most about once a second). The read is
``hub.tasks.recent_changes``: a backward scan of the index ``(workspace_id, updated_at)``
that stops after 100 rows, however many tasks the workspace has.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taskhub.web.common import HubDep, ViewerDep, page

router = APIRouter(include_in_schema=False)

PANEL_SIZE = 100


@router.get("/panel")
def panel(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    changes = hub.tasks.recent_changes(viewer.workspace.id, limit=PANEL_SIZE)
    return page(request, "panel.html", {"changes": changes})
