"""One-off runs for later (``run_at`` / ``countdown``): held ``pending`` in the database with
their due time, published by beat's tick once due (not kept as a Celery ETA in Redis)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from taskhub import Settings, Status, TaskHub, ValidationError
from taskhub.domain.clock import now

from ..conftest import own_queue
from ..support import running_worker, wait_for_status
from .faults.support import Beat


def test_a_task_for_later_waits_pending_in_the_database_until_it_is_due(hub: TaskHub) -> None:
    run_at = now() + timedelta(hours=1)
    record = hub.submit("tests.echo", {"value": 1}, run_at=run_at)

    assert (record.status, record.scheduled_for) == (Status.PENDING, run_at)
    assert not record.dispatched and record.dispatch_error is None  # held, not failed
    hub.tasks.release_due(run_at - timedelta(seconds=1))
    hub.sweep()  # the sweep does not publish it early either
    assert not hub.get(record.id).dispatched

    assert hub.tasks.release_due(run_at) >= 1  # (the database is shared with other tests)
    released = hub.get(record.id)
    assert released.dispatched
    hub.tasks.release_due(run_at + timedelta(seconds=1))
    assert hub.get(record.id).dispatched_at == released.dispatched_at  # released once


def test_countdown_is_run_at_counted_from_now(hub: TaskHub) -> None:
    before = now()
    record = hub.submit("tests.echo", {"value": 1}, countdown=90)
    assert record.scheduled_for is not None
    assert before + timedelta(seconds=90) <= record.scheduled_for <= now() + timedelta(seconds=90)
    assert not record.dispatched


def test_a_task_for_later_is_refused_naming_the_field_when_it_cannot_be(hub: TaskHub) -> None:
    soon = now() + timedelta(minutes=5)
    cases = [
        ({"run_at": soon.replace(tzinfo=None)}, "run_at"),
        ({"run_at": soon, "deadline": soon - timedelta(minutes=1)}, "run_at"),
        ({"run_at": soon, "countdown": 5}, "countdown"),
        ({"countdown": -1}, "countdown"),
    ]
    for options, field in cases:
        with pytest.raises(ValidationError) as refused:
            hub.submit("tests.echo", {"value": 1}, **options)  # type: ignore[arg-type]
        assert refused.value.field == field, options


def test_cancelling_a_task_before_it_is_due_means_it_never_runs(hub: TaskHub) -> None:
    run_at = now() + timedelta(minutes=10)
    record = hub.submit("tests.echo", {"value": 1}, run_at=run_at)
    assert hub.cancel(record.id).status is Status.CANCELLED
    hub.tasks.release_due(run_at + timedelta(seconds=1))
    cancelled = hub.get(record.id)
    assert cancelled.status is Status.CANCELLED and not cancelled.dispatched


def test_beat_publishes_a_task_for_later_when_it_is_due_and_a_worker_runs_it(
    settings: Settings, tmp_path: Path
) -> None:
    hub, queue = own_queue(settings)
    beat = Beat(queue, tmp_path)
    try:
        with running_worker(queue, name="later"):
            run_at = now() + timedelta(seconds=2)
            later = hub.submit("tests.echo", {"value": "later"}, run_at=run_at)
            cancelled = hub.submit("tests.echo", {"value": "never"}, run_at=run_at)
            hub.cancel(cancelled.id)

            done = wait_for_status(hub, later.id, Status.COMPLETED, timeout_s=30)
            assert done.started_at is not None and done.started_at >= run_at
            assert done.scheduled_for == run_at
            never = hub.get(cancelled.id)
            assert never.status is Status.CANCELLED
            assert (never.dispatched, never.started_at) == (False, None)
    finally:
        beat.stop()
        hub.close()
