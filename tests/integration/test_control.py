"""Cancel, pause, resume and retry, as a person asks for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskhub import Settings, Status, TaskHub, TransitionError

from ..conftest import own_queue
from ..support import Worker, running_worker, wait_for, wait_for_status


def _drain(hub: TaskHub) -> None:
    """Wait until every message queued so far was handled: a later task completes (FIFO)."""
    sentinel = hub.submit("tests.echo", {"value": "sentinel"})
    wait_for_status(hub, sentinel.id, Status.COMPLETED)


def test_a_cancelled_pending_task_never_runs(settings: Settings, scratch: Path) -> None:
    hub, queue = own_queue(settings)
    log = scratch / "ran.log"
    record = hub.submit("tests.log", {"path": str(log), "label": "ran"})

    cancelled = hub.cancel(record.id)
    assert cancelled.status is Status.CANCELLED

    with running_worker(queue, concurrency=1, name="cancel"):
        _drain(hub)
    assert not log.exists()
    assert hub.get(record.id).status is Status.CANCELLED
    assert [n.title for n in hub.notifications()][-1] == f"Cancelled: {record.name}"


def test_a_paused_pending_task_waits_until_resumed(settings: Settings, scratch: Path) -> None:
    hub, queue = own_queue(settings)
    log = scratch / "ran.log"
    record = hub.submit("tests.log", {"path": str(log), "label": "ran"})
    assert hub.pause(record.id).status is Status.PAUSED

    with running_worker(queue, concurrency=1, name="pause"):
        _drain(hub)
        assert not log.exists()
        assert hub.get(record.id).status is Status.PAUSED

        assert hub.resume(record.id).status is Status.PENDING
        wait_for_status(hub, record.id, Status.COMPLETED)
    assert log.read_text() == "ran\n"


def test_a_running_task_is_cancelled_at_its_next_checkpoint(
    hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    started = scratch / "started"
    record = hub.submit("tests.sleepy", {"seconds": 60, "started": str(started)})
    wait_for(started.exists, what="the task to start")

    asked = hub.cancel(record.id)
    assert asked.status is Status.IN_PROGRESS and asked.cancel_requested_at is not None

    cancelled = wait_for_status(hub, record.id, Status.CANCELLED, timeout_s=5)
    assert cancelled.finished_at is not None
    notes = [n for n in hub.notifications() if n.task_id == record.id]
    assert [n.outcome.value for n in notes] == ["cancelled"]


def test_a_task_that_never_checks_is_terminated_after_the_grace_period(
    hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    started = scratch / "started"
    record = hub.submit(
        "tests.sleepy", {"seconds": 120, "started": str(started), "cooperative": False}
    )
    pid = int(
        wait_for(lambda: started.exists() and started.read_text().strip(), what="the task to start")
    )

    hub.cancel(record.id)

    wait_for_status(hub, record.id, Status.CANCELLED, timeout_s=15)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), what="the process to be terminated")
    after = hub.submit("tests.echo", {"value": "the worker still works"})
    wait_for_status(hub, after.id, Status.COMPLETED)


def test_a_running_task_pauses_at_a_step_boundary_and_resumes_after_it(
    hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    log, gate, started = scratch / "steps.log", scratch / "gate", scratch / "started"
    record = hub.submit(
        "tests.pipeline", {"log_path": str(log), "gate": str(gate), "started": str(started)}
    )
    wait_for(started.exists, what="the crunch step to start")

    asked = hub.pause(record.id)
    assert asked.status is Status.IN_PROGRESS and asked.pause_requested_at is not None
    gate.touch()

    paused = wait_for_status(hub, record.id, Status.PAUSED)
    assert [s.status.value for s in paused.steps] == ["completed", "completed", "queued"]

    hub.resume(record.id)
    done = wait_for_status(hub, record.id, Status.COMPLETED)
    assert log.read_text().split() == ["fetch", "crunch", "publish"]
    assert done.attempt == 2


def test_retrying_a_failed_task_starts_a_new_run(
    hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    log = scratch / "runs.log"
    record = hub.submit("tests.fails_first", {"log_path": str(log), "failures": 1}, retries=0)
    wait_for_status(hub, record.id, Status.FAILED)

    again = hub.retry(record.id)
    assert again.status is Status.PENDING and again.error is None

    done = wait_for_status(hub, record.id, Status.COMPLETED)
    assert (done.run, done.attempt) == (2, 1)
    outcomes = sorted(n.outcome.value for n in hub.notifications() if n.task_id == record.id)
    assert outcomes == ["completed", "failed"]


def test_a_transition_the_status_does_not_allow_is_refused(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.echo", {"value": 1})
    wait_for_status(hub, record.id, Status.COMPLETED)

    for action in (hub.cancel, hub.pause, hub.resume, hub.retry):
        with pytest.raises(TransitionError, match="it is completed"):
            action(record.id)
    assert hub.get(record.id).status is Status.COMPLETED


def test_a_plan_running_limit_holds_back_the_next_task(settings: Settings, scratch: Path) -> None:
    """Starter may run one task at a time here: with two free worker slots, the second waits."""
    hub, limited = own_queue(settings, plan_max_running={"starter": 1})
    gate, started = scratch / "gate", scratch / "started"

    with running_worker(limited, concurrency=2, name="limited"):
        first = hub.submit("tests.block", {"gate": str(gate), "started": str(started)})
        wait_for(started.exists, what="the first task to start")
        second = hub.submit("tests.echo", {"value": "waited"})
        third = hub.submit("tests.echo", {"value": "waited too"})
        gate.touch()
        done = [wait_for_status(hub, t.id, Status.COMPLETED) for t in (first, second, third)]

    assert done[0].finished_at is not None
    assert all(d.started_at >= done[0].finished_at for d in done[1:]), [
        (d.started_at, d.finished_at, d.attempt) for d in done
    ]  # type: ignore[operator]
