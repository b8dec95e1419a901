"""A person's retry is a new run with its whole retry budget; a pause is refused when a running
task has no step boundary to pause at."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from taskhub import Settings, Status, TaskHub, TransitionError
from taskhub.cli import main as cli
from taskhub.cli.common import EXIT_TRANSITION
from taskhub.client import TaskHubClient
from taskhub.domain.records import TaskRecord

from ..api.api_tasks_support import created, problem, task_of, wait_until_final
from ..support import Worker, settings_env, wait_for, wait_for_status

Api = Callable[..., httpx.Client]
RUN_1_FAILS = 2  # tests.fails_first has retries=1: its first run fails for good after 2 tries


@pytest.fixture
def taskhub_cli(
    settings: Settings, hub: TaskHub, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``taskhub ...`` (in this process) on the test stack, in the hub's workspace."""
    for name, value in settings_env(settings).items():
        if name.startswith("TASKHUB_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("TASKHUB_WORKSPACE", hub.workspace)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})


def runs_and_attempts(record: TaskRecord) -> list[tuple[int, int]]:
    return [(a.run, a.attempt) for a in record.attempts]


# -- retry: a fresh budget -------------------------------------------------------------------


def test_a_task_retried_by_a_person_gets_all_its_attempts_again(
    hub: TaskHub, worker: Worker, scratch: Path, taskhub_cli: Callable[..., Result]
) -> None:
    log = scratch / "runs.log"
    record = hub.submit("tests.fails_first", {"log_path": str(log), "failures": RUN_1_FAILS + 1})
    failed = wait_for_status(hub, record.id, Status.FAILED)
    assert (failed.run, failed.attempt) == (1, 2)

    again = hub.retry(record.id)
    assert (again.status, again.run, again.attempt) == (Status.PENDING, 2, 0)

    done = wait_for_status(hub, record.id, Status.COMPLETED)
    assert (done.run, done.attempt) == (2, 2)  # run 2 failed once, and was retried
    assert runs_and_attempts(done) == [(1, 1), (1, 2), (2, 1)]  # each failure, by run
    assert log.read_text().splitlines() == [
        "prepare",  # a completed step is kept across runs
        "run 1 attempt 1",
        "run 1 attempt 2",
        "run 2 attempt 1",
        "run 2 attempt 2",
    ]
    shown = taskhub_cli("show", record.id)
    assert shown.exit_code == 0, shown.output
    assert "2 of 2 (run 2)" in shown.stdout
    data = json.loads(taskhub_cli("show", record.id, "--json").stdout)
    assert [(a["run"], a["attempt"]) for a in data["attempts"]] == [(1, 1), (1, 2), (2, 1)]


def test_a_retry_through_the_api_starts_the_next_run_at_its_first_attempt(
    api: Api, api_url: str, hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    session = api()
    log = scratch / "runs.log"
    body = {"log_path": str(log), "failures": RUN_1_FAILS}
    task_id = created(session, "tests.fails_first", input=body)["id"]
    assert wait_until_final(session, task_id)["status"] == "failed"

    retried = session.post(f"/api/v1/tasks/{task_id}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["run"] == 2  # (a worker may have started it already: attempt 0 or 1)

    done = wait_until_final(session, task_id)
    assert (done["status"], done["run"], done["attempt"]) == ("completed", 2, 1)
    assert [(a["run"], a["attempt"]) for a in done["attempts"]] == [(1, 1), (1, 2)]
    _, key = hub.accounts.create_key(session.headers["X-Test-Workspace"])
    with TaskHubClient(api_url, key) as remote:
        assert runs_and_attempts(remote.get(task_id)) == [(1, 1), (1, 2)]


# -- pause: only at a step boundary ----------------------------------------------------------


def test_pausing_a_running_task_without_steps_is_refused_and_it_completes_clean(
    hub: TaskHub, worker: Worker, scratch: Path, taskhub_cli: Callable[..., Result]
) -> None:
    gate, started = scratch / "gate", scratch / "started"
    record = hub.submit("tests.block", {"gate": str(gate), "started": str(started)})
    wait_for(started.exists, what="the task to start")

    with pytest.raises(TransitionError, match="has no steps") as refused:
        hub.pause(record.id)
    assert refused.value.status == "in_progress" and "declare steps=(...)" in str(refused.value)
    by_cli = taskhub_cli("pause", record.id)
    assert by_cli.exit_code == EXIT_TRANSITION
    assert "has no steps" in by_cli.stderr and "Traceback" not in by_cli.output
    assert hub.get(record.id).pause_requested_at is None

    gate.touch()
    done = wait_for_status(hub, record.id, Status.COMPLETED)
    assert done.pause_requested_at is None


def test_the_api_refuses_to_pause_a_running_task_without_steps_with_409(
    api: Api, api_url: str, hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    session = api()
    gate, started = scratch / "gate", scratch / "started"
    task_id = created(session, "tests.block", input={"gate": str(gate), "started": str(started)})[
        "id"
    ]
    wait_for(started.exists, what="the task to start")

    refused = problem(session.post(f"/api/v1/tasks/{task_id}/pause"), 409)
    assert refused["current_status"] == "in_progress" and "has no steps" in refused["detail"]
    _, key = hub.accounts.create_key(session.headers["X-Test-Workspace"])
    with TaskHubClient(api_url, key) as remote, pytest.raises(TransitionError) as remotely:
        remote.pause(task_id)
    assert remotely.value.status == "in_progress" and "has no steps" in remotely.value.reason

    gate.touch()
    done = wait_until_final(session, task_id)
    assert (done["status"], done["pause_requested_at"]) == ("completed", None)
    assert task_of(session, task_id)["pause_requested_at"] is None


def test_a_running_task_with_undeclared_steps_still_pauses_at_its_next_step(
    hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    gate, started = scratch / "gate", scratch / "started"
    record = hub.submit("tests.gated_step", {"gate": str(gate), "started": str(started)})
    wait_for(started.exists, what="its first step to start")

    asked = hub.pause(record.id)
    assert asked.pause_requested_at is not None
    gate.touch()

    paused = wait_for_status(hub, record.id, Status.PAUSED)
    assert [(s.name, s.status.value) for s in paused.steps] == [("wait", "completed")]
    hub.resume(record.id)
    assert wait_for_status(hub, record.id, Status.COMPLETED).pause_requested_at is None
