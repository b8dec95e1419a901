"""Webhooks, both directions: every query about triggers, subscriptions and their deliveries.

Secrets are read here for signing and verifying only; the records keep them out of ``repr``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, and_, exists, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from taskhub.domain.errors import NotFoundError, StoreError
from taskhub.domain.hooks import (
    PENDING,
    DeliveryJob,
    Subscription,
    Trigger,
    TriggerDelivery,
    WebhookDelivery,
)
from taskhub.store import tables as m
from taskhub.store.notifications import notification
from taskhub.store.tasks import Store

TR, TD = m.triggers, m.trigger_deliveries
WS, WD, N = m.webhook_subscriptions, m.webhook_deliveries, m.notifications

UTC_TIME = m.UTCDateTime()


R = TypeVar("R")


class HookStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One ORM session in one transaction (``service.submit`` joins it), errors wrapped."""
        try:
            with Session(self.store.engine) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError.of(exc) from exc

    # -- triggers --------------------------------------------------------------------------

    def insert_trigger(self, t: Trigger) -> None:
        values = {
            "id": t.id,
            "workspace_id": t.workspace_id,
            "name": t.name,
            "task_name": t.task_name,
            "input_mapping": t.input_mapping,
            "secret": t.secret,
            "created_at": t.created_at,
        }
        with self.store.begin() as c:
            c.execute(insert(TR).values(values))

    def trigger(self, trigger_id: str, workspace_id: str | None = None) -> Trigger:
        """A live (not deleted) trigger; in ``workspace_id`` when given."""
        _check_id("trigger", trigger_id)
        query = select(TR).where(TR.c.id == trigger_id, TR.c.deleted_at.is_(None))
        if workspace_id is not None:
            query = query.where(TR.c.workspace_id == workspace_id)
        with self.store.read() as c:
            row = c.execute(query).one_or_none()
        if row is None:
            raise NotFoundError("trigger", trigger_id)
        return _trigger(row)

    def triggers(self, workspace_id: str, *, limit: int, skip: int) -> tuple[list[Trigger], int]:
        live = (TR.c.workspace_id == workspace_id, TR.c.deleted_at.is_(None))
        order = (TR.c.created_at.desc(), TR.c.id.desc())
        return self._page(TR, live, order, _trigger, limit, skip)

    def delete_trigger(self, workspace_id: str, trigger_id: str, now: datetime) -> None:
        _check_id("trigger", trigger_id)
        where = (
            TR.c.id == trigger_id,
            TR.c.workspace_id == workspace_id,
            TR.c.deleted_at.is_(None),
        )
        with self.store.begin() as c:
            if not c.execute(update(TR).where(*where).values(deleted_at=now)).rowcount:
                raise NotFoundError("trigger", trigger_id)

    def log_delivery(
        self, conn: Connection, trigger: Trigger, webhook_id: str, task_id: str, now: datetime
    ) -> None:
        """Record an accepted delivery once: a repeated ``webhook_id`` adds nothing."""
        row = {
            "trigger_id": trigger.id,
            "workspace_id": trigger.workspace_id,
            "webhook_id": webhook_id,
            "task_id": task_id,
            "received_at": now,
        }
        statement = _insert_for(conn)(TD).values(row)
        conn.execute(statement.on_conflict_do_nothing(index_elements=["trigger_id", "webhook_id"]))

    def trigger_deliveries(
        self, trigger_id: str, *, limit: int, skip: int
    ) -> tuple[list[TriggerDelivery], int]:
        order = (TD.c.received_at.desc(), TD.c.id.desc())
        return self._page(
            TD, (TD.c.trigger_id == trigger_id,), order, _trigger_delivery, limit, skip
        )

    def delivery_summaries(
        self, trigger_ids: Sequence[str]
    ) -> dict[str, tuple[TriggerDelivery | None, int]]:
        """Per trigger: its latest delivery (or none) and how many it received; two reads
        for a whole page of triggers."""
        if not trigger_ids:
            return {}
        mine = TD.c.trigger_id.in_(list(trigger_ids))
        newest = (TD.c.received_at.desc(), TD.c.id.desc())
        rank = func.row_number().over(partition_by=TD.c.trigger_id, order_by=newest)
        ranked = select(TD, rank.label("rank")).where(mine).subquery()
        counting = select(TD.c.trigger_id, func.count()).where(mine).group_by(TD.c.trigger_id)
        with self.store.read() as c:
            counts: dict[str, int] = {row[0]: row[1] for row in c.execute(counting)}
            latest = select(ranked).where(ranked.c.rank == 1)
            first = {row.trigger_id: _trigger_delivery(row) for row in c.execute(latest)}
        return {t: (first.get(t), counts.get(t, 0)) for t in trigger_ids}

    # -- subscriptions ---------------------------------------------------------------------

    def insert_subscription(self, s: Subscription) -> None:
        values = {
            "id": s.id,
            "workspace_id": s.workspace_id,
            "url": s.url,
            "secret": s.secret,
            "created_at": s.created_at,
        }
        with self.store.begin() as c:
            c.execute(insert(WS).values(values))

    def subscription(self, workspace_id: str, subscription_id: str) -> Subscription:
        _check_id("webhook subscription", subscription_id)
        query = select(WS).where(
            WS.c.id == subscription_id, WS.c.workspace_id == workspace_id, WS.c.deleted_at.is_(None)
        )
        with self.store.read() as c:
            row = c.execute(query).one_or_none()
        if row is None:
            raise NotFoundError("webhook subscription", subscription_id)
        return _subscription(row)

    def subscriptions(
        self, workspace_id: str, *, limit: int, skip: int
    ) -> tuple[list[Subscription], int]:
        live = (WS.c.workspace_id == workspace_id, WS.c.deleted_at.is_(None))
        order = (WS.c.created_at.desc(), WS.c.id.desc())
        return self._page(WS, live, order, _subscription, limit, skip)

    def delete_subscription(self, workspace_id: str, subscription_id: str, now: datetime) -> None:
        _check_id("webhook subscription", subscription_id)
        where = (WS.c.id == subscription_id, WS.c.workspace_id == workspace_id)
        with self.store.begin() as c:
            changed = c.execute(
                update(WS).where(*where, WS.c.deleted_at.is_(None)).values(deleted_at=now)
            ).rowcount
        if not changed:
            raise NotFoundError("webhook subscription", subscription_id)

    def has_subscriptions(self, workspace_id: str) -> bool:
        """One indexed lookup: does the workspace have any live subscription?"""
        query = (
            select(WS.c.id).where(WS.c.workspace_id == workspace_id, WS.c.deleted_at.is_(None))
        ).limit(1)
        with self.store.read() as c:
            return c.execute(query).first() is not None

    # -- outbound deliveries ---------------------------------------------------------------

    def create_deliveries(
        self, workspace_id: str, task_id: str, run: int, outcome: str, now: datetime
    ) -> list[int]:
        """A pending delivery of this outcome's notification per live subscription."""
        note = select(N.c.id).where(N.c.task_id == task_id, N.c.run == run, N.c.outcome == outcome)
        with self.store.begin() as c:
            note_id = c.execute(note).scalar_one_or_none()
            if note_id is None:
                return []
            live = and_(WS.c.workspace_id == workspace_id, WS.c.deleted_at.is_(None))
            statement = _new_deliveries(c, select(WS.c.id, literal(note_id)).where(live), now)
            return [int(ident) for ident in c.execute(statement).scalars()]

    def missing_deliveries(self, since: datetime, before: datetime, now: datetime) -> list[int]:
        """Create the deliveries that notifications stored in [since, before) should have had.

        For a process that died between storing an outcome's notification and creating its
        deliveries: every live subscription that existed when the notification was stored.
        """
        made = select(WD.c.id).where(
            WD.c.subscription_id == WS.c.id, WD.c.notification_id == N.c.id
        )
        owed = (
            select(WS.c.id, N.c.id)
            .join(N, N.c.workspace_id == WS.c.workspace_id)
            .where(WS.c.deleted_at.is_(None), WS.c.created_at <= N.c.created_at)
            .where(N.c.created_at >= since, N.c.created_at < before, ~exists(made))
        )
        with self.store.begin() as c:
            statement = _new_deliveries(c, owed, now, skip_existing=True)
            return [int(ident) for ident in c.execute(statement).scalars()]

    def overdue_deliveries(self, before: datetime, now: datetime) -> list[int]:
        """Pending deliveries due before ``before`` (their message was lost), due again now."""
        overdue = and_(WD.c.status == PENDING, WD.c.next_attempt_at < before)
        statement = update(WD).where(overdue).values(next_attempt_at=now).returning(WD.c.id)
        with self.store.begin() as c:
            return [int(ident) for ident in c.execute(statement).scalars()]

    def delivery_job(self, delivery_id: int) -> DeliveryJob | None:
        query = (
            select(WD, WS.c.url, WS.c.secret, WS.c.deleted_at, *_notification_columns())
            .join(WS, WS.c.id == WD.c.subscription_id)
            .join(N, N.c.id == WD.c.notification_id)
            .where(WD.c.id == delivery_id)
        )
        with self.store.read() as c:
            row = c.execute(query).one_or_none()
        if row is None:
            return None
        r = row._mapping
        note = notification({c.name: r[f"n_{c.name}"] for c in N.c})
        return DeliveryJob(
            _webhook_delivery(row), r["url"], r["secret"], r["deleted_at"] is None, note
        )

    def record_attempt(
        self, delivery_id: int, attempts_before: int, values: dict[str, Any]
    ) -> bool:
        """Apply one attempt's result, unless another attempt got there first."""
        where = (WD.c.id == delivery_id, WD.c.status == PENDING, WD.c.attempts == attempts_before)
        with self.store.begin() as c:
            return bool(c.execute(update(WD).where(*where).values(values)).rowcount)

    def webhook_deliveries(
        self, subscription_id: str, *, limit: int, skip: int
    ) -> tuple[list[WebhookDelivery], int]:
        order = (WD.c.created_at.desc(), WD.c.id.desc())
        where = (WD.c.subscription_id == subscription_id,)
        return self._page(WD, where, order, _webhook_delivery, limit, skip)

    # -- shared ----------------------------------------------------------------------------

    def _page(
        self,
        table: Any,
        where: tuple[Any, ...],
        order: tuple[Any, ...],
        convert: Callable[[Row[Any]], R],
        limit: int,
        skip: int,
    ) -> tuple[list[R], int]:
        with self.store.read() as c:
            total = c.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            rows = c.execute(select(table).where(*where).order_by(*order).limit(limit).offset(skip))
            return [convert(row) for row in rows], int(total)


def _notification_columns() -> list[Any]:
    return [column.label(f"n_{column.name}") for column in N.c]


def _check_id(kind: str, ident: str) -> None:
    """Ids are UUIDs: anything else is not found, and never reaches the database."""
    try:
        uuid.UUID(ident)
    except ValueError:
        raise NotFoundError(kind, ident[:100]) from None


def _new_deliveries(c: Connection, pairs: Any, now: datetime, skip_existing: bool = False) -> Any:
    """INSERT a pending delivery, due now, per (subscription id, notification id) selected."""
    rows = pairs.add_columns(
        literal(PENDING), literal(0), literal(now, UTC_TIME), literal(now, UTC_TIME)
    )
    columns = ["subscription_id", "notification_id", "status", "attempts", "created_at"]
    statement = _insert_for(c)(WD).from_select([*columns, "next_attempt_at"], rows)
    if skip_existing:
        statement = statement.on_conflict_do_nothing(
            index_elements=["subscription_id", "notification_id"]
        )
    return statement.returning(WD.c.id)


def _insert_for(c: Connection) -> Any:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` (Postgres and SQLite spell it alike)."""
    return postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert


def _trigger(row: Row[Any]) -> Trigger:
    r = row._mapping
    return Trigger(
        r["id"],
        r["workspace_id"],
        r["name"],
        r["task_name"],
        r["input_mapping"],
        r["created_at"],
        r["secret"],
    )


def _trigger_delivery(row: Row[Any]) -> TriggerDelivery:
    r = row._mapping
    return TriggerDelivery(r["webhook_id"], r["task_id"], r["received_at"])


def _subscription(row: Row[Any]) -> Subscription:
    r = row._mapping
    return Subscription(r["id"], r["workspace_id"], r["url"], r["created_at"], r["secret"])


def _webhook_delivery(row: Row[Any]) -> WebhookDelivery:
    r = row._mapping
    return WebhookDelivery(
        id=r["id"],
        subscription_id=r["subscription_id"],
        notification_id=r["notification_id"],
        status=r["status"],
        attempts=r["attempts"],
        response_status=r["response_status"],
        last_error=r["last_error"],
        created_at=r["created_at"],
        delivered_at=r["delivered_at"],
    )
