"""Retries, timeouts and deadlines: what a failure looks like in the record."""

from __future__ import annotations

import time
from datetime import timedelta

from taskhub import Settings, Status, TaskHub
from taskhub.domain.clock import now

from ..conftest import own_queue
from ..support import Worker, running_worker, wait_for, wait_for_status


def test_a_failing_task_is_retried_and_each_attempts_error_is_kept(
    hub: TaskHub, worker: Worker
) -> None:
    record = hub.submit("tests.flaky", {"fail_times": 2})

    done = wait_for_status(hub, record.id, Status.COMPLETED)

    assert done.attempt == 3
    assert [(a.attempt, a.error.message) for a in done.attempts if a.error] == [
        (1, "failure number 1"),
        (2, "failure number 2"),
    ]
    assert hub.output(record.id).content == "3"


def test_exhausted_retries_fail_with_type_message_and_traceback(
    hub: TaskHub, worker: Worker
) -> None:
    record = hub.submit("tests.flaky", {"fail_times": 9}, retries=1, name="Sync partner orders")

    failed = wait_for_status(hub, record.id, Status.FAILED)

    assert failed.attempt == 2
    assert failed.error is not None
    assert (failed.error.type, failed.error.message) == ("ConnectionError", "failure number 2")
    assert "Traceback" in (failed.error.traceback or "")
    assert "tests/tasks.py" in (failed.error.traceback or "")
    assert len(failed.attempts) == 2
    note = wait_for(hub.notifications, what="the error notification")[0]
    assert (note.kind, note.title) == ("error", "Failed: Sync partner orders")
    assert "ConnectionError: failure number 2" in note.description


def test_an_exception_marked_dont_retry_fails_at_once(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.flaky", {"fail_times": 0, "permanent": True})

    failed = wait_for_status(hub, record.id, Status.FAILED)

    assert failed.attempt == 1
    assert failed.error is not None and failed.error.type == "PermanentError"


def test_a_task_over_its_timeout_fails_with_timed_out(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.sleepy", {"seconds": 30}, timeout=0.5)

    failed = wait_for_status(hub, record.id, Status.FAILED)

    assert failed.error is not None
    assert (failed.error.type, failed.error.message) == ("TimedOut", "timed out after 0.5 s")


def test_a_timed_out_task_is_retried_when_retries_allow(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.sleepy", {"seconds": 30}, timeout=0.3, retries=1, retry_delay=0.05)

    failed = wait_for_status(hub, record.id, Status.FAILED)

    assert failed.attempt == 2
    assert [a.error.message for a in failed.attempts if a.error] == [
        "timed out after 0.3 s",
        "timed out after 0.3 s",
    ]


def test_a_task_ignoring_its_soft_limit_is_killed_at_the_hard_limit(
    hub: TaskHub, worker: Worker, scratch: object
) -> None:
    started = f"{scratch}/started"
    record = hub.submit("tests.stubborn", {"seconds": 60, "started": started}, timeout=0.5)

    failed = wait_for_status(hub, record.id, Status.FAILED, timeout_s=20)

    assert failed.error is not None
    assert failed.error.message == "timed out after 0.5 s (killed at the hard limit)"
    assert (failed.finished_at - failed.started_at).total_seconds() < 10  # type: ignore[operator]


def test_a_task_not_started_by_its_deadline_never_runs(settings: Settings) -> None:
    hub, queue_settings = own_queue(settings)
    deadline = now() + timedelta(seconds=1)
    record = hub.submit("tests.echo", {"value": 1}, deadline=deadline)
    wait_for(lambda: now() > deadline, what="the deadline to pass")

    with running_worker(queue_settings, concurrency=1, name="late"):
        failed = wait_for_status(hub, record.id, Status.FAILED)

    assert failed.attempt == 0
    assert failed.error is not None and failed.error.message == "deadline exceeded"


def test_the_sweep_fails_a_waiting_task_whose_deadline_passed(settings: Settings) -> None:
    hub, _ = own_queue(settings)
    deadline = now() + timedelta(seconds=0.5)
    record = hub.submit("tests.echo", {"value": 1}, deadline=deadline)
    wait_for(lambda: now() > deadline, what="the deadline to pass")

    hub.sweep()

    failed = hub.get(record.id)
    assert failed.status is Status.FAILED
    assert failed.error is not None and failed.error.message == "deadline exceeded"


def test_a_running_task_is_stopped_at_its_deadline(hub: TaskHub, worker: Worker) -> None:
    deadline = now() + timedelta(seconds=1.5)
    record = hub.submit("tests.sleepy", {"seconds": 30}, timeout=60, deadline=deadline)

    failed = wait_for_status(hub, record.id, Status.FAILED)

    assert failed.error is not None
    assert failed.error.message.startswith("deadline exceeded: stopped after")
    assert failed.finished_at is not None and failed.finished_at < deadline + timedelta(seconds=2)


def test_no_retry_is_scheduled_past_the_deadline(hub: TaskHub, worker: Worker) -> None:
    started = time.monotonic()
    record = hub.submit(
        "tests.flaky",
        {"fail_times": 5},
        retries=3,
        retry_delay=10,
        deadline=now() + timedelta(seconds=5),
    )

    failed = wait_for_status(hub, record.id, Status.FAILED)

    assert failed.attempt == 1
    assert time.monotonic() - started < 5
