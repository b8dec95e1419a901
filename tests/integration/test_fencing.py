"""Every write a worker makes names the execution that claimed the record: once another
execution took the record over, the first one's writes change nothing. These tests play the
two workers by hand, on a queue nobody consumes."""

from __future__ import annotations

import os

import pytest

from taskhub import Settings, Status, TaskHub
from taskhub.domain.clock import now
from taskhub.domain.outputs import OutputCodec
from taskhub.domain.records import ErrorInfo, TaskRecord
from taskhub.domain.registry import lookup
from taskhub.domain.states import Outcome, StepStatus
from taskhub.store import execution as worker_store
from taskhub.worker.context import Superseded, TaskContext

from ..conftest import own_queue

BOOM = ErrorInfo("RuntimeError", "the first execution fails late")


def taken_over(hub: TaskHub, task: str = "tests.pipeline") -> tuple[TaskRecord, TaskRecord]:
    """A task claimed by a first execution, then taken over by a second one."""
    record = hub.submit(task, {"log_path": os.devnull})
    first = hub.lifecycle.claim(record.id, "host-a", os.getpid())
    assert first is not None
    second = worker_store.take_over(hub.store, first, "host-b", os.getpid() + 1, now())
    assert second is not None and second.attempt == first.attempt + 1
    return first, second


def test_a_superseded_execution_cannot_fail_retry_or_stop_the_record(settings: Settings) -> None:
    hub, _ = own_queue(settings)
    first, second = taken_over(hub)

    assert hub.lifecycle.fail(first.id, BOOM, owner=first) is None
    assert hub.lifecycle.schedule_retry(first.id, BOOM, 0.1, owner=first) is None
    assert hub.lifecycle.stop(first, Outcome.CANCELLED) is None
    assert hub.lifecycle.stop(first, None) is None
    killed_at_hard_limit = ("host-a", os.getpid())
    assert hub.lifecycle.fail(first.id, BOOM, executor=killed_at_hard_limit) is None

    record = hub.get(first.id)
    assert (record.status, record.attempt, record.worker) == (Status.IN_PROGRESS, 2, "host-b")
    assert record.error is None and hub.notifications() == []
    assert hub.lifecycle.fail(second.id, BOOM, owner=second) is not None  # the owner still can


def test_a_superseded_execution_cannot_write_steps_progress_outputs_or_heartbeat(
    settings: Settings,
) -> None:
    hub, _ = own_queue(settings)
    first, second = taken_over(hub)
    runs, at = hub.runs, now()
    output = OutputCodec(1000).encode("late.txt", "from the first execution")

    assert runs.heartbeat(first, at) is None
    assert runs.control(first) is None
    assert not runs.set_progress(first, percent=99.0, message="late")
    assert not runs.begin_step(first, "fetch", 1, at)
    assert not runs.end_step(first, "fetch", StepStatus.COMPLETED, at, output=[1])
    assert not runs.declare_steps(first, ["fetch", "crunch"])
    assert not runs.put_own_output(first, output, at)

    record = hub.get(first.id)
    assert record.progress.percent is None and record.progress.message is None
    assert record.steps == () and record.output_names == ()
    assert runs.heartbeat(second, at) is not None
    assert runs.set_progress(second, percent=10.0)


def test_the_body_of_a_superseded_execution_stops_at_its_next_context_call(
    settings: Settings,
) -> None:
    hub, _ = own_queue(settings)
    record = hub.submit("tests.outputs")
    first = hub.lifecycle.claim(record.id, "host-a", os.getpid())
    assert first is not None
    ctx = TaskContext(hub.runs, hub.outputs, first, lookup("tests.outputs"))
    ctx.progress(10, "still mine")
    worker_store.take_over(hub.store, first, "host-b", os.getpid() + 1, now())

    for late_call in (
        lambda: ctx.progress(50, "late"),
        lambda: ctx.output("notes.txt", "late"),
        lambda: ctx.step("late", lambda: 1),
        lambda: ctx.checkpoint(force=True),
    ):
        with pytest.raises(Superseded):
            late_call()
    assert hub.get(record.id).progress.message == "still mine"


def test_a_person_retrying_a_task_supersedes_its_earlier_run(settings: Settings) -> None:
    """(run, attempt) is the token: a retried task's new run is not the old run's, even where
    their attempt numbers meet."""
    hub, _ = own_queue(settings)
    record = hub.submit("tests.noop")
    first = hub.lifecycle.claim(record.id, "host-a", os.getpid())
    assert first is not None
    assert hub.lifecycle.fail(record.id, BOOM, owner=first) is not None
    hub.retry(record.id)
    rerun = hub.lifecycle.claim(record.id, "host-b", os.getpid() + 1)
    assert rerun is not None and rerun.run == first.run + 1

    assert not hub.runs.set_progress(first, message="from the old run")
    assert hub.lifecycle.complete(record.id, None, first) is None
    assert hub.get(record.id).status is Status.IN_PROGRESS
