"""Flower sees queued tasks through Celery's task-sent events: every submit sends one, a
single submit's from a background thread (off the submitter's path), a batch's as one message.
Checked with Celery's own event receiver on the real Redis broker."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from taskhub import Settings, TaskHub
from taskhub.worker.app import create_celery
from taskhub.worker.sent_events import LaterSentEvents

from ..conftest import own_queue
from ..support import wait_for


@contextmanager
def watching(hub: TaskHub) -> Iterator[set[str]]:
    """The ids of the task-sent events seen on the broker while inside (a Flower stand-in)."""
    seen: set[str] = set()
    app = hub.celery

    def on_sent(event: dict[str, Any]) -> None:
        seen.add(event["uuid"])

    with app.connection_for_read() as connection:
        receiver = app.events.Receiver(connection, handlers={"task-sent": on_sent})
        thread = threading.Thread(
            target=lambda: receiver.capture(limit=None, timeout=None, wakeup=False), daemon=True
        )
        thread.start()
        try:
            yield seen
        finally:
            receiver.should_stop = True
            thread.join(timeout=10)


def subscribed(hub: TaskHub, seen: set[str]) -> None:
    """Wait until the receiver hears events (a publish before it subscribed is not heard)."""

    probes: list[str] = []

    def heard() -> bool:
        probes.append(hub.submit("tests.noop", name=f"probe-{uuid.uuid4().hex[:6]}").id)
        return any(probe in seen for probe in probes)

    wait_for(heard, timeout_s=15, poll_s=0.2, what="the event receiver to subscribe")


@pytest.mark.redis
def test_single_and_batch_submits_each_send_a_task_sent_event(settings: Settings) -> None:
    hub, _ = own_queue(settings)  # nothing consumes the queue: the tasks stay queued
    try:
        with watching(hub) as seen:
            subscribed(hub, seen)
            one = hub.submit("tests.noop")
            batch = hub.submit_many("tests.noop", [{} for _ in range(25)])
            expected = {one.id, *(record.id for record in batch)}
            wait_for(lambda: expected <= seen, timeout_s=10, what="every task-sent event")
    finally:
        hub.close()


@pytest.mark.redis
def test_closing_the_hub_sends_the_events_still_queued(settings: Settings) -> None:
    hub, _ = own_queue(settings)
    watcher, _ = own_queue(settings)
    try:
        with watching(watcher) as seen:
            subscribed(watcher, seen)
            ids = [hub.submit("tests.noop").id for _ in range(5)]
            hub.close()  # right after the submits, before the background flush would run
            wait_for(lambda: set(ids) <= seen, timeout_s=10, what="the queued events")
    finally:
        watcher.close()


@pytest.mark.parametrize("broker", ["redis://127.0.0.1:9/0"])  # nothing listens: refused
def test_a_broker_that_refuses_loses_the_events_not_the_thread(broker: str) -> None:
    later = LaterSentEvents(create_celery(Settings(broker_url=broker)))
    try:
        for round_ in range(2):
            later.publish("task-sent", {"uuid": f"t{round_}"}, producer=None)  # type: ignore[arg-type]
            wait_for(lambda: not later._queue, timeout_s=30, what="the events dropped")
            assert later._thread is not None and later._thread.is_alive()
    finally:
        later.close()
