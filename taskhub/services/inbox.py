"""The notifications a workspace reads: list them, mark one or all read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskhub.domain.clock import now
from taskhub.domain.errors import NotFoundError
from taskhub.domain.records import Notification
from taskhub.store.notifications import NotificationStore

if TYPE_CHECKING:
    from taskhub.hub import TaskHub


def page(
    hub: TaskHub, workspace_id: str, *, unread: bool | None = None, limit: int = 25, skip: int = 0
) -> tuple[list[Notification], int]:
    return NotificationStore(hub.store).page(workspace_id, unread=unread, limit=limit, skip=skip)


def mark_read(hub: TaskHub, workspace_id: str, notification_id: str) -> Notification:
    """Mark one read; an id that is not this workspace's (or not a number) is not found."""
    if not (notification_id.isascii() and notification_id.isdigit()) or len(notification_id) > 18:
        raise NotFoundError("notification", notification_id)
    return NotificationStore(hub.store).mark_read(workspace_id, int(notification_id), now())


def mark_all_read(hub: TaskHub, workspace_id: str) -> int:
    """Mark every unread notification read; returns how many changed."""
    return NotificationStore(hub.store).mark_all_read(workspace_id, now())
