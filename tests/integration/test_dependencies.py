"""Tasks that wait for others (``depends_on``): released by the completion of the tasks they
wait for, decided from the records, exactly once; ended when one of those fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskhub import Settings, Status, TaskHub, ValidationError

from ..conftest import own_queue
from ..support import running_worker, wait_for_status


def test_a_task_waits_for_the_tasks_it_depends_on_then_runs(
    settings: Settings, scratch: Path
) -> None:
    hub, queue = own_queue(settings)
    first = hub.submit(
        "tests.block", {"gate": str(scratch / "gate"), "started": str(scratch / "s")}
    )
    second = hub.submit("tests.echo", {"value": 2}, depends_on=[first.id])
    assert (second.status, second.blocked, second.dispatched) == (Status.PENDING, True, False)
    assert hub.get(first.id).has_dependents

    with running_worker(queue, name="deps"):
        wait_for_status(hub, first.id, Status.IN_PROGRESS, timeout_s=20)
        later = hub.submit("tests.echo", {"value": 3}, depends_on=[first.id, second.id])
        assert hub.get(second.id).status is Status.PENDING  # its parent is still running
        (scratch / "gate").write_text("go")
        done = wait_for_status(hub, later.id, Status.COMPLETED, timeout_s=30)

    a, b = hub.get(first.id), hub.get(second.id)
    assert b.status is Status.COMPLETED and not b.blocked
    assert a.finished_at is not None and b.started_at is not None and b.started_at >= a.finished_at
    assert done.started_at is not None and b.finished_at is not None
    assert done.started_at >= b.finished_at
    hub.close()


def test_when_a_task_fails_for_good_the_tasks_waiting_for_it_fail_and_never_run(
    settings: Settings,
) -> None:
    hub, queue = own_queue(settings)
    broken = hub.submit("tests.flaky", {"fail_times": 0, "permanent": True}, name="Broken")
    child = hub.submit("tests.echo", {"value": 1}, depends_on=[broken.id])
    grandchild = hub.submit("tests.echo", {"value": 2}, depends_on=[child.id])

    with running_worker(queue, name="deps-fail"):
        ended = wait_for_status(hub, grandchild.id, Status.FAILED, timeout_s=30)

    failed_child = hub.get(child.id)
    assert failed_child.status is Status.FAILED and failed_child.started_at is None
    assert failed_child.error is not None
    assert failed_child.error.message == "upstream task Broken failed"
    assert ended.error is not None and ended.started_at is None
    assert ended.error.message == f"upstream task {failed_child.name} failed"
    hub.close()


def test_cancelling_a_task_cancels_the_tasks_waiting_for_it(settings: Settings) -> None:
    hub, _ = own_queue(settings)  # no worker consumes its queue: the parent stays pending
    parent = hub.submit("tests.echo", {"value": 1}, name="Parent")
    child = hub.submit("tests.echo", {"value": 2}, depends_on=[parent.id])
    hub.cancel(parent.id)
    cancelled = hub.get(child.id)
    assert cancelled.status is Status.CANCELLED and not cancelled.blocked
    assert cancelled.error is not None
    assert cancelled.error.message == "upstream task Parent cancelled"
    hub.close()


def test_depending_on_tasks_that_already_completed_runs_at_once(
    settings: Settings,
) -> None:
    hub, queue = own_queue(settings)
    with running_worker(queue, name="deps-done"):
        done = wait_for_status(
            hub, hub.submit("tests.echo", {"value": 1}).id, Status.COMPLETED, timeout_s=20
        )
        after = hub.submit("tests.echo", {"value": 2}, depends_on=[done.id])
        assert not after.blocked and after.dispatched
        wait_for_status(hub, after.id, Status.COMPLETED, timeout_s=20)
    hub.close()


def test_depending_on_a_task_that_is_not_there_is_refused_and_nothing_is_written(
    hub: TaskHub,
) -> None:
    before = hub.list(limit=1).total
    with pytest.raises(ValidationError) as refused:
        hub.submit("tests.echo", {"value": 1}, depends_on=["no-such-task"])
    assert refused.value.field == "depends_on" and "no-such-task" in refused.value.message
    assert hub.list(limit=1).total == before


def test_retrying_a_failed_task_runs_it_then_the_tasks_that_failed_because_of_it(
    settings: Settings, scratch: Path
) -> None:
    hub, queue = own_queue(settings)
    log = scratch / "runs.log"
    first = hub.submit(
        "tests.fails_first", {"log_path": str(log), "failures": 2}, retries=0, name="First"
    )
    child = hub.submit("tests.echo", {"value": "after"}, depends_on=[first.id])
    with running_worker(queue, name="deps-retry"):
        wait_for_status(hub, child.id, Status.FAILED, timeout_s=30)
        hub.retry(first.id)  # fails once more (its second failure), then:
        wait_for_status(hub, child.id, Status.FAILED, timeout_s=30)
        hub.retry(first.id)
        done = wait_for_status(hub, child.id, Status.COMPLETED, timeout_s=30)
    assert done.run == 3 and hub.get(first.id).status is Status.COMPLETED
    assert hub.output(child.id).content == "after"
    hub.close()
