"""The workspace's notifications: one per final outcome of a task, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from taskhub.api.deps import HubDep, WorkspaceDep
from taskhub.api.pages import BAD_QUERY, NEEDS_KEY, Limit, Page, Skip
from taskhub.api.problems import problems
from taskhub.domain.records import Notification

router = APIRouter(tags=["notifications"], responses=problems(NEEDS_KEY))


class NotificationOut(BaseModel):
    id: int
    task_id: str
    kind: Literal["success", "error"]
    outcome: Literal["completed", "failed", "cancelled"]
    title: str
    description: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=n.id,
            task_id=n.task_id,
            kind="success" if n.kind == "success" else "error",
            outcome=n.outcome.value,
            title=n.title,
            description=n.description,
            created_at=n.created_at,
            read_at=n.read_at,
        )


class Changed(BaseModel):
    changed: int


Unread = Annotated[
    bool | None, Query(description="true: only unread; false: only read; absent: all.")
]


@router.get("/notifications", responses=problems(BAD_QUERY))
def list_notifications(
    hub: HubDep,
    workspace: WorkspaceDep,
    unread: Unread = None,
    limit: Limit = 25,
    skip: Skip = 0,
) -> Page[NotificationOut]:
    """Newest first."""
    items, total = hub.inbox.page(workspace.id, unread=unread, limit=limit, skip=skip)
    return Page(items=[NotificationOut.of(n) for n in items], total=total, limit=limit, skip=skip)


@router.post("/notifications/read-all")
def read_all(hub: HubDep, workspace: WorkspaceDep) -> Changed:
    """Mark every unread notification read."""
    return Changed(changed=hub.inbox.mark_all_read(workspace.id))


@router.post(
    "/notifications/{notification_id}/read",
    responses=problems({404: "No such notification in this workspace."}),
)
def read_one(notification_id: str, hub: HubDep, workspace: WorkspaceDep) -> NotificationOut:
    """Mark one notification read (marking it again keeps the first time)."""
    return NotificationOut.of(hub.inbox.mark_read(workspace.id, notification_id))
