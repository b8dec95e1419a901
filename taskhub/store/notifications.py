"""Notifications: the one insert of a task's outcome, and the inbox of one workspace.

A notification's row is written in one place, :func:`notification_row`, which both ways of
writing it use: :func:`insert_notification` (a Core insert, for the state machine's
transitions) and :func:`insert_from_sql` (SQL text of ``INSERT ... SELECT ... FROM`` the rows
of a data-modifying CTE, compiled from the same Core insert, for the worker's prepared
completion statement in :mod:`taskhub.store.execution`). A new column is added there alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, String, Text, bindparam, column, func, insert, select, table, update
from sqlalchemy.dialects.postgresql import psycopg2
from sqlalchemy.types import TypeEngine

from taskhub.domain.errors import NotFoundError
from taskhub.domain.records import NewNotification, Notification, TaskRecord
from taskhub.domain.states import Outcome
from taskhub.store import tables as m

if TYPE_CHECKING:
    from taskhub.store.tasks import Store

N = m.notifications
_PG_NAMED = psycopg2.dialect(paramstyle="named")  # type: ignore[no-untyped-call]

# -- writing: one row per outcome -----------------------------------------------------------

# Columns copied from the task the notification tells of: notification column -> tasks column.
FROM_TASK = {"workspace_id": "workspace_id", "task_id": "id", "run": "run"}
TASK_COLUMNS = tuple(dict.fromkeys(FROM_TASK.values()))  # what a source of tasks rows must have
LEFT_OUT = frozenset({"id", "read_at"})  # columns a new notification leaves to the database


def note_values(new: NewNotification) -> dict[str, Any]:
    """The columns a :class:`NewNotification` gives, by name."""
    return {
        "outcome": new.outcome.value,
        "kind": new.kind,
        "title": new.title,
        "description": new.description,
    }


NOTE_COLUMNS = tuple(note_values(NewNotification(Outcome.COMPLETED, "", "")))


def notification_row(task: Any, note: dict[str, Any], at: Any) -> dict[str, Any]:
    """A new notification's row, column name to value (or SQL expression).

    ``task``: anything with the attributes in ``TASK_COLUMNS`` (a :class:`TaskRecord`, or the
    columns of a ``tasks`` source); ``note``: :func:`note_values`, or parameters by those names;
    ``at``: the time of the outcome.
    """
    copied = {name: getattr(task, source) for name, source in FROM_TASK.items()}
    return {**copied, **note, "created_at": at}


def insert_notification(record: TaskRecord, new: NewNotification) -> Insert:
    """The insert of ``new``, the notification of ``record``'s outcome (at its ``finished_at``)."""
    return insert(N).values(notification_row(record, note_values(new), record.finished_at))


def _param_type(name: str) -> TypeEngine[Any]:
    declared: TypeEngine[Any] = N.c[name].type
    return Text() if isinstance(declared, String) else declared  # no length check on a param


# The parameters of :func:`insert_from_sql` other than its time: one per note column.
NOTE_PARAM_TYPES: dict[str, TypeEngine[Any]] = {name: _param_type(name) for name in NOTE_COLUMNS}


def insert_from_sql(source: str, at: str) -> str:
    """``INSERT INTO notifications (...) SELECT ... FROM <source> RETURNING task_id`` as
    Postgres SQL text with ``:name`` parameters: the ``NOTE_COLUMNS`` and ``at``, the time of
    the outcome. ``source`` (a CTE's name) must have the ``TASK_COLUMNS`` of ``tasks``."""
    rows = table(source, *(column(name) for name in TASK_COLUMNS))
    note = {name: bindparam(name, type_=NOTE_PARAM_TYPES[name]) for name in NOTE_COLUMNS}
    values = notification_row(rows.c, note, bindparam(at, type_=N.c.created_at.type))
    chosen = select(*(value.label(name) for name, value in values.items()))
    statement = insert(N).from_select(list(values), chosen).returning(N.c.task_id)
    return str(statement.compile(dialect=_PG_NAMED))


# -- reading: the inbox ----------------------------------------------------------------------


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

    def created_since(self, workspace_id: str, since: datetime, limit: int) -> list[Notification]:
        """Notifications created after ``since``, oldest first (what a live page follows; on
        the index ``(workspace_id, created_at)``)."""
        query = (
            select(N)
            .where(N.c.workspace_id == workspace_id, N.c.created_at > since)
            .order_by(N.c.created_at, N.c.id)
            .limit(limit)
        )
        with self.store.read() as c:
            return [notification(row._mapping) for row in c.execute(query)]

    def unread_count(self, workspace_id: str, cap: int) -> int:
        """How many are unread, counting no further than ``cap`` (on the partial index of
        unread notifications, the count costs at most ``cap`` index entries)."""
        unread = (
            select(N.c.id)
            .where(N.c.workspace_id == workspace_id, N.c.read_at.is_(None))
            .limit(cap)
            .subquery()
        )
        with self.store.read() as c:
            return int(c.execute(select(func.count()).select_from(unread)).scalar_one())

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
