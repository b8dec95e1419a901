"""Queries a running task makes: heartbeat, steps, progress and named outputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from taskhub.domain import clock
from taskhub.domain.errors import NotFoundError
from taskhub.domain.records import Control, JSONValue, Output, StepRecord, TaskRecord
from taskhub.domain.states import Status, StepStatus
from taskhub.store import tables as m
from taskhub.store.rows import read_steps
from taskhub.store.tasks import Store, owned_by

S = m.task_steps
O = m.task_outputs  # noqa: E741
T = m.tasks


def _control(row: Any) -> Control:
    return Control(
        Status(row.status),
        row.cancel_requested_at is not None,
        row.pause_requested_at is not None,
        row.cancel_requested_at,
    )


class RunStore:
    """What the worker-side context reads and writes while a task body runs.

    Every write names ``owner``, the execution as it was claimed, and happens only while the
    record still belongs to it (:func:`~taskhub.store.tasks.owned_by`); each returns whether it did.
    Each is idempotent and survives a dropped connection (:meth:`Store.idempotent`).
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def heartbeat(self, owner: TaskRecord, now: datetime) -> Control | None:
        """Touch the running record; ``None`` if it no longer belongs to ``owner``."""
        statement = (
            update(T)
            .where(owned_by(owner))
            .values(heartbeat_at=now)
            .returning(T.c.status, T.c.cancel_requested_at, T.c.pause_requested_at)
        )

        def beat() -> Control | None:
            with self.store.single() as c:
                row = c.execute(statement).one_or_none()
            return None if row is None else _control(row)

        return self.store.idempotent(beat)

    def control(self, owner: TaskRecord) -> Control | None:
        """What people asked of the running task; ``None`` if it no longer belongs to ``owner``."""
        query = select(T.c.status, T.c.cancel_requested_at, T.c.pause_requested_at)

        def read() -> Control | None:
            with self.store.read() as c:
                row = c.execute(query.where(owned_by(owner))).one_or_none()
            return None if row is None else _control(row)

        return self.store.idempotent(read)

    def steps(self, task_id: str) -> dict[str, StepRecord]:
        def read() -> dict[str, StepRecord]:
            with self.store.read() as c:
                return {step.name: step for step in read_steps(c, task_id)}

        return self.store.idempotent(read)

    def begin_step(self, owner: TaskRecord, name: str, position: int, now: datetime) -> bool:
        values = {
            "status": StepStatus.RUNNING.value,
            "started_at": now,
            "finished_at": None,
            "detail": None,
        }
        where = and_(S.c.task_id == owner.id, S.c.name == name)

        def write(c: Connection) -> None:
            if not c.execute(update(S).where(where).values(values)).rowcount:
                row = {"task_id": owner.id, "name": name, "position": position, **values}
                c.execute(insert(S).values(row))

        return self._owned_write(owner, now, write)

    def end_step(
        self,
        owner: TaskRecord,
        name: str,
        status: StepStatus,
        now: datetime,
        *,
        output: JSONValue = None,
        detail: str | None = None,
    ) -> bool:
        values = {"status": status.value, "finished_at": now, "output": output, "detail": detail}
        statement = update(S).where(S.c.task_id == owner.id, S.c.name == name).values(values)
        return self._owned_write(owner, now, lambda c: c.execute(statement))

    def declare_steps(self, owner: TaskRecord, names: list[str]) -> bool:
        """Queue the declared steps so a reader sees what is still to come."""

        def write(c: Connection) -> None:
            known = select(S.c.name).where(S.c.task_id == owner.id)
            existing = set(c.execute(known).scalars())
            missing = [
                {"task_id": owner.id, "name": name, "position": position}
                | {"status": StepStatus.QUEUED.value}
                for position, name in enumerate(names, start=1)
                if name not in existing
            ]
            if missing:
                c.execute(insert(S), missing)

        return self._owned_write(owner, clock.now(), write, total_steps=len(names))

    def set_progress(self, owner: TaskRecord, **values: Any) -> bool:
        statement = update(T).where(owned_by(owner)).values(updated_at=clock.now(), **values)

        def write() -> bool:
            with self.store.single() as c:
                return bool(c.execute(statement).rowcount)

        return self.store.idempotent(write)

    def put_own_output(self, owner: TaskRecord, output: Output, now: datetime) -> bool:
        return self._owned_write(owner, now, lambda c: upsert_output(c, owner.id, output, now))

    def _owned_write(
        self,
        owner: TaskRecord,
        now: datetime,
        write: Callable[[Connection], object],
        **task_values: Any,
    ) -> bool:
        """``write`` in one transaction that first locks the task row, if ``owner`` holds it.

        The lock orders the write before any take-over of the record: what lands was written
        while the execution still owned it.
        """
        lock = update(T).where(owned_by(owner)).values(updated_at=now, **task_values)

        def attempt() -> bool:
            with self.store.begin() as c:
                if not c.execute(lock).rowcount:
                    return False
                write(c)
                return True

        return self.store.idempotent(attempt)

    def get_output(self, task_id: str, name: str) -> Output:
        with self.store.read() as c:
            row = c.execute(select(O).where(O.c.task_id == task_id, O.c.name == name)).one_or_none()
        if row is None:
            raise NotFoundError("output", f"{task_id}/{name}")
        r = row._mapping
        return Output(r["name"], r["content_type"], r["content"], r["size_bytes"])


def upsert_output(c: Connection, task_id: str, output: Output, now: datetime) -> None:
    """The one statement that saves a named output (a task's result included)."""
    values = {
        "content_type": output.content_type,
        "content": output.content,
        "size_bytes": output.size_bytes,
        "created_at": now,
    }
    upsert = _insert_for(c)(O).values(task_id=task_id, name=output.name, **values)
    c.execute(upsert.on_conflict_do_update(index_elements=["task_id", "name"], set_=values))


def _insert_for(c: Connection) -> Any:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` (Postgres and SQLite spell it alike)."""
    return postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert
