"""Retention: finished tasks older than the retention are deleted with every row of theirs, a
batch per transaction, while what is recent, unfinished or still needed stays; writers go on.

Tasks are made old by moving their ``finished_at`` back (the tasks of the other tests finished
moments ago, so no cutoff here reaches them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from celery import signals
from sqlalchemy import func, or_, select, update

from taskhub import Settings, Status, TaskHub
from taskhub.domain.canvas import chain, sig
from taskhub.domain.clock import now
from taskhub.domain.retention import PrunedBatch
from taskhub.store import tables as m

from ..conftest import own_queue
from ..support import wait_for, wait_for_status

DAY_S = 86_400.0
BY_TASK = (m.task_steps, m.task_attempts, m.task_outputs, m.notifications)


def age(hub: TaskHub, ids: Iterable[str], days: float) -> None:
    """Make these tasks look finished ``days`` ago (each a second apart, in the given order)."""
    with hub.store.engine.begin() as c:
        for n, task_id in enumerate(ids):
            at = now() - timedelta(days=days, seconds=-n)
            c.execute(update(m.tasks).where(m.tasks.c.id == task_id).values(finished_at=at))


def rows_of(hub: TaskHub, ids: list[str]) -> dict[str, int]:
    """How many rows each table holds for these tasks."""
    edges = m.task_edges.c
    counts = {"tasks": select(func.count()).where(m.tasks.c.id.in_(ids))}
    for table in BY_TASK:
        counts[table.name] = select(func.count()).where(table.c.task_id.in_(ids))
    counts["task_edges"] = select(func.count()).where(
        or_(edges.child_id.in_(ids), edges.parent_id.in_(ids))
    )
    with hub.store.engine.connect() as c:
        return {name: c.execute(query).scalar_one() for name, query in counts.items()}


def cancelled(hub: TaskHub, n: int) -> list[str]:
    """``n`` tasks cancelled while pending (nothing consumes ``hub``'s queue)."""
    ids = [hub.submit("tests.noop", name=f"old {i}").id for i in range(n)]
    for task_id in ids:
        hub.cancel(task_id)
    return ids


def old_cancelled(settings: Settings, n: int) -> tuple[TaskHub, list[str]]:
    """A hub of its own (after pruning what another test left old) and ``n`` of its tasks,
    cancelled 45 days ago."""
    hub, _ = own_queue(settings)
    hub.retention.prune(older_than_days=30)  # nothing old left over by another test
    ids = cancelled(hub, n)
    age(hub, ids, days=45)
    return hub, ids


def test_old_finished_tasks_go_with_all_their_rows_recent_and_unfinished_stay(
    hub: TaskHub, worker: object, scratch: Path
) -> None:
    # Given finished tasks with steps, attempts, outputs and notifications, aged 40 days
    log = str(scratch / "log")
    done = [
        hub.submit("tests.pipeline", {"log_path": log, "fail_crunch_once": True}),
        hub.submit("tests.outputs"),
        hub.submit("tests.flaky", {"fail_times": 0, "permanent": True}),
    ]
    recent = hub.submit("tests.echo", {"value": 1})
    for record in [*done, recent]:
        wait_for_status(hub, record.id, Status.COMPLETED, Status.FAILED, timeout_s=30)
    old = [record.id for record in done]
    before = rows_of(hub, old)
    assert all(before[t.name] for t in BY_TASK), before  # each kind of row is there to go
    age(hub, old, days=40)
    # and in another workspace an old cancelled task, a recent one and an unfinished one
    other, _ = own_queue(hub.settings)
    elsewhere_old, elsewhere_recent = cancelled(other, 2)
    age(other, [elsewhere_old], days=31)
    waiting = other.submit("tests.noop").id
    age(other, [waiting], days=90)  # a finished_at alone does not make a task finished

    # When retention of 30 days prunes
    report = hub.retention.prune(older_than_days=30)

    # Then the old finished tasks and all their rows are gone, in every workspace
    assert rows_of(hub, [*old, elsewhere_old]) == dict.fromkeys(before, 0)
    assert report.tasks >= 4 and report.rows["task_steps"] >= before["task_steps"]
    # and the recent and the unfinished stay
    assert hub.get(recent.id).status is Status.COMPLETED
    assert other.get(elsewhere_recent).status is Status.CANCELLED
    assert other.get(waiting).status is Status.PENDING
    other.close()


def test_a_finished_parent_stays_while_a_child_waits_for_it(hub: TaskHub, worker: object) -> None:
    # Given a completed parent, 40 days old, whose child still waits (for a held task too)
    parent = hub.submit("tests.echo", {"value": 1})
    wait_for_status(hub, parent.id, Status.COMPLETED, timeout_s=30)
    held = hub.submit("tests.noop", countdown=3600)
    child = hub.submit("tests.echo", {"value": 2}, depends_on=[parent.id, held.id])
    age(hub, [parent.id], days=40)

    # When pruning, the parent stays: its child may still read it
    hub.retention.prune(older_than_days=30)
    assert hub.get(parent.id).status is Status.COMPLETED
    assert hub.get(child.id).blocked

    # and while the child, ended, is recent (it may be retried, after its parents)
    hub.cancel(held.id)
    wait_for_status(hub, child.id, Status.CANCELLED, Status.FAILED, timeout_s=30)
    hub.retention.prune(older_than_days=30)
    assert hub.get(parent.id).status is Status.COMPLETED

    # Once the child is old too, both go, with their edges
    age(hub, [child.id, held.id], days=40)
    hub.retention.prune(older_than_days=30)
    assert rows_of(hub, [parent.id, child.id, held.id])["tasks"] == 0
    assert rows_of(hub, [parent.id, child.id])["task_edges"] == 0


def test_a_pipeline_is_pruned_whole_once_every_node_is_old(hub: TaskHub, worker: object) -> None:
    # Given a finished pipeline whose first node is old and the second recent
    flow = chain(sig("tests.echo", {"value": 1}, name="a"), sig("tests.echo", {"value": 2}))
    pipeline = hub.submit_pipeline(flow, name="nightly")
    first, second = (node.id for node in pipeline.nodes)
    wait_for_status(hub, second, Status.COMPLETED, timeout_s=30)
    age(hub, [first], days=40)

    # When pruning, no node goes while one is recent
    hub.retention.prune(older_than_days=30)
    assert [n.status for n in hub.pipeline(pipeline.id).nodes] == [Status.COMPLETED] * 2

    # Once all are old, the nodes and the pipeline's record go together
    age(hub, [second], days=40)
    report = hub.retention.prune(older_than_days=30)
    assert rows_of(hub, [first, second])["tasks"] == 0
    assert report.rows["pipelines"] == 1
    with hub.store.engine.connect() as c:
        assert c.execute(select(m.pipelines).where(m.pipelines.c.id == pipeline.id)).first() is None


def test_five_old_tasks_in_batches_of_two_take_three_transactions(settings: Settings) -> None:
    hub, ids = old_cancelled(settings, 5)

    batches: list[PrunedBatch] = []
    report = hub.retention.prune(older_than_days=30, batch_size=2, on_batch=batches.append)

    assert [batch.tasks for batch in batches] == [2, 2, 1]
    assert (report.batches, report.tasks) == (3, 5)
    assert report.rows["notifications"] == 5  # each cancellation's
    assert rows_of(hub, ids)["tasks"] == 0
    hub.close()


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(settings: Settings) -> None:
    hub, ids = old_cancelled(settings, 3)

    counted = hub.retention.prune(older_than_days=30, dry_run=True)

    assert counted.dry_run and (counted.tasks, counted.rows["notifications"]) == (3, 3)
    assert rows_of(hub, ids)["tasks"] == 3
    assert hub.retention.prune(older_than_days=30).rows == counted.rows
    hub.close()


def test_writers_go_on_while_a_prune_is_under_way(settings: Settings) -> None:
    # Given six old tasks, pruned two per batch; the last to go is retried during the prune
    hub, ids = old_cancelled(settings, 6)
    first_batch, writer_done = threading.Event(), threading.Event()

    def between_batches(batch: PrunedBatch) -> None:
        first_batch.set()
        writer_done.wait(20)  # the prune stays under way until the writer is through

    reports = []
    pruning = threading.Thread(
        target=lambda: reports.append(
            hub.retention.prune(older_than_days=30, batch_size=2, on_batch=between_batches)
        )
    )
    pruning.start()
    assert first_batch.wait(20), "the first batch never committed"

    # When a person submits a task and retries one the prune has not reached
    started = time.monotonic()
    submitted = hub.submit("tests.noop", name="written during the prune")
    retried = hub.retry(ids[-1])
    took_s = time.monotonic() - started
    writer_done.set()
    pruning.join(20)

    # Then neither waited for the prune, and the retried task is no longer the prune's
    assert took_s < 2.0, f"writers waited {took_s:.1f} s for the prune"
    assert not pruning.is_alive() and reports[0].tasks == 5
    assert hub.get(submitted.id).status is Status.PENDING
    assert hub.get(retried.id).status is Status.PENDING
    hub.close()


class BeatService:
    """What celery beat sends its beat_init signal as: a service of the hub's app."""

    def __init__(self, hub: TaskHub) -> None:
        self.app = hub.celery


def test_beat_prunes_on_its_own_timer(settings: Settings) -> None:
    # Given a hub pruning past 30 days every 0.2 s, and an old task
    hub, _ = own_queue(settings, retention_days=30, retention_interval_s=0.2)
    (old,) = cancelled(hub, 1)
    age(hub, [old], days=45)

    # When its beat starts, its pruner runs without being asked
    signals.beat_init.send(sender=BeatService(hub))
    try:
        wait_for(lambda: rows_of(hub, [old])["tasks"] == 0, timeout_s=10, what="beat's prune")
    finally:
        hub.close()
    assert not hub.pruner.running


def test_retention_off_prunes_nothing_unless_asked_for_an_age(settings: Settings) -> None:
    hub, _ = own_queue(settings, retention_days=0, retention_interval_s=0.2)
    signals.beat_init.send(sender=BeatService(hub))
    assert hub.sweeper.running and not hub.pruner.running
    assert hub.retention.prune_due() is None
    hub.close()
