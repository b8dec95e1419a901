"""The repository: every query taskhub makes lives here, and nothing else touches the database.

Status changes go through :meth:`Store.transition`, one compare-and-set ``UPDATE`` guarded by
the state machine in :mod:`taskhub.domain.states`. Driver errors are wrapped in :class:`StoreError`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, and_, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from taskhub.domain.clock import now
from taskhub.domain.errors import NotFoundError, StoreError, TransitionError
from taskhub.domain.records import NewNotification, NewTask, TaskRecord
from taskhub.domain.states import Status, transition
from taskhub.store import db
from taskhub.store import tables as m
from taskhub.store.db import READ_ONLY
from taskhub.store.notifications import insert_notification
from taskhub.store.prepared import Prepared
from taskhub.store.rows import attempt_record, inserted_row, new_row, read_steps, task_record

T = m.tasks
R = TypeVar("R")
log = logging.getLogger(__name__)

RECONNECT_DELAYS_S = (0.05, 0.25, 1.0)  # an idempotent operation's retries on a lost connection


def owned_by(execution: TaskRecord) -> ColumnElement[bool]:
    """The row still belongs to the execution that claimed it: same run and attempt, running.

    (run, attempt) is the fencing token: a take-over or a person's retry changes it, so a
    superseded execution's late writes match nothing.
    """
    return and_(
        T.c.id == execution.id,
        T.c.run == execution.run,
        T.c.attempt == execution.attempt,
        m.status_by_key() == Status.IN_PROGRESS.value,
    )


class Store:
    """All SQL. Methods take an optional ``conn`` to join the caller's transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        self._autocommit = db.autocommit_twin(engine) if self.is_postgres else engine
        self._pinned: threading.local | None = None

    def close(self) -> None:
        """Close every pooled connection (both engines)."""
        self.engine.dispose()
        if self._autocommit is not self.engine:
            self._autocommit.dispose()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's pooled connections without closing them."""
        self.engine.dispose(close=False)
        if self._autocommit is not self.engine:
            self._autocommit.dispose(close=False)

    def pin_connections(self) -> None:
        """From now on each thread keeps one autocommit connection for :meth:`single`.

        For worker processes, which run a few statements per task: no pool checkout, no
        isolation-level reset on check-in. Call it in each process after it forked.
        """
        self._pinned = threading.local()

    @contextmanager
    def begin(self, conn: Connection | None = None) -> Iterator[Connection]:
        """A transaction, or the caller's own when ``conn`` is given."""
        if conn is not None:
            yield conn
            return
        try:
            with self.engine.begin() as own:
                yield own
        except SQLAlchemyError as exc:
            raise StoreError.of(exc) from exc

    @contextmanager
    def single(self) -> Iterator[Connection]:
        """For one statement: on Postgres in autocommit, saving the BEGIN/COMMIT round trips."""
        if not self.is_postgres:
            with self.begin() as c:
                yield c
            return
        if self._pinned is None:
            try:
                with self._autocommit.connect() as c:
                    yield c
            except SQLAlchemyError as exc:
                raise StoreError.of(exc) from exc
            return
        conn: Connection | None = getattr(self._pinned, "conn", None)
        try:
            if conn is None:
                conn = self._pinned.conn = self._autocommit.connect()
            yield conn
        except SQLAlchemyError as exc:
            self._pinned.conn = None  # broken or closed: the next call opens another
            if conn is not None:
                with suppress(SQLAlchemyError):
                    conn.close()
            raise StoreError.of(exc) from exc

    def idempotent(self, work: Callable[[], R]) -> R:
        """Run ``work``, an idempotent read or write, again when the server dropped the
        connection it used (a few times, briefly): a restarted or failed-over database, or an
        idle connection closed by a proxy, costs a task nothing."""
        for delay in (*RECONNECT_DELAYS_S, None):
            try:
                return work()
            except StoreError as exc:
                if delay is None or not exc.disconnected:
                    raise
                log.warning("database connection lost (%s); trying again in %s s", exc, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (on SQLite it never waits for a writer)."""
        try:
            with self.engine.connect().execution_options(**{READ_ONLY: True}) as c, c.begin():
                yield c
        except SQLAlchemyError as exc:
            raise StoreError.of(exc) from exc

    def ping(self) -> bool:
        """Whether the database answers now (a readiness check); never raises."""
        try:
            with self.read() as c:
                c.execute(select(1))
        except StoreError:
            return False
        return True

    # -- workspaces ------------------------------------------------------------------------

    def ensure_workspace(self, name: str, plan: str = "starter", *, now: datetime) -> str:
        with self.begin() as conn:
            found = conn.execute(select(m.workspaces.c.id).where(m.workspaces.c.name == name))
            existing = found.scalar_one_or_none()
            if existing is not None:
                return str(existing)
            ident = str(uuid.uuid4())
            values = {"id": ident, "name": name, "plan": plan, "created_at": now}
            conn.execute(insert(m.workspaces).values(values))
            return ident

    # -- submitting ------------------------------------------------------------------------

    def insert_tasks(
        self,
        new: Sequence[NewTask],
        conn: Connection | None = None,
        *,
        dispatched_at: datetime | None = None,
    ) -> list[TaskRecord]:
        """Insert ``new`` in one statement; with ``dispatched_at``, those not held are stamped
        dispatched at it (their messages go out right after, see :meth:`undispatch`). Returns
        the records as inserted."""
        if not new:
            return []
        stamping = dispatched_at is not None
        records = [task.as_record(_stamp(task, dispatched_at)) for task in new]
        rows = [inserted_row(record, stamping=stamping) for record in records]
        if len(rows) == 1 and conn is None:  # a submit: one prepared statement, in autocommit
            with self.single() as c:
                _insert_one(tuple(rows[0])).rows(c, rows[0])
            return records
        with self.begin(conn) as c:
            c.execute(insert(T), rows)
        return records

    def insert_idempotent(
        self,
        new: NewTask,
        conn: Connection | None = None,
        *,
        dispatched_at: datetime | None = None,
    ) -> TaskRecord:
        """Insert ``new``, or return the task already holding its idempotency key: one
        ``INSERT ... ON CONFLICT DO NOTHING`` (Postgres, SQLite), then, only on a conflict,
        the task that holds the key. ``dispatched_at``: as :meth:`insert_tasks`."""
        if new.idempotency_key is None:
            return self.insert_tasks([new], conn, dispatched_at=dispatched_at)[0]
        stamp = _stamp(new, dispatched_at)
        with self.begin(conn) as c:
            if c.execute(_insert_unless_keyed(c, new, stamp)).first() is not None:
                return new.as_record(stamp)
            found = self._by_key(c, new.workspace_id, new.idempotency_key)
            if found is None:  # the conflict was not the key's
                raise StoreError(f"task {new.id} could not be inserted")
            return self._with_detail(c, found)  # as get() reads it: steps, attempts, outputs

    def _by_key(self, c: Connection, workspace_id: str, key: str | None) -> TaskRecord | None:
        if key is None:
            return None
        where = and_(T.c.workspace_id == workspace_id, T.c.idempotency_key == key)
        row = c.execute(select(T).where(where)).one_or_none()
        return task_record(row) if row else None

    def mark_dispatched(self, ids: Sequence[str], now: datetime) -> None:
        with self.single() as c:
            c.execute(update(T).where(T.c.id.in_(ids)).values(dispatched_at=now))

    def undispatch(self, ids: Sequence[str], stamped_at: datetime) -> None:
        """Take back the stamp of records stamped at insert whose messages then did not go
        out: they are pending and never published again, so the sweep publishes them at once
        (were this write to fail too, it would publish them as lost messages, later)."""
        stamped = and_(
            T.c.id.in_(ids),
            T.c.dispatched_at == stamped_at,
            T.c.status == Status.PENDING.value,
        )
        with self.single() as c:
            c.execute(update(T).where(stamped).values(dispatched_at=None))

    def claim_due(self, at: datetime, *, limit: int = 1000) -> list[TaskRecord]:
        """Claim the held records due by ``at`` (pending, a ``scheduled_for`` later than their
        creation, never published), soonest first: each gets ``dispatched_at``, once, whoever
        else claims at the same moment. Returns them, to publish."""
        held = and_(
            T.c.status == Status.PENDING.value,
            T.c.dispatched_at.is_(None),
            T.c.blocked.is_(False),
            T.c.scheduled_for <= at,
            T.c.scheduled_for > T.c.created_at,
        )
        due = select(T.c.id).where(held).order_by(T.c.scheduled_for).limit(limit)
        with self.begin() as c:
            ids = [row.id for row in c.execute(due)]
            if not ids:
                return []
            claim = update(T).where(T.c.id.in_(ids), held).values(dispatched_at=at)
            return [task_record(row) for row in c.execute(claim.returning(*T.c))]

    # -- reading ---------------------------------------------------------------------------

    def get(
        self, task_id: str, workspace_id: str | None = None, *, detail: bool = False
    ) -> TaskRecord:
        with self.read() as c:
            record = self._get(c, task_id, workspace_id)
            return self._with_detail(c, record) if detail else record

    def _get(self, c: Connection, task_id: str, workspace_id: str | None) -> TaskRecord:
        query = select(T).where(T.c.id == task_id)
        if workspace_id is not None:
            query = query.where(T.c.workspace_id == workspace_id)
        row = c.execute(query).one_or_none()
        if row is None:
            raise NotFoundError("task", task_id)
        return task_record(row)

    def _with_detail(self, c: Connection, record: TaskRecord) -> TaskRecord:
        attempts = c.execute(
            select(m.task_attempts)
            .where(m.task_attempts.c.task_id == record.id)
            .order_by(m.task_attempts.c.run, m.task_attempts.c.attempt)
        )
        outputs = c.execute(
            select(m.task_outputs.c.name)
            .where(m.task_outputs.c.task_id == record.id)
            .order_by(m.task_outputs.c.name)
        )
        return replace(
            record,
            steps=tuple(read_steps(c, record.id)),
            attempts=tuple(attempt_record(row) for row in attempts),
            output_names=tuple(outputs.scalars()),
        )

    # -- the state machine -----------------------------------------------------------------

    def transition(
        self,
        task_id: str,
        action: str,
        values: Mapping[str, Any],
        *,
        owner: TaskRecord | None = None,
        executor: tuple[str, int] | None = None,
        task_name: str | None = None,
        workspace_id: str | None = None,
        conn: Connection | None = None,
        notify: Callable[[TaskRecord], NewNotification] | None = None,
    ) -> TaskRecord | None:
        """Compare-and-set: apply ``action`` if the record's status allows it, else ``None``.

        Worker-side changes name who makes them: ``owner``, the execution as it was claimed
        (see :func:`owned_by`), or ``executor``, the (worker, pid) that ran it. A change by an
        execution that was superseded matches nothing. ``task_name``: only a record of that task.

        ``notify`` builds the notification for a final outcome, written in the same transaction
        so that it exists exactly once whatever the number of deliveries.
        """
        rule = transition(action)
        clauses = [T.c.id == task_id, m.status_by_key().in_([s.value for s in rule.sources])]
        if workspace_id is not None:
            clauses.append(T.c.workspace_id == workspace_id)
        if owner is not None:
            clauses.append(owned_by(owner))
        if executor is not None:
            clauses += [T.c.worker == executor[0], T.c.worker_pid == executor[1]]
        if task_name is not None:
            clauses.append(T.c.task_name == task_name)
        changes = {"updated_at": now(), **values, "status": rule.target.value}
        statement = update(T).where(*clauses).values(changes).returning(*T.c)
        alone = conn is None and notify is None
        with self.single() if alone else self.begin(conn) as c:
            row = c.execute(statement).one_or_none()
            if row is None:
                return None
            record = task_record(row)
            if notify is not None:
                c.execute(insert_notification(record, notify(record)))
            return record

    def transition_or_raise(
        self, task_id: str, workspace_id: str, action: str, values: Mapping[str, Any], **kw: Any
    ) -> TaskRecord:
        record = self.transition(task_id, action, values, workspace_id=workspace_id, **kw)
        if record is None:
            current = self.get(task_id, workspace_id)
            raise TransitionError(task_id, action, current.status.value)
        return record

    def rerun(self, task_id: str, workspace_id: str, *, blocked: bool = False) -> TaskRecord:
        """A person's retry of a failed or cancelled task: a new run with all its attempts,
        queued again (``blocked``: waiting for its parents again)."""
        values = {
            "blocked": blocked,
            "run": T.c.run + 1,
            "attempt": 0,  # a fresh budget: the next execution is attempt 1 of this run
            "dispatched_at": None,
            "finished_at": None,
            "cancel_requested_at": None,
            "pause_requested_at": None,
            "error_type": None,
            "error_message": None,
            "error_traceback": None,
            "next_attempt_at": None,
        }
        return self.transition_or_raise(task_id, workspace_id, "retry", values)

    def request_running(
        self, task_id: str, workspace_id: str, values: Mapping[str, Any]
    ) -> TaskRecord | None:
        """Ask a running task to stop (or not) at its next checkpoint; ``None`` if not running."""
        statement = (
            update(T)
            .where(
                T.c.id == task_id,
                T.c.workspace_id == workspace_id,
                m.status_by_key() == Status.IN_PROGRESS.value,
            )
            .values(updated_at=now(), **values)
            .returning(*T.c)
        )
        with self.single() as c:
            row = c.execute(statement).one_or_none()
        return task_record(row) if row else None


_KEY = ("workspace_id", "idempotency_key")  # uq_tasks_idempotency


@functools.cache
def _insert_one(columns: tuple[str, ...]) -> Prepared:
    """The insert of one task row with these columns (a few sets: held or not, stamped or not).
    Prepared, it saves a submit the server's parse and plan and SQLAlchemy's execution path:
    0.10 ms of its 0.73 (Postgres, quiet machine)."""
    listed = ", ".join(columns)
    statement = f"INSERT INTO tasks ({listed}) VALUES ({', '.join(f':{c}' for c in columns)})"
    name = f"taskhub_insert_{zlib.crc32(listed.encode()):08x}"
    return Prepared(name, statement, {column: T.c[column].type for column in columns})


def _stamp(task: NewTask, dispatched_at: datetime | None) -> datetime | None:
    """``dispatched_at`` for a task published right after its insert; none for a held one."""
    return None if dispatched_at is None or task.held(dispatched_at) else dispatched_at


def _insert_unless_keyed(c: Connection, new: NewTask, dispatched_at: datetime | None) -> Any:
    """The insert of ``new`` that does nothing when its idempotency key is taken; returns
    the id it inserted (no row: the key was taken)."""
    dialect = postgresql if c.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(T).values(new_row(new, dispatched_at, stamping=True))
    return statement.on_conflict_do_nothing(index_elements=_KEY).returning(T.c.id)
