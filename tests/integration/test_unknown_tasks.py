"""A task name nobody can run never leaves a record waiting for ever: refused at submit when
the submitting process does not know it, ended ``failed`` when the worker does not."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from taskhub import Settings, Status, TaskHub, UnknownTaskError
from taskhub.cli import main as cli
from taskhub.client import TaskHubClient
from taskhub.domain.states import Outcome

from ..api.api_tasks_support import problem
from ..conftest import own_queue
from ..support import Worker, running_worker, wait_for, wait_for_status

Api = Callable[..., httpx.Client]
UNKNOWN_HERE = "no worker knows task tests.echo — is its module in TASKHUB_IMPORTS?"


def discarded(worker: Worker, name: str, count: int = 1) -> bool:
    """Whether the worker has discarded ``count`` messages of the unregistered task ``name``."""
    return worker.output().count(f"Received unregistered task of type '{name}'") >= count


# -- in the worker -----------------------------------------------------------------------------


def test_a_task_the_worker_does_not_import_ends_failed_with_one_notification(
    settings: Settings,
) -> None:
    hub, queue = own_queue(settings, imports=["workers"])  # tests.tasks is not imported there
    record = hub.submit("tests.echo", {"value": 1}, name="Echo nobody runs")
    hub.dispatcher.publish([record])  # a second message for it: still one outcome

    with running_worker(queue, name="no-tests") as worker:
        failed = wait_for_status(hub, record.id, Status.FAILED)
        wait_for(lambda: discarded(worker, "tests.echo", 2), what="both messages discarded")

    assert failed.error is not None
    assert (failed.error.type, failed.error.message) == ("UnknownTask", UNKNOWN_HERE)
    assert failed.attempt == 0 and failed.finished_at is not None
    notes = hub.notifications()
    assert [(n.task_id, n.outcome, n.title) for n in notes] == [
        (record.id, Outcome.FAILED, "Failed: Echo nobody runs")
    ]
    assert UNKNOWN_HERE in notes[0].description
    hub.close()


def test_a_message_that_is_not_this_hubs_record_is_left_alone(settings: Settings) -> None:
    waiting, _ = own_queue(settings)  # its queue has no worker: the record stays pending
    record = waiting.submit("tests.echo", {"value": 1})
    hub, queue = own_queue(settings, imports=["workers"])

    with running_worker(queue, name="strangers") as worker:
        for task_id in (str(uuid.uuid4()), record.id):  # no record; a record of another task
            hub.celery.send_task("elsewhere.job", task_id=task_id, queue=queue.default_queue)
        wait_for(lambda: discarded(worker, "elsewhere.job", 2), what="both messages discarded")
        report = hub.submit("reports.daily_sales", {"region": "US"})
        wait_for_status(hub, report.id, Status.COMPLETED)  # the worker carries on

    assert waiting.get(record.id).status is Status.PENDING
    assert waiting.notifications() == []
    waiting.close()
    hub.close()


# -- at submit ---------------------------------------------------------------------------------


def test_the_sdk_refuses_a_name_registered_nowhere_in_this_process(hub: TaskHub) -> None:
    with pytest.raises(UnknownTaskError) as typo:
        hub.submit("reports.daly_sales", {"region": "US"})
    assert typo.value.field == "task"
    assert "did you mean 'reports.daily_sales'?" in typo.value.message
    with pytest.raises(UnknownTaskError, match="TASKHUB_IMPORTS"):
        hub.submit_many("zzz.unheard_of", [{}])
    assert hub.list().total == 0


def test_the_cli_refuses_an_unknown_name_with_the_hint(migrated: Path) -> None:
    result = CliRunner().invoke(cli.app, ["submit", "reports.daly_sales", "-i", '{"region": "US"}'])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: invalid task: no task is registered under the name 'reports.daly_sales'"
        " (did you mean 'reports.daily_sales'?)"
    )


def test_the_api_and_the_client_refuse_an_unknown_name(
    idle_api: Api, api_url: str, hub: TaskHub
) -> None:
    session = idle_api()
    reply = session.post("/api/v1/tasks", json={"task": "reports.daly_sales"})
    body = problem(reply, 422, "task")
    assert (body["title"], body["task_name"]) == ("Unknown task", "reports.daly_sales")
    assert "did you mean 'reports.daily_sales'?" in body["detail"]
    trigger = session.post("/api/v1/triggers", json={"name": "t", "task": "reports.daly_sales"})
    assert problem(trigger, 422, "task")["task_name"] == "reports.daly_sales"
    assert session.get("/api/v1/tasks").json()["total"] == 0

    _, key = hub.accounts.create_key(hub.workspace_id, "unknown-test")
    with TaskHubClient(api_url, key) as remote, pytest.raises(UnknownTaskError) as raised:
        remote.submit("reports.daly_sales")
    assert raised.value.task_name == "reports.daly_sales"
    assert raised.value.message == body["errors"][0]["message"]
