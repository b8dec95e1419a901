"""Reading notifications: the inbox of one workspace, newest first, and marking them read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from taskhub.domain.errors import NotFoundError
from taskhub.domain.records import Notification
from taskhub.domain.states import Outcome
from taskhub.store import tables as m
from taskhub.store.tasks import Store

N = m.notifications


class NotificationStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def page(
        self, workspace_id: str, *, unread: bool | None, limit: int, skip: int
    ) -> tuple[list[Notification], int]:
        """``unread``: ``True`` only unread, ``False`` only read, ``None`` all."""
        where = [N.c.workspace_id == workspace_id]
        if unread is not None:
            where.append(N.c.read_at.is_(None) if unread else N.c.read_at.is_not(None))
        query = select(N).where(*where).order_by(N.c.created_at.desc(), N.c.id.desc())
        with self.store.read() as c:
            total = c.execute(select(func.count()).select_from(N).where(*where)).scalar_one()
            rows = c.execute(query.limit(limit).offset(skip))
            return [notification(row._mapping) for row in rows], int(total)

    def mark_read(self, workspace_id: str, notification_id: int, now: datetime) -> Notification:
        """Mark one read (a notification already read keeps its first ``read_at``)."""
        mine = (N.c.id == notification_id, N.c.workspace_id == workspace_id)
        with self.store.begin() as c:
            c.execute(update(N).where(*mine, N.c.read_at.is_(None)).values(read_at=now))
            row = c.execute(select(N).where(*mine)).one_or_none()
        if row is None:
            raise NotFoundError("notification", str(notification_id))
        return notification(row._mapping)

    def mark_all_read(self, workspace_id: str, now: datetime) -> int:
        where = (N.c.workspace_id == workspace_id, N.c.read_at.is_(None))
        with self.store.begin() as c:
            return int(c.execute(update(N).where(*where).values(read_at=now)).rowcount)


def notification(r: Any) -> Notification:
    return Notification(
        id=r["id"],
        workspace_id=r["workspace_id"],
        task_id=r["task_id"],
        outcome=Outcome(r["outcome"]),
        kind=r["kind"],
        title=r["title"],
        description=r["description"],
        created_at=r["created_at"],
        read_at=r["read_at"],
    )
