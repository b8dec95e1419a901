"""A task recorded while the broker is down says so: to the SDK, the CLI and the API, quickly.

The record is kept (``pending``, no ``dispatched_at``) and the sweep publishes it later; the
caller learns at once that it is not on the broker yet, instead of a record that looks queued.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from taskhub import Settings, Status, TaskHub, TaskRecord
from taskhub.client import TaskHubClient

from ..api.api_support import client, new_workspace, serving
from ..api.api_tasks_support import task_of
from ..conftest import make_settings
from ..support import ROOT, Worker, settings_env, swept, wait_for

DOWN = "redis://127.0.0.1:9/0"  # nothing listens on port 9: connections are refused
Api = Callable[..., httpx.Client]
CLIRun = subprocess.CompletedProcess[str]


@contextmanager
def offline(settings: Settings, workspace: str, **overrides: object) -> Iterator[TaskHub]:
    """A hub on the test database whose broker is down (refuses connections, unless given)."""
    values: dict[str, object] = {"database_url": settings.database_url, "broker_url": DOWN}
    hub = TaskHub(make_settings(settings.home, **(values | overrides)), workspace=workspace)
    try:
        yield hub
    finally:
        hub.close()


def completes_once_swept(
    hub: TaskHub, task_id: str, read: Callable[[str], TaskRecord] | None = None
) -> None:
    """Sweep (with ``hub``) until the task is completed, as ``read`` (else ``hub.get``) sees it."""
    get = read or hub.get
    wait_for(
        lambda: swept(hub, lambda: get(task_id).status is Status.COMPLETED),
        poll_s=0.3,
        what="the sweep to publish it and a worker to run it",
    )


# -- the SDK ---------------------------------------------------------------------------------


def test_a_submit_while_the_broker_is_down_returns_the_record_not_dispatched(
    settings: Settings, hub: TaskHub, worker: Worker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(
        logging.DEBUG, logger="taskhub.worker.publisher"
    )  # a traceback may go to DEBUG

    with offline(settings, hub.workspace) as down:
        started = time.monotonic()
        record = down.submit("tests.echo", {"value": "kept"})
        took_s = time.monotonic() - started

    assert took_s < 0.75, f"submit took {took_s:.2f} s"  # it used to retry for ~0.9 s
    assert (record.status, record.dispatched, record.dispatched_at) == (Status.PENDING, False, None)
    assert record.dispatch_error is not None and "broker unreachable" in record.dispatch_error
    assert hub.get(record.id).dispatched_at is None
    logged = [r for r in caplog.records if r.name == "taskhub.worker.publisher"]
    warnings = [r for r in logged if r.levelno >= logging.WARNING]
    assert [r.getMessage().count("\n") for r in warnings] == [0]
    assert "the sweep will resend" in warnings[0].getMessage() and warnings[0].exc_info is None

    completes_once_swept(hub, record.id)
    assert hub.get(record.id).dispatched and hub.output(record.id).content == "kept"


def test_a_batch_submitted_while_the_broker_is_down_is_kept_unpublished_and_swept_later(
    settings: Settings, hub: TaskHub, worker: Worker
) -> None:
    with offline(settings, hub.workspace) as down:
        records = down.submit_many("tests.echo", [{"value": n} for n in range(3)])

    assert all(r.dispatch_error and r.dispatched_at is None for r in records)
    # each record was inserted stamped as sent; the failed publish took the stamp back
    assert [hub.get(r.id).dispatched_at for r in records] == [None, None, None]
    for record in records:
        completes_once_swept(hub, record.id)


def test_a_submit_with_the_broker_up_returns_the_record_dispatched(
    hub: TaskHub, worker: Worker
) -> None:
    record = hub.submit("tests.echo", {"value": 1})

    assert record.dispatched and record.dispatch_error is None
    assert record.dispatched_at == hub.get(record.id).dispatched_at  # as the store wrote it


@contextmanager
def silent_port() -> Iterator[int]:
    """A local port that never answers a connection attempt, like a host that is down: it
    listens with a backlog of 0, the one queued connection is taken, and it never accepts."""
    server, taken = socket.socket(), socket.socket()
    try:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = int(server.getsockname()[1])
        taken.settimeout(2)
        taken.connect(("127.0.0.1", port))
        yield port
    finally:
        taken.close()
        server.close()


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping a full backlog")
def test_a_broker_host_that_does_not_answer_holds_a_submit_only_briefly(
    settings: Settings, hub: TaskHub
) -> None:
    with silent_port() as port:
        silent = {"broker_url": f"redis://127.0.0.1:{port}/0", "broker_connect_timeout_s": 0.3}
        with offline(settings, hub.workspace, **silent) as down:
            started = time.monotonic()
            record = down.submit("tests.noop")
            took_s = time.monotonic() - started

    assert record.dispatch_error is not None and "Timeout" in record.dispatch_error
    assert took_s < 2.5, f"submit took {took_s:.2f} s"  # two tries of 0.3 s; it used to be ~2 min
    assert not record.dispatched


# -- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def offline_cli(settings: Settings, hub: TaskHub) -> Callable[..., CLIRun]:
    """``taskhub ...`` in a process of its own (logging as a shell leaves it, unconfigured), on
    the test database, in the hub's workspace, with the broker down."""
    down = make_settings(settings.home, database_url=settings.database_url, broker_url=DOWN)
    env = settings_env(down) | {"TASKHUB_WORKSPACE": hub.workspace, "COLUMNS": "200"}
    command = [sys.executable, "-m", "taskhub.cli"]

    def run(*args: str) -> CLIRun:
        return subprocess.run(
            [*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    return run


def one_warning(result: CLIRun) -> str:
    """The run's stderr, which must be a single line, and no traceback anywhere."""
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_cli_submit_warns_in_one_line_when_the_broker_is_down(
    offline_cli: Callable[..., CLIRun], hub: TaskHub, worker: Worker
) -> None:
    result = offline_cli("submit", "tests.echo", "--input", '{"value": "from the cli"}', "-q")

    warning = one_warning(result)
    assert warning.startswith("warning: recorded, not yet on the broker: broker unreachable")
    assert warning.endswith("; the sweep will publish it")
    task_id = result.stdout.strip()
    assert not hub.get(task_id).dispatched

    completes_once_swept(hub, task_id)
    assert hub.output(task_id).content == "from the cli"


def test_the_cli_retry_warns_in_one_line_when_the_broker_is_down(
    offline_cli: Callable[..., CLIRun], hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    log = scratch / "runs.log"
    failed = hub.submit("tests.fails_first", {"log_path": str(log), "failures": 1}, retries=0)
    wait_for(lambda: hub.get(failed.id).status is Status.FAILED, what="the task to fail")

    result = offline_cli("retry", failed.id)

    assert one_warning(result).startswith("warning: recorded, not yet on the broker:")
    assert failed.id in result.stdout and "pending" in result.stdout
    completes_once_swept(hub, failed.id)


# -- the API and the remote client -----------------------------------------------------------


@pytest.fixture
def offline_api(settings: Settings) -> Iterator[str]:
    """The REST API served by a hub whose broker is down; yields its URL."""
    with offline(settings, "unused") as down, serving(down) as url:
        yield url


def test_post_tasks_answers_202_while_the_broker_is_down_and_the_sweep_runs_it(
    offline_api: str, hub: TaskHub, worker: Worker
) -> None:
    _, key = new_workspace(hub)
    with client(offline_api, key) as session, TaskHubClient(offline_api, key) as remote:
        reply = session.post("/api/v1/tasks", json={"task": "tests.echo", "input": {"value": 2}})
        assert reply.status_code == 202, reply.text
        body = reply.json()
        assert (body["status"], body["dispatched"]) == ("pending", False)
        assert body["dispatched_at"] is None
        assert reply.headers["location"] == f"/api/v1/tasks/{body['id']}"
        assert "dispatch_error" not in body  # it would name the broker's host

        record = remote.submit("tests.echo", {"value": 3})
        assert (record.status, record.dispatched) == (Status.PENDING, False)
        assert record.dispatch_error is not None and "202" in record.dispatch_error

        for task_id in (body["id"], record.id):
            completes_once_swept(hub, task_id, remote.get)
        assert remote.get(record.id).dispatched


def test_a_retry_through_the_api_while_the_broker_is_down_answers_202(
    offline_api: str, hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    _, key = new_workspace(hub)
    body = {"log_path": str(scratch / "runs.log"), "failures": 1}
    with client(offline_api, key) as session:
        submitted = session.post(
            "/api/v1/tasks", json={"task": "tests.fails_first", "input": body, "retries": 0}
        )
        assert submitted.status_code == 202, submitted.text
        task_id = submitted.json()["id"]

        def status() -> str:
            return str(task_of(session, task_id)["status"])

        wait_for(lambda: swept(hub, lambda: status() == "failed"), poll_s=0.3, what="a failure")
        retried = session.post(f"/api/v1/tasks/{task_id}/retry")
        assert retried.status_code == 202, retried.text
        assert (retried.json()["status"], retried.json()["dispatched"]) == ("pending", False)
        wait_for(lambda: swept(hub, lambda: status() == "completed"), poll_s=0.3, what="run 2")


def test_post_tasks_answers_201_dispatched_with_the_broker_up(
    idle_api: Api, api_url: str, hub: TaskHub
) -> None:
    session = idle_api()
    reply = session.post("/api/v1/tasks", json={"task": "tests.noop"})
    assert reply.status_code == 201, reply.text
    assert reply.json()["dispatched"] is True and reply.json()["dispatched_at"] is not None

    _, key = new_workspace(hub)
    with TaskHubClient(api_url, key) as remote:
        record = remote.submit("tests.noop")
    assert record.dispatched and record.dispatch_error is None


def test_the_api_schema_documents_a_task_not_yet_dispatched(idle_api: Api) -> None:
    schema = idle_api().get("/openapi.json").json()
    submit = schema["paths"]["/api/v1/tasks"]["post"]["responses"]
    assert {"200", "201", "202"} <= set(submit)
    retry = schema["paths"]["/api/v1/tasks/{task_id}/retry"]["post"]["responses"]
    assert "202" in retry
    assert "dispatched" in schema["components"]["schemas"]["TaskSummary"]["required"]
