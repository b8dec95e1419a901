"""Server-sent event streams of task changes (and, for the dashboard, notifications), polled
through the services (shared by the REST API's `/api/v1/.../events` and the dashboard's
`/live/events`).

Every :data:`POLL_S` a stream reads what changed (in the thread pool: the store is synchronous),
sends each change as an ``event: task`` whose ``id`` is its ``updated_at`` (a reconnecting
``EventSource`` sends it back as ``Last-Event-ID``), and a ``: keep-alive`` comment when nothing
was sent for :data:`KEEPALIVE_S`. A stream ends when its client disconnects, after a task's final
event (per-task streams), or after :data:`MAX_STREAM_S` (clients reconnect and resume).

Each stream holds a :class:`StreamSlot` from the request-scoped dependency :func:`stream_slot`:
when the request ends (the client left), the slot closes, even though the framework abandons the
stream's generator at a ``yield`` rather than closing it; ``app.state.open_streams`` counts them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime

import anyio
from fastapi import Request
from fastapi.sse import ServerSentEvent
from starlette.concurrency import run_in_threadpool

from taskhub.domain.errors import ValidationError
from taskhub.domain.live import BATCH, ChangeFeed, NotificationFeed
from taskhub.domain.records import TaskChange
from taskhub.domain.serialize import change_to_dict, to_jsonable
from taskhub.hub import TaskHub

POLL_S = 0.5
KEEPALIVE_S = 14.0  # under FastAPI's own 15 s ping, so ours is the one sent
MAX_STREAM_S = 3600.0
RETRY_MS = 2000


def resume_point(since: datetime | None, last_event_id: str | None) -> datetime | None:
    """Where a stream starts: ``?since=``, else the ``Last-Event-ID`` header, else ``None``."""
    if since is not None or last_event_id is None:
        return since
    try:
        parsed = datetime.fromisoformat(last_event_id.strip())
    except ValueError:
        raise ValidationError("Last-Event-ID", "is not an event id this API sent") from None
    if parsed.tzinfo is None:
        raise ValidationError("Last-Event-ID", "is not an event id this API sent")
    return parsed


def event(change: TaskChange) -> ServerSentEvent:
    return ServerSentEvent(
        event="task", id=change.updated_at.isoformat(), data=change_to_dict(change)
    )


class StreamSlot:
    """One open stream: when it started, when it last sent, and whether its request ended."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.started = self.last_sent = time.monotonic()
        self.first = True
        self.closed = False

    def sent(self, item: ServerSentEvent) -> ServerSentEvent:
        self.last_sent = time.monotonic()
        if self.first:  # tell the client how soon to reconnect
            self.first = False
            return item.model_copy(update={"retry": RETRY_MS})
        return item

    def quiet(self) -> bool:
        return time.monotonic() - self.last_sent >= KEEPALIVE_S

    async def over(self) -> bool:
        if self.closed or time.monotonic() - self.started >= MAX_STREAM_S:
            return True
        return await self.request.is_disconnected()


async def stream_slot(request: Request) -> AsyncIterator[StreamSlot]:
    """A dependency: the slot of the request's stream, closed when the request ends."""
    state = request.app.state
    state.open_streams = getattr(state, "open_streams", 0) + 1
    slot = StreamSlot(request)
    try:
        yield slot
    finally:
        slot.closed = True
        state.open_streams -= 1


async def task_stream(
    slot: StreamSlot, hub: TaskHub, workspace_id: str, task_id: str
) -> AsyncIterator[ServerSentEvent]:
    """The task's current state, then each change, ending after its final status."""
    last: TaskChange | None = None
    while not await slot.over():
        found = await run_in_threadpool(hub.tasks.changes, workspace_id, None, task_id)
        if not found:
            return  # gone
        if found[0] != last:
            last = found[0]
            yield slot.sent(event(last))
            if last.status.is_final:
                return
        elif slot.quiet():
            yield slot.sent(ServerSentEvent(comment="keep-alive"))
        await anyio.sleep(POLL_S)


async def workspace_stream(
    slot: StreamSlot,
    hub: TaskHub,
    workspace_id: str,
    since: datetime,
    *,
    notifications: bool = False,
) -> AsyncIterator[ServerSentEvent]:
    """Every change to the workspace's tasks after ``since``, until the client leaves; with
    ``notifications``, also each notification created after ``since``."""
    feed = ChangeFeed(since)
    notes = NotificationFeed(since) if notifications else None
    while not await slot.over():
        start = feed.query_from()
        batch = await run_in_threadpool(hub.tasks.changes, workspace_id, start, limit=BATCH)
        fresh = [event(change) for change in feed.fresh(batch)]
        if notes is not None:
            fresh += await _new_notifications(notes, hub, workspace_id)
        for item in fresh:
            yield slot.sent(item)
        if not fresh and slot.quiet():
            yield slot.sent(ServerSentEvent(comment="keep-alive"))
        if not feed.catching_up and not (notes and notes.catching_up):
            await anyio.sleep(POLL_S)


async def _new_notifications(
    feed: NotificationFeed, hub: TaskHub, workspace_id: str
) -> list[ServerSentEvent]:
    """The notifications not sent yet, as ``event: notification``. They carry no ``id``: the
    browser's ``Last-Event-ID`` stays the last task change's time, where both feeds resume."""
    start = feed.query_from()
    batch = await run_in_threadpool(hub.inbox.created_since, workspace_id, start, limit=BATCH)
    return [
        ServerSentEvent(event="notification", data=to_jsonable(note)) for note in feed.fresh(batch)
    ]
