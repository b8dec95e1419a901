"""The notifications a workspace reads: list them, mark one or all read."""

from __future__ import annotations

from datetime import datetime

from taskhub.domain.clock import now
from taskhub.domain.errors import NotFoundError
from taskhub.domain.records import Notification
from taskhub.store.notifications import NotificationStore


class Inbox:
    """The notifications of a workspace, as people read them."""

    def __init__(self, notifications: NotificationStore) -> None:
        self._notifications = notifications

    def page(
        self, workspace_id: str, *, unread: bool | None = None, limit: int = 25, skip: int = 0
    ) -> tuple[list[Notification], int]:
        return self._notifications.page(workspace_id, unread=unread, limit=limit, skip=skip)

    def created_since(
        self, workspace_id: str, since: datetime, *, limit: int = 100
    ) -> list[Notification]:
        """The notifications created after ``since``, oldest first (a live page's feed)."""
        return self._notifications.created_since(workspace_id, since, limit)

    def unread_count(self, workspace_id: str, *, cap: int = 100) -> int:
        """How many notifications are unread, counted up to ``cap`` (a badge shows "99+")."""
        return self._notifications.unread_count(workspace_id, cap)

    def mark_read(self, workspace_id: str, notification_id: str) -> Notification:
        """Mark one read; an id that is not this workspace's (or not a number) is not found."""
        if (
            not (notification_id.isascii() and notification_id.isdigit())
            or len(notification_id) > 18
        ):
            raise NotFoundError("notification", notification_id)
        return self._notifications.mark_read(workspace_id, int(notification_id), now())

    def mark_all_read(self, workspace_id: str) -> int:
        """Mark every unread notification read; returns how many changed."""
        return self._notifications.mark_all_read(workspace_id, now())
