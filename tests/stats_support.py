"""Tasks written straight through the store with chosen statuses and timestamps, for the
overview and ops tests (``tests/integration/test_stats.py``, ``tests/web/test_web_overview.py``):
every number those pages show is then known in advance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from taskhub import TaskHub
from taskhub.domain.states import Status
from taskhub.domain.submissions import Submission
from taskhub.store import tables


@dataclass
class Row:
    """A task as a test needs it: every timestamp chosen."""

    status: Status
    started: datetime | None = None
    finished: datetime | None = None
    task: str = "tests.noop"
    error_type: str | None = None
    message: str | None = None
    queue: str | None = None
    dispatched: datetime | None = None
    blocked: bool = False
    scheduled_for: datetime | None = None


def put(hub: TaskHub, row: Row, workspace_id: str | None = None) -> str:
    """Insert a task through the store, then set its status and times as ``row`` says."""
    new = hub.tasks.build(workspace_id or hub.workspace_id, row.task, None, Submission())
    hub.store.insert_tasks([new])
    values: dict[str, Any] = {
        "status": row.status.value,
        "started_at": row.started,
        "finished_at": row.finished,
        "error_type": row.error_type,
        "error_message": row.message,
        "dispatched_at": row.dispatched,
        "blocked": row.blocked,
        "scheduled_for": row.scheduled_for,
    }
    if row.queue is not None:
        values["queue"] = row.queue
    with hub.store.begin() as c:
        c.execute(update(tables.tasks).where(tables.tasks.c.id == new.id).values(values))
    return new.id


def ran(status: Status, finished: datetime, seconds: float, **more: Any) -> Row:
    return Row(status, finished - timedelta(seconds=seconds), finished, **more)
