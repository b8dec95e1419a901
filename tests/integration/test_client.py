"""The remote client speaks the local SDK's language: same methods, records and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taskhub import Status, TaskHub, TransitionError, ValidationError, accounts
from taskhub.client import TaskHubClient
from taskhub.errors import AuthError, NotFoundError, PlanError

from ..support import Worker


@pytest.fixture
def remote(api_url: str, hub: TaskHub) -> TaskHubClient:
    _, key = accounts.create_key(hub, hub.workspace_id, "client-test")
    return TaskHubClient(api_url, key)


def test_the_client_has_every_method_of_the_local_sdk() -> None:
    local = {name for name in vars(TaskHub) if not name.startswith("_")}
    sdk = {
        "submit",
        "submit_many",
        "get",
        "list",
        "output",
        "wait",
        "cancel",
        "pause",
        "resume",
        "retry",
        "notifications",
    }
    assert sdk <= local
    assert sdk <= {name for name in vars(TaskHubClient) if not name.startswith("_")}


def test_a_task_submitted_remotely_is_the_same_record_locally(
    remote: TaskHubClient, hub: TaskHub, worker: Worker
) -> None:
    record = remote.submit("tests.echo", {"value": [1, 2]}, name="Remote echo", priority=7)
    done = remote.wait(record.id, timeout_s=20)

    local = hub.get(record.id)
    assert (done.status, done.name, done.options.priority) == (Status.COMPLETED, "Remote echo", 7)
    assert done.status is local.status and done.attempt == local.attempt == 1
    assert done.finished_at == local.finished_at
    assert remote.output(record.id).content == "[1, 2]"
    items, total = remote.list(status="completed")
    assert total == 1 and items[0].id == record.id
    assert [n.task_id for n in remote.notifications()] == [record.id]
    assert remote.submit_many("tests.echo", [{"value": 1}, {"value": 2}]) != []


def test_remote_errors_are_the_local_error_types(
    remote: TaskHubClient, api_url: str, worker: Worker
) -> None:
    with pytest.raises(ValidationError) as bad:
        remote.submit("tests.echo", priority=12)
    assert bad.value.field == "priority"
    with pytest.raises(NotFoundError):
        remote.get("00000000-0000-0000-0000-000000000000")
    done = remote.submit("tests.echo", {"value": 1})
    remote.wait(done.id)
    with pytest.raises(TransitionError) as refused:
        remote.pause(done.id)
    assert refused.value.status == "completed"
    with pytest.raises(PlanError):  # the hub's workspace is on starter: no deadlines
        remote.submit("tests.echo", deadline=datetime.now(UTC) + timedelta(hours=1))
    with TaskHubClient(api_url, "thk_not-a-key") as stranger, pytest.raises(AuthError):
        stranger.get(done.id)
