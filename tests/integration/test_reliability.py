"""Nothing is lost: killed workers, a broker that is down, rolled-back transactions."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from taskhub import Settings, Status, TaskHub
from taskhub.domain.clock import now
from taskhub.domain.errors import DispatchError, StoreError
from taskhub.store import execution as worker_store

from ..conftest import make_settings, own_queue
from ..support import Worker, running_worker, swept, wait_for, wait_for_status


def test_a_worker_process_killed_mid_task_loses_nothing(settings: Settings, scratch: Path) -> None:
    hub, queue = own_queue(settings)
    log, gate, started = scratch / "steps.log", scratch / "gate", scratch / "started"
    record = hub.submit(
        "tests.pipeline", {"log_path": str(log), "gate": str(gate), "started": str(started)}
    )

    with running_worker(queue, concurrency=1, name="victim"):
        pid = int(
            wait_for(
                lambda: started.exists() and started.read_text().split()[0],
                what="the task to start",
            )
        )
        os.kill(pid, signal.SIGKILL)
        gate.touch()
        done = wait_for_status(hub, record.id, Status.COMPLETED, timeout_s=30)

    assert done.attempt == 2
    assert log.read_text().split() == ["fetch", "crunch", "crunch", "publish"]


def test_a_lost_running_task_is_recovered_by_the_sweep(settings: Settings, scratch: Path) -> None:
    """The whole worker dies and its message is gone: the stale heartbeat brings it back."""
    hub, queue = own_queue(settings, heartbeat_timeout_s=1.0)
    started = scratch / "started"
    record = hub.submit("tests.sleepy", {"seconds": 0.5, "started": str(started)})
    with running_worker(queue, concurrency=1, name="doomed") as doomed:
        wait_for(started.exists, what="the task to start")
        os.killpg(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(timeout=10)
    if queue.resolved_broker_url.startswith("redis"):
        import redis

        redis.Redis.from_url(queue.resolved_broker_url).delete("unacked", "unacked_index")

    wait_for(
        lambda: swept(
            hub,
            lambda: (
                hub.get(record.id).next_attempt_at is None
                and hub.get(record.id).heartbeat_at is not None
            ),
        ),
        what="a sweep",
    )
    with running_worker(queue, concurrency=1, name="rescuer"):
        wait_for(
            lambda: swept(hub, lambda: hub.get(record.id).status is Status.COMPLETED),
            poll_s=0.5,
            what="the sweep to recover the task",
        )
    assert hub.get(record.id).attempt == 2


def test_a_record_whose_publish_failed_is_published_by_the_sweep(
    settings: Settings, hub: TaskHub, worker: Worker
) -> None:
    broken = make_settings(
        settings.home, database_url=settings.database_url, broker_url="redis://127.0.0.1:9/0"
    )
    offline = TaskHub(broken, workspace=hub.workspace)
    with pytest.raises(DispatchError):
        offline.dispatcher.publish([offline.submit("tests.echo", {"value": 0})])

    record = offline.submit("tests.echo", {"value": "kept"})
    assert (record.status, record.dispatched_at) == (Status.PENDING, None)

    wait_for(
        lambda: swept(hub, lambda: hub.get(record.id).status is Status.COMPLETED),
        poll_s=0.3,
        what="the sweep to publish it",
    )
    assert hub.output(record.id).content == "kept"


def test_submitting_inside_a_transaction_publishes_only_after_commit(
    hub: TaskHub, worker: Worker
) -> None:
    with Session(hub.store.engine) as session:
        record = hub.submit("tests.echo", {"value": "committed"}, session=session)
        assert hub.list().total == 0  # not visible, not published, before the commit
        session.commit()
    wait_for_status(hub, record.id, Status.COMPLETED)

    with Session(hub.store.engine) as session:
        dropped = hub.submit("tests.echo", {"value": "rolled back"}, session=session)
        session.rollback()
        session.commit()  # a later commit on the same session publishes nothing stale
    assert [r.id for r in hub.list().items] == [record.id]
    assert dropped.id != record.id


def test_the_same_idempotency_key_returns_the_same_task(hub: TaskHub, worker: Worker) -> None:
    first = hub.submit("tests.echo", {"value": 1}, idempotency_key="order-42")
    second = hub.submit("tests.echo", {"value": 2}, idempotency_key="order-42")

    assert second.id == first.id
    assert hub.list().total == 1
    wait_for_status(hub, first.id, Status.COMPLETED)
    assert hub.submit("tests.echo", idempotency_key="order-42").id == first.id


def test_a_late_outcome_of_a_superseded_attempt_completes_nothing(settings: Settings) -> None:
    """Outcomes commit behind the task: one that arrives after its attempt was taken over (its
    process looked lost) must not complete the attempt now running."""
    hub, _ = own_queue(settings)  # a queue nobody consumes: this test plays the workers
    record = hub.submit("tests.noop")
    first = hub.lifecycle.claim(record.id, "host-a", os.getpid())
    assert first is not None and first.attempt == 1
    second = worker_store.take_over(hub.store, first, "host-b", os.getpid() + 1, first.started_at)
    assert second is not None and second.attempt == 2

    assert hub.lifecycle.complete(record.id, None, first) is None
    assert hub.get(record.id).status is Status.IN_PROGRESS
    done = hub.lifecycle.complete(record.id, None, second)
    assert done is not None and hub.get(record.id).status is Status.COMPLETED
    assert [n.task_id for n in hub.notifications()].count(record.id) == 1


def test_a_pool_process_that_exits_writes_its_outcomes_first(settings: Settings) -> None:
    """Successes commit behind the task (a writer thread); pool processes retired after each
    task (Celery's max-tasks-per-child) still leave every record completed with its output."""
    hub, queue = own_queue(settings, max_output_bytes=2_000_000)
    ids = [r.id for r in hub.submit_many("tests.big_output", [{"size": 1_500_000}] * 3)]
    retiring = ("--max-tasks-per-child", "1")
    with running_worker(queue, concurrency=1, name="short-lived", extra=retiring):
        for task_id in ids:
            wait_for_status(hub, task_id, Status.COMPLETED)
    for task_id in ids:
        assert hub.get(task_id).attempt == 1
        assert hub.output(task_id).size_bytes == 1_500_000


@pytest.mark.postgres
def test_a_worker_connection_dropped_by_the_server_costs_one_operation(settings: Settings) -> None:
    """Pool processes keep their connections; one the server drops fails one statement (a
    StoreError, which the caller retries) and the next statement connects again."""
    hub, _ = own_queue(settings)
    hub.store.pin_connections()  # as in a worker's pool process
    record = hub.submit("tests.noop")
    with hub.store.single() as c:
        backend = c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with hub.store.engine.connect() as admin:
        admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend)})")

    with pytest.raises(StoreError):
        worker_store.claim(hub.store, record.id, "host", os.getpid(), now())
    claimed = worker_store.claim(hub.store, record.id, "host", os.getpid(), now())
    assert claimed is not None and claimed.status is Status.IN_PROGRESS


def test_a_lost_message_is_found_behind_a_thousand_tasks_waiting_in_a_busy_queue(
    settings: Settings,
) -> None:
    """Tasks waiting their turn in a busy queue are not lost: they must not hide, by their
    number, a lost message of another queue from the sweep."""
    busy, _ = own_queue(settings, lost_message_after_s=0.2)
    busy.submit_many("tests.noop", [{}] * 1050)  # older, and still on the broker
    hub, queue = own_queue(settings, lost_message_after_s=0.2)
    try:
        record = hub.submit("tests.echo", {"value": "found again"})
        with hub.celery.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue.default_queue)

        wait_for(lambda: hub.sweep().redelivered, what="a sweep that redelivers it")
        assert hub.dispatcher.queue_depths([queue.default_queue]) == {queue.default_queue: 1}
        assert hub.get(record.id).dispatched_at != record.dispatched_at
    finally:
        busy.close()
        hub.close()


def test_a_message_the_broker_lost_is_published_again_by_the_sweep(settings: Settings) -> None:
    """The record says pending and published; the broker no longer has the message (a Redis
    restarted empty, an embedded worker killed after it took the file): the sweep, seeing the
    queue empty past lost_message_after_s, publishes it again."""
    hub, queue = own_queue(settings, lost_message_after_s=0.2)
    record = hub.submit("tests.echo", {"value": "found again"})
    with hub.celery.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue.default_queue)
    assert hub.dispatcher.queue_depths([queue.default_queue]) == {queue.default_queue: 0}

    redelivered = wait_for(lambda: hub.sweep().redelivered, what="a sweep that redelivers")
    assert redelivered == 1
    assert hub.dispatcher.queue_depths([queue.default_queue]) == {queue.default_queue: 1}
    with running_worker(queue, concurrency=1, name="finder"):
        wait_for_status(hub, record.id, Status.COMPLETED)
    assert hub.output(record.id).content == "found again"
