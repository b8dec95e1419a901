"""Stories of a task's life, run by a real Celery worker against the configured stack."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from taskhub import Settings, Status, TaskHub
from taskhub.domain.clock import now
from taskhub.domain.records import ErrorInfo

from ..conftest import own_queue
from ..support import Worker, wait_for, wait_for_status


def test_a_submitted_task_runs_and_its_record_tells_the_truth(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.echo", {"value": {"rows": 3}}, name="Daily Sales Report – US")
    assert record.status is Status.PENDING
    assert record.name == "Daily Sales Report – US"

    done = wait_for_status(hub, record.id, Status.COMPLETED)

    assert done.attempt == 1
    assert done.worker and done.worker.startswith("shared-")
    assert done.created_at <= done.started_at <= done.finished_at  # type: ignore[operator]
    assert hub.output(record.id).content == '{"rows": 3}'
    assert done.output_names == ("result",)


def test_a_task_without_a_name_is_named_by_its_description(hub: TaskHub) -> None:
    assert hub.submit("tests.echo").name == "Echo the value back"


def test_completion_stores_exactly_one_success_notification(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.echo", {"value": 1}, name="Nightly export")
    wait_for_status(hub, record.id, Status.COMPLETED)

    notes = wait_for(hub.notifications, what="the notification")
    assert [(n.kind, n.title) for n in notes] == [("success", "Completed: Nightly export")]
    assert notes[0].task_id == record.id


def test_named_outputs_text_and_json_and_progress(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.outputs")
    done = wait_for_status(hub, record.id, Status.COMPLETED)

    assert set(done.output_names) == {"notes.txt", "stats", "result"}
    notes = hub.output(record.id, "notes.txt")
    assert (notes.content_type, notes.content) == ("text/plain", "hello\n")
    assert hub.output(record.id, "stats").content == '{"rows": 3}'
    assert done.progress.percent == 100.0
    assert done.progress.message == "half way"


def test_an_oversize_output_fails_the_task_with_a_clear_error(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.big_output", {"size": 20_000})
    failed = wait_for_status(hub, record.id, Status.FAILED)

    assert failed.error is not None
    assert failed.error.type == "OutputTooLargeError"
    assert "20000 bytes; the limit is 10000 bytes" in failed.error.message


def test_submit_many_records_and_runs_every_task(hub: TaskHub, worker: Worker) -> None:
    records = hub.submit_many("tests.echo", ({"value": n} for n in range(300)))

    assert len({r.id for r in records}) == 300  # records, in input order, as submit returns
    assert [r.input["value"] for r in records] == list(range(300))
    assert {r.status for r in records} == {Status.PENDING}
    wait_for(
        lambda: hub.list(status=Status.COMPLETED, limit=1).total == 300,
        timeout_s=60,
        what="300 completed tasks",
    )
    assert hub.output(records[7].id).content == "7"


def test_a_redelivered_message_never_runs_a_finished_task_again(
    hub: TaskHub, worker: Worker
) -> None:
    record = hub.submit("tests.echo", {"value": "once"})
    done = wait_for_status(hub, record.id, Status.COMPLETED)

    hub.dispatcher.publish([done])  # the same message again, as a broker redelivery would
    sentinel = hub.submit("tests.echo", {"value": "after"})
    wait_for_status(hub, sentinel.id, Status.COMPLETED)
    wait_for(lambda: hub.get(sentinel.id).status is Status.COMPLETED)

    again = hub.get(record.id)
    assert (again.status, again.attempt, again.finished_at) == (
        Status.COMPLETED,
        1,
        done.finished_at,
    )
    assert len([n for n in hub.notifications() if n.task_id == record.id]) == 1


def test_steps_are_durable_and_progress_reads_step_n_of_m(
    hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    log, gate = scratch / "steps.log", scratch / "gate"
    record = hub.submit("tests.pipeline", {"log_path": str(log), "gate": str(gate)})

    running = wait_for(
        lambda: (r := hub.get(record.id)).progress.current_step == 2 and r, what="step 2"
    )
    assert running.status is Status.IN_PROGRESS
    assert running.progress.label == "Step 2 of 3"
    assert [(s.name, s.status.value) for s in running.steps] == [
        ("fetch", "completed"),
        ("crunch", "running"),
        ("publish", "queued"),
    ]
    gate.touch()

    done = wait_for_status(hub, record.id, Status.COMPLETED)
    assert [s.status.value for s in done.steps] == ["completed"] * 3
    assert done.steps[0].output == [1, 2, 3]
    assert hub.output(record.id).content == '{"total": 6}'


def test_a_retried_task_does_not_run_its_completed_steps_again(
    hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    log = scratch / "steps.log"
    record = hub.submit("tests.pipeline", {"log_path": str(log), "fail_crunch_once": True})

    done = wait_for_status(hub, record.id, Status.COMPLETED)

    assert done.attempt == 2
    assert log.read_text().split() == ["fetch", "crunch", "crunch", "publish"]
    assert [a.error.type for a in done.attempts if a.error] == ["ConnectionError"]


def test_a_retrying_task_whose_deadline_passes_is_expired_with_its_attempts_kept(
    settings: Settings,
) -> None:
    hub, _ = own_queue(settings)
    record = hub.submit("tests.flaky", {"fail_times": 9}, deadline=now() + timedelta(hours=1))
    first = hub.lifecycle.claim(record.id, "host", os.getpid())
    assert first is not None
    error = ErrorInfo("ConnectionError", "failure number 1")
    assert hub.lifecycle.schedule_retry(record.id, error, 0.1, owner=first) is not None

    expired = hub.lifecycle.expire(record.id)

    assert expired is not None and expired.status is Status.FAILED
    attempts = hub.get(record.id).attempts
    assert [(a.attempt, a.error.message if a.error else None) for a in attempts] == [
        (1, "failure number 1")
    ]
