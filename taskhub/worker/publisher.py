"""The one publisher: every message taskhub sends (tasks and webhook deliveries) goes out here.

The record is committed before its message goes out. A publish that fails leaves the record
``pending`` with no ``dispatched_at``; the sweep (:mod:`taskhub.worker.sweep`) publishes it again.
It also counts the broker's queues, which is how the sweep tells a lost message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime

from celery import Celery
from kombu.connection import Connection
from kombu.exceptions import KombuError, OperationalError
from kombu.messaging import Producer

from taskhub.domain.clock import now
from taskhub.domain.errors import DispatchError, StoreError
from taskhub.domain.records import TaskRecord
from taskhub.domain.settings import Settings
from taskhub.store.tasks import Store
from taskhub.worker.app import INTERACTIVE_PUBLISH_RETRY_POLICY, broker_priority
from taskhub.worker.sent_events import LaterSentEvents, SentEvents

log = logging.getLogger(__name__)
PIPELINE = 1000  # messages sent in one round trip by a batch publish


def _pipelined(producer: Producer, count: int) -> AbstractContextManager[object]:
    """Several messages go out in pipelined batches (kombu's ``Producer.batch``: on Redis, one
    round trip per :data:`PIPELINE` messages instead of one each); a single one as it is."""
    return producer.batch(max_size=PIPELINE) if count > 1 else nullcontext()


class Dispatcher:
    """Sends on ``app``'s broker, as ``settings`` say, and stamps the records in ``store``."""

    def __init__(self, app: Celery, settings: Settings, store: Store) -> None:
        self._app = app
        self._settings = settings
        self._store = store
        self._later_events = LaterSentEvents(app)

    def close(self) -> None:
        """Send the task-sent events still queued; stop their thread."""
        self._later_events.close()

    def send(
        self,
        records: Sequence[TaskRecord],
        *,
        countdown_s: float | None = None,
        interactive: bool = False,
    ) -> None:
        """Send one message per record; stamps nothing. Raises ``DispatchError``.

        ``interactive``: someone waits for the answer, so a broker that fails gets one quick
        retry (:data:`~taskhub.worker.app.INTERACTIVE_PUBLISH_RETRY_POLICY`), not three.
        """
        if not records:
            return
        app, settings = self._app, self._settings
        policy = INTERACTIVE_PUBLISH_RETRY_POLICY if interactive else None  # None: the app's
        try:
            with app.producer_or_acquire() as producer, _pipelined(producer, len(records)):
                batch = len(records) > 1 and settings.sent_events
                events = SentEvents(app, producer.connection) if batch else self._later_events
                declared: set[str] = set()
                for record in records:
                    o = record.options
                    app.send_task(
                        record.task_name,
                        kwargs=record.input,
                        task_id=record.id,
                        priority=broker_priority(settings, o.priority),
                        queue=o.queue,
                        expires=o.deadline,
                        countdown=countdown_s,
                        producer=producer,
                        soft_time_limit=o.timeout_s,
                        time_limit=o.timeout_s + settings.hard_timeout_grace_s,
                        retries=max(record.attempt, 0),
                        event_dispatcher=events,
                        retry_policy=policy,
                        declare=None if o.queue not in declared else [],  # once a batch
                    )
                    declared.add(o.queue)
                if isinstance(events, SentEvents):
                    events.flush()
        except (OperationalError, KombuError, OSError) as exc:
            raise DispatchError(f"broker unreachable: {exc}") from exc

    def publish(
        self,
        records: Sequence[TaskRecord],
        *,
        countdown_s: float | None = None,
        interactive: bool = False,
    ) -> list[TaskRecord]:
        """Send one message per record (:meth:`send`), then stamp them dispatched; returns
        them as stamped. Raises ``DispatchError``."""
        if not records:
            return []
        self.send(records, countdown_s=countdown_s, interactive=interactive)
        at = now()
        self._store.mark_dispatched([r.id for r in records], at)
        return [replace(r, dispatched_at=at) for r in records]

    def send_stamped(self, records: Sequence[TaskRecord]) -> list[TaskRecord]:
        """Send records that were stamped dispatched when they were inserted (one write per
        submit, not two). If the broker fails, take the stamp back (the sweep publishes them)
        and return them with the reason in ``dispatch_error``, as :meth:`publish_quietly`."""
        try:
            self.send(records, interactive=True)
            return list(records)
        except DispatchError as exc:
            stamped_at = records[0].dispatched_at
            if stamped_at is not None:
                self._unstamp([r.id for r in records], stamped_at)
            return _not_sent(records, exc, unstamped=True)

    def _unstamp(self, ids: list[str], stamped_at: datetime) -> None:
        try:
            self._store.undispatch(ids, stamped_at)
        except StoreError:  # the sweep republishes them as lost messages instead, later
            log.warning("could not take back the dispatch stamp of %d task(s)", len(ids))

    def publish_quietly(
        self,
        records: Sequence[TaskRecord],
        *,
        countdown_s: float | None = None,
        interactive: bool = False,
    ) -> list[TaskRecord]:
        """Publish, logging a broker failure (one line) instead of raising: the sweep will
        resend. Returns the records dispatched or, if the broker failed, with the reason in
        ``dispatch_error`` and no ``dispatched_at``."""
        try:
            return self.publish(records, countdown_s=countdown_s, interactive=interactive)
        except DispatchError as exc:
            answer = _not_sent(records, exc)
            log.debug("the publish failure in full", exc_info=True)
            return answer

    def publish_deliveries(self, ids: Sequence[int], *, task_name: str, priority: int) -> None:
        """Queue one ``task_name(delivery_id)`` message per outbound webhook delivery; a broker
        failure is logged (the sweep queues them again), never raised."""
        if not ids:
            return
        app, settings = self._app, self._settings
        try:
            with app.producer_or_acquire() as producer:
                for delivery_id in ids:
                    app.send_task(
                        task_name,
                        args=(delivery_id,),
                        queue=settings.default_queue,
                        priority=broker_priority(settings, priority),
                        producer=producer,
                    )
        except Exception as exc:  # the broker's own message may name its URL: keep only the kind
            log.warning(
                "could not queue %d webhook deliveries (%s); the sweep will queue them again",
                len(ids),
                type(exc).__name__,
            )

    def reachable(self) -> bool:
        """Whether the broker answers (one connection attempt, 2 s at most)."""
        try:
            with self._app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception:
            return False
        return True

    def queue_depths(self, queues: Iterable[str]) -> dict[str, int] | None:
        """How many messages wait in each queue; ``None`` if the broker cannot be reached."""
        try:
            with self._app.connection_for_read() as conn:
                return {queue: _depth(conn, queue) for queue in queues}
        except (OperationalError, KombuError, OSError):
            log.warning("sweep: the broker cannot be reached to count its queues")
            return None


def _not_sent(
    records: Sequence[TaskRecord], exc: DispatchError, *, unstamped: bool = False
) -> list[TaskRecord]:
    """Log a publish the broker refused (one line: the sweep resends) and answer the records
    with the reason in ``dispatch_error`` (and, ``unstamped``, no ``dispatched_at``)."""
    log.warning("publish of %d task(s) failed, the sweep will resend: %s", len(records), exc)
    return [
        replace(r, dispatch_error=str(exc), dispatched_at=None if unstamped else r.dispatched_at)
        for r in records
    ]


def _depth(conn: Connection, queue: str) -> int:
    with conn.channel() as channel:
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except conn.channel_errors as exc:
            if "NOT_FOUND" in str(exc) or getattr(exc, "reply_code", None) == 404:
                return 0  # no such queue: nothing waits in it
            raise OperationalError(f"cannot count queue {queue!r}: {exc}") from exc
