"""The overview and ops numbers (``hub.stats``), on SQLite (the embedded default, its
filesystem broker) and on Postgres (Redis): tasks by status, finished per hour, run-time
percentiles per task type, failures grouped by exception, and each queue's oldest waiting task.

Rows are written through the store with chosen timestamps, so every expected number is known.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from taskhub import Settings, TaskHub
from taskhub.domain.clock import now
from taskhub.domain.states import Status

from ..conftest import make_settings
from ..stats_support import Row, put, ran
from ..support import wait_for

HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stats_hub(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> Iterator[TaskHub]:
    """A hub in a fresh workspace whose default queue is its own (no worker consumes it)."""
    queue = f"q-{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        own = make_settings(
            tmp_path,
            database_url=f"sqlite:///{tmp_path / 'stats.db'}",
            broker_url="",
            default_queue=queue,
        )
    else:
        own = make_settings(settings.home, database_url=settings.database_url, default_queue=queue)
    hub = TaskHub(own, workspace=f"stats-{uuid.uuid4().hex[:10]}")
    if request.param == "sqlite":
        hub.migrate()
    yield hub
    hub.close()


# -- run times ------------------------------------------------------------------------------------


def test_run_time_percentiles_per_task_type_come_from_the_window_only(stats_hub: TaskHub) -> None:
    at = now()
    # Given 100 completed runs of 1..100 s and 2 failures in the last hour,
    for n in range(1, 101):
        put(stats_hub, ran(Status.COMPLETED, at - timedelta(seconds=n), n))
    for _ in range(2):
        put(stats_hub, ran(Status.FAILED, at - timedelta(minutes=5), 3, error_type="ValueError"))
    # a slow run 25 h ago, another type, and another workspace's slow run,
    put(stats_hub, ran(Status.COMPLETED, at - 25 * HOUR, 1000))
    put(stats_hub, ran(Status.COMPLETED, at - HOUR, 0.5, task="tests.echo"))
    other = stats_hub.store.ensure_workspace(f"other-{uuid.uuid4().hex[:8]}", now=at)
    put(stats_hub, ran(Status.COMPLETED, at - HOUR, 5000), workspace_id=other)

    # When the last 24 hours are read,
    found = {
        r.task_name: r
        for r in stats_hub.stats.run_times(stats_hub.workspace_id, stats_hub.stats.window(24, at))
    }

    # Then the percentiles interpolate between ranks, as percentile_cont does.
    noop = found["tests.noop"]
    assert (noop.completed, noop.failed) == (100, 2)
    assert noop.p50_s == pytest.approx(50.5)
    assert noop.p95_s == pytest.approx(95.05)
    assert noop.p99_s == pytest.approx(99.01)
    assert noop.failure_rate == pytest.approx(2 / 102)
    echo = found["tests.echo"]
    assert (echo.completed, echo.failed, echo.p50_s, echo.p99_s) == (
        1,
        0,
        pytest.approx(0.5),
        pytest.approx(0.5),
    )
    assert set(found) == {"tests.noop", "tests.echo"}


def test_a_type_that_only_failed_has_a_failure_rate_and_no_run_times(stats_hub: TaskHub) -> None:
    at = now()
    put(stats_hub, ran(Status.FAILED, at - HOUR, 2, task="tests.echo", error_type="KeyError"))
    [echo] = stats_hub.stats.run_times(stats_hub.workspace_id, stats_hub.stats.window(24, at))
    assert (echo.completed, echo.failed, echo.failure_rate) == (0, 1, 1.0)
    assert (echo.p50_s, echo.p95_s, echo.p99_s) == (None, None, None)


# -- by status, per hour --------------------------------------------------------------------------


def test_the_overview_counts_the_backlog_and_what_ended_in_each_hour(stats_hub: TaskHub) -> None:
    at = now().replace(minute=30, second=0, microsecond=0)
    this_hour, two_ago = at.replace(minute=5), at.replace(minute=10) - 2 * HOUR
    # Given 3 completed and 1 failed this hour, 2 failed two hours ago, 1 completed 5 h ago,
    for _ in range(3):
        put(stats_hub, ran(Status.COMPLETED, this_hour, 1))
    put(stats_hub, ran(Status.FAILED, this_hour, 1, error_type="E"))
    for _ in range(2):
        put(stats_hub, ran(Status.FAILED, two_ago, 1, error_type="E"))
    put(stats_hub, ran(Status.COMPLETED, at - 5 * HOUR, 1))
    # and tasks that have not finished,
    put(stats_hub, Row(Status.PENDING))
    put(stats_hub, Row(Status.IN_PROGRESS, started=at))
    put(stats_hub, Row(Status.CANCELLED, finished=this_hour))

    # When the overview of the last 3 hours is read,
    found = stats_hub.stats.throughput(stats_hub.workspace_id, stats_hub.stats.window(3, at))

    # Then there are 3 hour buckets, the current hour last, and every status is counted.
    assert [b.start for b in found.hours] == [
        at.replace(minute=0) - 2 * HOUR,
        at.replace(minute=0) - HOUR,
        at.replace(minute=0),
    ]
    assert [(b.completed, b.failed) for b in found.hours] == [(0, 2), (0, 0), (3, 1)]
    assert found.hours[2].failure_rate == pytest.approx(0.25)
    assert found.hours[1].failure_rate is None
    assert (found.completed, found.failed) == (3, 3)
    assert found.failure_rate == pytest.approx(0.5)
    # (unfinished ones now, finished ones within the window: not the one 5 h ago)
    assert found.by_status[Status.COMPLETED] == 3
    assert found.by_status[Status.FAILED] == 3
    assert found.by_status[Status.PENDING] == 1
    assert found.by_status[Status.IN_PROGRESS] == 1
    assert found.by_status[Status.CANCELLED] == 1
    assert found.by_status[Status.PAUSED] == 0


# -- failures ------------------------------------------------------------------------------------


def test_failures_group_by_exception_with_the_newest_message(stats_hub: TaskHub) -> None:
    at = now()
    for minutes, text in ((30, "older"), (10, "newest"), (20, "middle")):
        put(
            stats_hub,
            ran(
                Status.FAILED,
                at - timedelta(minutes=minutes),
                1,
                error_type="ValueError",
                message=text,
            ),
        )
    put(stats_hub, ran(Status.FAILED, at - HOUR, 1, error_type="KeyError", message="k"))
    put(stats_hub, ran(Status.FAILED, at - 30 * HOUR, 1, error_type="ValueError", message="stale"))
    put(stats_hub, ran(Status.COMPLETED, at - HOUR, 1))

    groups = stats_hub.stats.failures(stats_hub.workspace_id, stats_hub.stats.window(24, at))

    assert [(g.error_type, g.count, g.sample_message) for g in groups] == [
        ("ValueError", 3, "newest"),
        ("KeyError", 1, "k"),
    ]
    assert abs(groups[0].last_failed_at - (at - timedelta(minutes=10))) < timedelta(seconds=1)


# -- queues -------------------------------------------------------------------------------------


def test_a_queue_shows_its_broker_depth_and_its_oldest_waiting_task(stats_hub: TaskHub) -> None:
    at = now()
    queue = stats_hub.settings.default_queue
    # Given a task really published to the hub's own queue (nothing consumes it),
    published = stats_hub.submit("tests.noop")
    assert published.dispatched_at is not None
    # and on another queue: waiting ones, and some that are not waiting there,
    put(stats_hub, Row(Status.PENDING, queue="q-side", dispatched=at - timedelta(minutes=5)))
    put(stats_hub, Row(Status.PENDING, queue="q-side", dispatched=at - timedelta(minutes=1)))
    put(stats_hub, Row(Status.PENDING, queue="q-side", dispatched=at - HOUR, blocked=True))
    put(
        stats_hub,
        Row(Status.PENDING, queue="q-side", dispatched=at - HOUR, scheduled_for=at + HOUR),
    )
    put(stats_hub, Row(Status.PENDING, queue="q-side"))  # never published
    put(stats_hub, Row(Status.IN_PROGRESS, queue="q-side", dispatched=at - 2 * HOUR, started=at))

    def own_queue_counted() -> Any:
        found = {q.queue: q for q in stats_hub.stats.queues(stats_hub.workspace_id, at)}
        return found if found[queue].depth == 1 else None

    found = wait_for(own_queue_counted, timeout_s=10, what="the broker to count the message")

    mine = found[queue]
    assert (mine.waiting, mine.oldest_since) == (1, published.dispatched_at)
    side = found["q-side"]
    assert side.waiting == 2
    assert side.oldest_since == at - timedelta(minutes=5)
    assert side.age_s(at) == pytest.approx(300)
    assert side.depth == 0  # rows written directly: nothing was published there


def test_percentiles_read_only_the_newest_completed_tasks_of_a_busy_window(
    stats_hub: TaskHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskhub.store import stats as store_stats

    monkeypatch.setattr(store_stats, "RUN_TIME_SAMPLE", 3)
    at = now()
    for minutes, seconds in ((50, 1000), (40, 1000), (3, 10), (2, 20), (1, 30)):
        put(stats_hub, ran(Status.COMPLETED, at - timedelta(minutes=minutes), seconds))
    [noop] = stats_hub.stats.run_times(stats_hub.workspace_id, stats_hub.stats.window(24, at))
    assert noop.completed == 5  # counted in full
    assert (noop.p50_s, noop.p99_s) == (pytest.approx(20), pytest.approx(29.8))
