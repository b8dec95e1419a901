"""The embedded default end to end, and Flower watching our tasks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from taskhub import Settings, Status, TaskHub
from taskhub.worker import redis_transport as redis_broker

from ..conftest import make_settings
from ..support import ROOT, Worker, running_worker, settings_env, wait_for, wait_for_status


def test_the_embedded_default_needs_no_server(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, imports=["workers", "tests.tasks"])
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_broker_url == "filesystem://"
    hub = TaskHub(settings)
    hub.migrate()
    log = tmp_path / "steps.log"

    with running_worker(settings, concurrency=2, name="embedded"):
        etl = hub.submit("multistep.nightly_etl", {"source": "crm", "rows": 10})
        flaky = hub.submit("tests.pipeline", {"log_path": str(log), "fail_crunch_once": True})
        batch = hub.submit_many(  # records, as submit returns
            "documents.process", [{"document_id": f"d{n}", "text": "a b"} for n in range(20)]
        )
        done = wait_for_status(hub, etl.id, Status.COMPLETED, timeout_s=30)
        assert wait_for_status(hub, flaky.id, Status.COMPLETED, timeout_s=30).attempt == 2
        wait_for(
            lambda: hub.list(status=Status.COMPLETED, limit=1).total == 22,
            timeout_s=60,
            what="the batch",
        )

    assert done.progress.total_steps == 3
    assert hub.output(etl.id, "summary").content == '{"source": "crm", "loaded": 10}'
    assert hub.output(batch[0].id).content == '{"document_id": "d0", "words": 2}'


def test_the_embedded_broker_runs_higher_priority_tasks_first(tmp_path: Path) -> None:
    # Given low-priority tasks queued before high-priority ones, with no worker running
    settings = Settings(home=tmp_path, imports=["tests.tasks"])
    hub = TaskHub(settings)
    hub.migrate()
    low = [hub.submit("tests.noop", priority=1).id for _ in range(4)]
    high = [hub.submit("tests.noop", priority=8).id for _ in range(4)]
    middle = hub.submit("tests.noop", priority=5).id

    # When a worker taking one task at a time starts
    with running_worker(settings, concurrency=1, name="priority"):
        wait_for(
            lambda: hub.list(status=Status.COMPLETED, limit=1).total == 9,
            timeout_s=60,
            what="every task",
        )

    # Then the higher priorities started first, each in the order it was submitted
    started = sorted(hub.list(limit=20).items, key=lambda r: r.started_at or r.created_at)
    assert [r.id for r in started] == [*high, middle, *low]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flower_tasks(port: int) -> dict[str, dict[str, object]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tasks", timeout=2) as reply:
        return dict(json.load(reply))


def test_an_idle_embedded_worker_stops_at_once_when_asked(tmp_path: Path) -> None:
    # Given an idle worker on the embedded default: its loop waits between polls of the folder
    settings = Settings(home=tmp_path, imports=["tests.tasks"])
    hub = TaskHub(settings)
    hub.migrate()
    hub.close()
    worker = Worker(settings, concurrency=1, name="idle")
    try:
        # When it is asked to stop, as Ctrl-C or a process manager's SIGTERM does
        os.killpg(worker.process.pid, signal.SIGTERM)
        # Then it ends its wait and exits cleanly in ~2.5 s, not after its waits ran out (5.5-9 s)
        assert worker.process.wait(timeout=5) == 0, worker.output()
    finally:
        worker.stop()
    assert "Warm shutdown" in worker.output()


@pytest.mark.redis
def test_flower_shows_taskhub_task_names_and_queued_tasks(
    settings: Settings, hub: TaskHub, worker: Worker
) -> None:
    port = _free_port()
    env = settings_env(settings) | {"FLOWER_UNAUTHENTICATED_API": "true"}
    flower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "taskhub.app",
            "flower",
            f"--port={port}",
            "--address=127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _reachable(port), timeout_s=30, what="flower to listen")
        wait_for(lambda: _hears_events(port, hub), what="flower to receive task events")
        idle = make_settings(
            settings.home,
            database_url=settings.database_url,
            default_queue=f"idle-{uuid.uuid4().hex[:8]}",
        )
        idle_hub = TaskHub(idle, workspace=hub.workspace)
        queued = idle_hub.submit("tests.echo", {"value": 1})
        batch = [r.id for r in idle_hub.submit_many("tests.echo", [{"value": 2}, {"value": 3}])]
        # (a batch: one event message)
        ran = hub.submit("reports.daily_sales", {"region": "EU"})
        wait_for_status(hub, ran.id, Status.COMPLETED)

        tasks = wait_for(
            lambda: (
                (t := _flower_tasks(port)).get(ran.id, {}).get("state") == "SUCCESS"
                and {queued.id, *batch} <= t.keys()
                and t
            ),
            what="flower to see every task",
        )
        assert tasks[ran.id]["name"] == "reports.daily_sales"
        for waiting in (queued.id, *batch):
            assert tasks[waiting]["name"] == "tests.echo"
            assert tasks[waiting]["state"] == "PENDING"
    finally:
        os.killpg(flower.pid, signal.SIGTERM)
        flower.wait(timeout=10)


def _reachable(port: int) -> bool:
    try:
        _flower_tasks(port)
    except OSError:
        return False
    return True


def _hears_events(port: int, hub: TaskHub) -> bool:
    """Flower answers HTTP before it listens, and turns the workers' task events on (they
    start off, as in Celery) every few seconds: probe until it hears a task sent and run."""
    probe = hub.submit("tests.noop")
    wait_for_status(hub, probe.id, Status.COMPLETED)
    seen = _flower_tasks(port).get(probe.id, {})
    return seen.get("sent") is not None and seen.get("state") == "SUCCESS"


@pytest.mark.redis
def test_on_redis_a_channel_reuses_one_client_for_its_commands(hub: TaskHub) -> None:
    """kombu builds a Redis client per publish and per ack; taskhub's transport keeps one."""
    with hub.celery.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(connection.transport, redis_broker.Transport)
        first = channel._create_client()
        assert channel._create_client() is first
        assert channel._create_client(asynchronous=True) is not first  # BRPOP keeps its own
        channel.client.ping()
        first.ping()


@pytest.mark.redis
def test_on_redis_a_channel_closing_after_its_connection_went_cannot_crash_the_worker(
    hub: TaskHub,
) -> None:
    """Seen under a Redis restart: Celery's consumer closes the channel with a message still
    delivered, after its connection was released; kombu's restore then raised AttributeError
    and Celery exited ("Unrecoverable error"). The task is republished by the sweep instead."""
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with hub.celery.connection_for_write() as connection:
        channel = connection.channel()
        channel.queue_declare(queue=queue)
        channel.basic_publish(channel.prepare_message("{}"), exchange="", routing_key=queue)
        assert channel.basic_get(queue, no_ack=False) is not None  # delivered, not acked
        channel._disconnect_pools()
        channel.connection.client = None  # the state Celery's consumer leaves it in

        channel.close()  # kombu's own restore raised AttributeError here

        assert channel.qos._delivered == {}


@pytest.mark.redis
def test_on_redis_an_ack_after_its_channel_closed_cannot_crash_the_worker(hub: TaskHub) -> None:
    """Seen under a Redis restart: the consumer reconnected, then acked a message taken on the
    channel it had closed; kombu rebuilt a pool from that channel's released connection
    (``AttributeError`` on ``None.client``) and Celery exited ("Unrecoverable error"), leaving
    every waiting task to a worker that was gone. The ack is dropped instead: that message's
    bookkeeping went with the broker, and the sweep republishes its task if it did not run."""
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with hub.celery.connection_for_write() as connection:
        channel = connection.channel()
        channel.queue_declare(queue=queue)
        channel.basic_publish(channel.prepare_message("{}"), exchange="", routing_key=queue)
        message = channel.basic_get(queue, no_ack=False)
        assert message is not None
        channel._disconnect_pools()
        channel.connection = None  # what closing the channel leaves behind

        message.ack()  # kombu's own settle raised AttributeError here

        channel.qos._flush()  # the local bookkeeping: its prefetch slot is free
        assert message.acknowledged and message.delivery_tag not in channel.qos._delivered
