"""Celery's task-sent events, which let Flower show queued tasks, sent without slowing submits.

Celery sends a ``task-sent`` event per message when ``task_send_sent_event`` is on, through
the ``event_dispatcher`` given to ``send_task`` (it calls its ``publish``). One event per
submit is one more round trip to the broker in the submitter's path. Here they are gathered
and sent as lists of events in one message (what Celery's event receivers, Flower's included,
accept since Celery 4): :class:`SentEvents` for one batch publish, flushed at its end;
:class:`LaterSentEvents` for submits one by one, flushed by a background thread at most
:data:`FLUSH_S` later. The events are for monitoring: a failure to send them is logged, and
the tasks stay published.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from contextlib import suppress
from typing import Any

from celery import Celery
from kombu.connection import Connection
from kombu.exceptions import KombuError, OperationalError
from kombu.messaging import Producer

log = logging.getLogger(__name__)
BATCH = 1000  # events per message
FLUSH_S = 0.05  # how late a submit's event may reach Flower
MAX_QUEUED = 100_000  # past this, the oldest unsent events are dropped (monitoring only)
SEND_ERRORS = (OperationalError, KombuError, OSError)


class SentEvents:
    """The task-sent events of one batch publish, sent as one message at :meth:`flush`."""

    def __init__(self, app: Celery, connection: Connection) -> None:
        self._events = app.events.Dispatcher(
            connection=connection, buffer_group={"task"}, buffer_limit=BATCH
        )

    def publish(self, type: str, fields: dict[str, Any], producer: Producer, **_: Any) -> None:
        self.send(type, fields)

    def send(self, kind: str, fields: dict[str, Any]) -> None:
        self._events.send(kind, **fields)

    def flush(self) -> bool:
        """Send them; ``False`` (logged) when the broker did not take them."""
        try:
            self._events.flush(errors=False)
            return True
        except SEND_ERRORS:
            log.warning("task-sent events were not sent", exc_info=True)
            return False
        finally:
            self._events.close()


class LaterSentEvents:
    """Task-sent events of single submits: queued in memory, sent by a daemon thread (started
    on the first event in each process, so a forked worker that submits gets its own) on a
    connection of its own, at most :data:`FLUSH_S` after they were queued."""

    def __init__(self, app: Celery) -> None:
        self._app = app
        self._queue: deque[tuple[str, dict[str, Any]]] = deque(maxlen=MAX_QUEUED)
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self._connection: Connection | None = None  # the thread's own

    def publish(self, type: str, fields: dict[str, Any], producer: Producer, **_: Any) -> None:
        self._queue.append((type, fields))
        if self._thread is None or self._pid != os.getpid():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._closed or (self._thread is not None and self._pid == os.getpid()):
                return
            if self._pid and self._pid != os.getpid():  # a forked child: the parent's are not
                self._connection = None  # ours to use or close
                self._queue.clear()
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name="taskhub-sent-events", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_S)
            self._flush()
        self._flush()

    def _flush(self) -> None:
        """Send what is queued; on any failure, drop it (logged) and the connection, and go on:
        the thread must outlive a broker that is down."""
        if not self._queue:
            return
        try:
            if self._connection is None:
                self._connection = self._app.connection_for_write()
            events = SentEvents(self._app, self._connection)
            while self._queue:
                kind, fields = self._queue.popleft()
                events.send(kind, fields)
            sent = events.flush()
        except Exception:
            log.warning("task-sent events were not sent", exc_info=True)
            sent = False
        if not sent and self._connection is not None:  # the next flush opens another
            with suppress(Exception):
                self._connection.release()
            self._connection = None

    def close(self) -> None:
        """Send what is queued and stop the thread (the hub's ``close``)."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout=5)
        if self._connection is not None:
            self._connection.release()
            self._connection = None
