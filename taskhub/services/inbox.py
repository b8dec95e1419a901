"""The notifications a workspace reads: list them, mark one or all read."""

from __future__ import annotations

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
