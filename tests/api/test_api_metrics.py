"""``GET /metrics``: Prometheus figures read from the records, over real HTTP, after a real
worker ran the tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from taskhub import Settings, TaskHub

from ..conftest import own_queue
from ..support import Worker, wait_for
from .api_support import serving
from .api_tasks_support import created, wait_until_final

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client) -> Samples:
    reply = client.get("/metrics")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _seconds(record: dict[str, object], start: str, end: str) -> float:
    def at(field: str) -> datetime:
        return datetime.fromisoformat(str(record[field]))

    return (at(end) - at(start)).total_seconds()


def test_metrics_report_what_the_worker_did_as_the_records_say(
    worker: Worker, api: Callable[..., httpx.Client], settings: Settings
) -> None:
    # Given a scrape, then tasks run by a real worker: three that succeed at once, one retried
    client = api()
    before = scrape(client)
    ids = [created(client, "tests.metered", input={"note": f"n{i}"})["id"] for i in range(3)]
    retried = created(client, "tests.metered", input={"fail_times": 1})["id"]
    records = [wait_until_final(client, task_id) for task_id in [*ids, retried]]
    assert [r["status"] for r in records] == ["completed"] * 4

    # When /metrics is scraped once they have settled
    def caught_up() -> Samples | None:
        after = scrape(client)
        done = value(
            after, "taskhub_tasks_finished_total", task="tests.metered", status="completed"
        )
        return (
            after
            if done
            - value(
                before, "taskhub_tasks_finished_total", task="tests.metered", status="completed"
            )
            == 4
            else None
        )

    after = wait_for(caught_up, timeout_s=15, what="/metrics to count the four tasks")

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Then the run-time histogram counts the four, its sum the records' run times
    assert delta("taskhub_task_run_seconds_count", task="tests.metered") == 4
    runs = sum(_seconds(r, "started_at", "finished_at") for r in records)
    assert delta("taskhub_task_run_seconds_sum", task="tests.metered") == pytest.approx(
        runs, abs=1e-3
    )
    assert delta("taskhub_task_run_seconds_bucket", task="tests.metered", le="+Inf") == 4
    # And the wait histogram the three that ran once (created to started)
    assert delta("taskhub_task_wait_seconds_count", task="tests.metered") == 3
    waits = sum(_seconds(r, "created_at", "started_at") for r in records[:3])
    assert delta("taskhub_task_wait_seconds_sum", task="tests.metered") == pytest.approx(
        waits, abs=1e-3
    )
    # And the retry is counted
    assert delta("taskhub_task_retries_total", task="tests.metered") == 1
    # And the broker's queue and the schedules are reported
    assert value(after, "taskhub_broker_up") == 1
    assert ("taskhub_queue_depth", frozenset({("queue", settings.default_queue)})) in after
    assert ("taskhub_schedule_lag_seconds", frozenset()) in after


def test_task_counts_by_status_and_type_match_the_database(
    worker: Worker, api: Callable[..., httpx.Client], settings: Settings
) -> None:
    # Given a completed task
    client = api()
    wait_until_final(client, created(client, "tests.metered")["id"])
    engine = create_engine(settings.resolved_database_url)
    count = text("SELECT count(*) FROM tasks WHERE status = 'completed' AND type = 'manual'")

    # When /metrics is scraped, Then its completed manual tasks are the database's count
    def agree() -> bool:
        with engine.connect() as c:
            expected = c.execute(count).scalar_one()
        gauge = value(scrape(client), "taskhub_tasks", status="completed", type="manual")
        return bool(gauge == expected >= 1)

    try:
        wait_for(agree, timeout_s=10, what="the completed count to match the database")
    finally:
        engine.dispose()


def test_the_sweeps_recoveries_are_counted_whichever_process_swept(settings: Settings) -> None:
    # Given an API process, and a task whose message the broker lost
    hub, queue = own_queue(settings, lost_message_after_s=0.2)
    try:
        with serving(hub) as url, httpx.Client(base_url=url, timeout=10) as client:
            before = scrape(client)
            hub.submit("tests.echo", {"value": "lost"})
            with hub.celery.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue.default_queue)

            # When a sweep (another hub: as beat's process) publishes it again
            sweeper = TaskHub(queue)
            try:
                redelivered = wait_for(lambda: sweeper.sweep().redelivered, what="a redelivery")
            finally:
                sweeper.close()

            # Then our task's message is back in its queue, and the API process reports the sweep
            waiting = hub.dispatcher.queue_depths([queue.default_queue])
            after = scrape(client)
    finally:
        hub.close()
    assert waiting == {queue.default_queue: 1}
    total = "taskhub_sweep_recoveries_total"
    assert value(after, total, kind="redelivered") - value(before, total, kind="redelivered") == (
        redelivered
    )
    # (a message another test of this session left lost may be swept in the same round)
    assert redelivered >= 1
