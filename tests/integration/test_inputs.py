"""Input is checked against the task's signature at submit, by every entry point: a missing
required key, an unknown key or a wrong type is refused naming the field, and nothing is
written. Valid input runs, and the body gets the values its hints ask for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from taskhub import InputError, Settings, Status, TaskHub, ValidationError
from taskhub.cli import main as cli
from taskhub.client import TaskHubClient

from ..api.api_tasks_support import problem
from ..conftest import TEST_QUEUE, own_queue
from ..support import Worker, wait_for_status

Api = Callable[..., httpx.Client]

# (task, input, field, message): one of each way input can miss its signature
REFUSED = [
    ("reports.daily_sales", {}, "input.region", "field required"),
    ("reports.daily_sales", {"region": "US", "regoin": "EU"}, "input.regoin", "unexpected key"),
    ("tests.big_output", {"size": "abc"}, "input.size", "expected an integer, got 'abc'"),
    ("reports.daily_sales", {"region": 5}, "input.region", "expected a string, got 5"),
    ("tests.typed", {"when": "tomorrow"}, "input.when", "expected an ISO 8601 datetime"),
    ("tests.typed", {"when": "2030-01-01T00:00:00Z", "tags": ["a", 2]}, "input.tags.1", "got 2"),
    ("tests.noop", {"anything": 1}, "input.anything", "unexpected key"),
]


@pytest.mark.parametrize(("task_name", "task_input", "field", "message"), REFUSED)
def test_the_sdk_refuses_input_its_signature_does_not_take_and_writes_nothing(
    hub: TaskHub, task_name: str, task_input: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        hub.submit(task_name, task_input)
    assert raised.value.field == field
    assert message in raised.value.message
    with pytest.raises(InputError):
        hub.submit_many(task_name, [task_input])
    assert hub.list().total == 0


def test_every_field_at_fault_is_listed_at_once(hub: TaskHub) -> None:
    with pytest.raises(ValidationError) as raised:
        hub.submit("tests.typed", {"count": "many", "colour": "blue"})
    assert raised.value.errors == (
        ("input.when", "field required"),
        ("input.count", "expected an integer, got 'many'"),
        ("input.colour", "unexpected key"),
    )


def test_submit_many_checks_every_input_before_writing_any(hub: TaskHub) -> None:
    with pytest.raises(InputError) as raised:
        hub.submit_many("reports.daily_sales", [{"region": "US"}, {"region": "EU", "day": 1}])
    assert raised.value.field == "items.1.input.day"  # its place among the inputs
    assert hub.list().total == 0


def test_valid_input_runs_and_the_body_gets_the_types_its_hints_ask_for(
    hub: TaskHub, worker: Worker
) -> None:
    record = hub.submit("tests.typed", {"when": "2030-01-01T02:00:00Z", "tags": ["a", "b"]})

    done = wait_for_status(hub, record.id, Status.COMPLETED)
    assert json.loads(hub.output(done.id).content) == {
        "when": "datetime",
        "tags": "tuple",
        "count": 1,  # left out: the body's own default
    }
    assert done.input == {"when": "2030-01-01T02:00:00Z", "tags": ["a", "b"]}  # as submitted


def test_a_body_taking_kwargs_accepts_any_other_key(hub: TaskHub, worker: Worker) -> None:
    record = hub.submit("tests.open_ended", {"label": "x", "colour": "blue", "n": [1]})

    done = wait_for_status(hub, record.id, Status.COMPLETED)
    result = json.loads(hub.output(done.id).content)
    assert result == {"label": "x", "extra": {"colour": "blue", "n": [1]}}
    with pytest.raises(InputError, match=r"input\.label: field required"):
        hub.submit("tests.open_ended", {"colour": "blue"})


def test_input_the_workers_signature_refuses_fails_at_once_without_retries(
    settings: Settings, worker: Worker
) -> None:
    """As when a worker runs a newer signature than the submitter checked against."""
    submitter, _ = own_queue(settings)  # no worker consumes its queue: its message waits there
    record = submitter.submit("tests.flaky", {"fail_times": 0})  # 3 retries, were it retryable
    stale = {"fail_times": "none"}
    submitter.celery.send_task("tests.flaky", kwargs=stale, task_id=record.id, queue=TEST_QUEUE)

    failed = wait_for_status(submitter, record.id, Status.FAILED, Status.COMPLETED)
    assert failed.status is Status.FAILED and failed.attempt == 1
    assert failed.error is not None and failed.error.type == "InputError"
    assert failed.error.message == "input.fail_times: expected an integer, got 'none'"
    submitter.close()


def test_the_cli_refuses_bad_input_with_one_line_and_a_nonzero_exit(migrated: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli.app, ["submit", "reports.daily_sales", "--input", '{"day": 1}'])

    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        "error: invalid input.region: field required; invalid input.day: expected a string, got 1"
    ]
    listed = runner.invoke(cli.app, ["list", "--json"])
    assert json.loads(listed.stdout)["total"] == 0


@pytest.mark.parametrize(("task_name", "task_input", "field", "message"), REFUSED)
def test_the_api_answers_422_naming_the_field_and_writes_nothing(
    idle_api: Api, task_name: str, task_input: dict[str, Any], field: str, message: str
) -> None:
    session = idle_api()
    reply = session.post("/api/v1/tasks", json={"task": task_name, "input": task_input})

    body = problem(reply, 422, field)
    assert message in body["detail"] and body["detail"].startswith(f"{field}: ")
    assert body["errors"][0]["field"] == field
    assert session.get("/api/v1/tasks").json()["total"] == 0


def test_the_remote_client_raises_the_same_input_error(api_url: str, hub: TaskHub) -> None:
    _, key = hub.accounts.create_key(hub.workspace_id, "inputs-test")
    with TaskHubClient(api_url, key) as remote, pytest.raises(InputError) as raised:
        remote.submit("tests.typed", {"count": "many"})
    assert raised.value.field == "input.when"
    assert raised.value.errors == (
        ("input.when", "field required"),
        ("input.count", "expected an integer, got 'many'"),
    )


def test_task_definitions_list_each_input_schema(idle_api: Api) -> None:
    found = {d["name"]: d for d in idle_api().get("/api/v1/task-definitions").json()}

    report = found["reports.daily_sales"]["input_schema"]
    assert report["required"] == ["region"]
    assert report["additionalProperties"] is False
    assert report["properties"]["region"]["type"] == "string"
    assert report["properties"]["day"]["default"] == "yesterday"
    typed = found["tests.typed"]["input_schema"]["properties"]
    assert typed["when"]["format"] == "date-time"
    assert found["tests.open_ended"]["input_schema"]["additionalProperties"] == {}  # any JSON
    assert found["tests.noop"]["input_schema"]["properties"] == {}
