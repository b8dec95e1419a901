"""The dashboard's live channel: one server-sent event stream per open page.

``GET /live/events`` streams every change to the signed-in workspace's tasks (``event: task``,
the same data as the API's ``/api/v1/events``) and each new notification of the workspace
(``event: notification``: id, task_id, outcome, kind, title, description, created_at), from now
or from the browser's ``Last-Event-ID`` when it reconnects. ``static/live.js`` turns each event
into a DOM event on ``document.body`` (``taskhub-task`` / ``taskhub-notification``, with the
data as ``detail``; ``static/toasts.js`` shows notifications as toasts); a page region that follows
it re-fetches its own fragment with htmx, e.g.
``hx-get="/tasks/ID/live" hx-trigger="taskhub-task[detail.id=='ID'] from:body"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

from taskhub import streams
from taskhub.domain.clock import now
from taskhub.domain.errors import ValidationError
from taskhub.web.common import HubDep, ViewerDep

router = APIRouter(include_in_schema=False)


@router.get("/live/events", response_class=EventSourceResponse)
async def live_events(
    hub: HubDep,
    viewer: ViewerDep,
    slot: Annotated[streams.StreamSlot, Depends(streams.stream_slot)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> AsyncIterator[ServerSentEvent]:
    start = _resume(last_event_id)
    stream = streams.workspace_stream(slot, hub, viewer.workspace.id, start, notifications=True)
    async for item in stream:
        yield item


def _resume(last_event_id: str | None) -> datetime:
    """Where the stream starts: after the browser's ``Last-Event-ID`` if it is one of ours."""
    try:
        return streams.resume_point(None, last_event_id) or now()
    except ValidationError:
        return now()
