"""Queries a running task makes: heartbeat, steps, progress and named outputs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import clock
from . import models as m
from .errors import NotFoundError
from .records import Control, JSONValue, Output, StepRecord
from .states import Status, StepStatus
from .store import Store

S = m.task_steps
O = m.task_outputs  # noqa: E741
T = m.tasks


def read_steps(c: Connection, task_id: str) -> Iterator[StepRecord]:
    rows = c.execute(select(S).where(S.c.task_id == task_id).order_by(S.c.position))
    for row in rows:
        r = row._mapping
        yield StepRecord(
            name=r["name"],
            position=r["position"],
            status=StepStatus(r["status"]),
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            detail=r["detail"],
            output=r["output"],
        )


class RunStore:
    """What the worker-side context reads and writes while a task body runs."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def heartbeat(self, task_id: str, pid: int, now: datetime) -> Control | None:
        """Touch the running record this process owns; ``None`` if it no longer does."""
        owned = and_(T.c.id == task_id, T.c.worker_pid == pid)
        statement = (
            update(T)
            .where(owned, T.c.status == Status.IN_PROGRESS.value)
            .values(heartbeat_at=now)
            .returning(T.c.status, T.c.cancel_requested_at, T.c.pause_requested_at)
        )
        with self.store.single() as c:
            row = c.execute(statement).one_or_none()
        if row is None:
            return None
        return Control(
            Status(row.status),
            row.cancel_requested_at is not None,
            row.pause_requested_at is not None,
        )

    def steps(self, task_id: str) -> dict[str, StepRecord]:
        with self.store.read() as c:
            return {step.name: step for step in read_steps(c, task_id)}

    def begin_step(self, task_id: str, name: str, position: int, now: datetime) -> None:
        values = {
            "status": StepStatus.RUNNING.value,
            "started_at": now,
            "finished_at": None,
            "detail": None,
        }
        with self.store.begin() as c:
            changed = c.execute(
                update(S).where(S.c.task_id == task_id, S.c.name == name).values(values)
            ).rowcount
            if not changed:
                c.execute(insert(S).values(task_id=task_id, name=name, position=position, **values))

    def end_step(
        self,
        task_id: str,
        name: str,
        status: StepStatus,
        now: datetime,
        *,
        output: JSONValue = None,
        detail: str | None = None,
    ) -> None:
        values = {"status": status.value, "finished_at": now, "output": output, "detail": detail}
        with self.store.begin() as c:
            c.execute(update(S).where(S.c.task_id == task_id, S.c.name == name).values(values))
            c.execute(update(T).where(T.c.id == task_id).values(updated_at=now))

    def declare_steps(self, task_id: str, names: list[str]) -> None:
        """Queue the declared steps so a reader sees what is still to come."""
        with self.store.begin() as c:
            existing = set(c.execute(select(S.c.name).where(S.c.task_id == task_id)).scalars())
            missing = [
                {
                    "task_id": task_id,
                    "name": name,
                    "position": position,
                    "status": StepStatus.QUEUED.value,
                }
                for position, name in enumerate(names, start=1)
                if name not in existing
            ]
            if missing:
                c.execute(insert(S), missing)
            c.execute(update(T).where(T.c.id == task_id).values(total_steps=len(names)))

    def set_progress(self, task_id: str, **values: Any) -> None:
        with self.store.single() as c:
            c.execute(update(T).where(T.c.id == task_id).values(updated_at=clock.now(), **values))

    def put_output(
        self, task_id: str, output: Output, now: datetime, conn: Connection | None = None
    ) -> None:
        values = {
            "content_type": output.content_type,
            "content": output.content,
            "size_bytes": output.size_bytes,
            "created_at": now,
        }
        with self.store.begin(conn) as c:
            upsert = _insert_for(c)(O).values(task_id=task_id, name=output.name, **values)
            c.execute(upsert.on_conflict_do_update(index_elements=["task_id", "name"], set_=values))

    def get_output(self, task_id: str, name: str) -> Output:
        with self.store.read() as c:
            row = c.execute(select(O).where(O.c.task_id == task_id, O.c.name == name)).one_or_none()
        if row is None:
            raise NotFoundError("output", f"{task_id}/{name}")
        r = row._mapping
        return Output(r["name"], r["content_type"], r["content"], r["size_bytes"])


def _insert_for(c: Connection) -> Any:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` (Postgres and SQLite spell it alike)."""
    return postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert
