"""Helpers for the schedule tests: a Growth workspace, schedules on a fixed clock, runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import update

from taskhub import TaskHub, TaskRecord
from taskhub.domain.records import Workspace
from taskhub.domain.schedule_records import Schedule
from taskhub.domain.states import Status
from taskhub.services.schedules import Schedules
from taskhub.store import tables
from taskhub.store.schedules import ScheduleStore


def minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def on_clock(hub: TaskHub, at: list[datetime]) -> Schedules:
    """The hub's service on a clock the test moves (``at[0]``)."""
    return Schedules(hub.settings, ScheduleStore(hub.store), hub.tasks, clock=lambda: at[0])


@contextmanager
def workspace(hub: TaskHub, plan: str = "growth") -> Iterator[Workspace]:
    """A new workspace; its schedules are deleted afterwards (no later beat fires them)."""
    ws = hub.accounts.create_workspace(f"sched-{uuid.uuid4().hex[:10]}", plan)
    try:
        yield ws
    finally:
        items, _ = hub.schedules.page(ws.id, limit=1000)
        for s in items:
            hub.schedules.delete(ws.id, s.id)


def runs(hub: TaskHub, schedule: Schedule) -> list[TaskRecord]:
    """The schedule's runs, oldest fire time first."""
    found = [r for r in _all(hub, schedule.workspace_id) if r.origin == schedule.origin]
    return sorted(found, key=lambda r: (r.scheduled_for or r.created_at, r.created_at))


def _all(hub: TaskHub, workspace_id: str) -> list[TaskRecord]:
    from taskhub.domain.paging import TaskFilter

    return hub.tasks.list_tasks(TaskFilter(workspace_id), limit=1000).items


def set_status(hub: TaskHub, task_id: str, status: Status) -> None:
    """Put a run where a test needs it (running, finished) without a worker."""
    with hub.store.engine.begin() as c:
        c.execute(update(tables.tasks).where(tables.tasks.c.id == task_id).values(status=status))


def due_at(hub: TaskHub, schedule: Schedule, at: datetime) -> Schedule:
    """The schedule with its next fire time moved to ``at`` (as if beat had been away)."""
    moved = replace(schedule, next_run_at=at, updated_at=schedule.updated_at + timedelta(0, 0, 1))
    ScheduleStore(hub.store).save(moved)
    return moved
