"""The remote client speaks the local SDK's language: same methods, records and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taskhub import Status, TaskHub, TransitionError, ValidationError
from taskhub.client import TaskHubClient
from taskhub.domain.errors import AuthError, NotFoundError, PlanError
from taskhub.sdk import TaskhubSDK

from ..support import Worker


@pytest.fixture
def remote(api_url: str, hub: TaskHub) -> TaskHubClient:
    _, key = hub.accounts.create_key(hub.workspace_id, "client-test")
    return TaskHubClient(api_url, key)


# The local SDK's own, not the protocol's: running the hub in-process (over HTTP there is no
# database to migrate (or downgrade) nor sweep to run, and the API key names the workspace).
# Operator actions of the local hub (beat runs sync_code_schedules when it starts).
LOCAL_ONLY = {"workspace_id", "migrate", "downgrade", "sweep", "sync_code_schedules"}


def test_the_local_sdk_has_no_public_method_the_protocol_lacks() -> None:
    """mypy checks that TaskHub and TaskHubClient implement TaskhubSDK; what it cannot see is a
    method added to one of them and not to the protocol (so not to the other)."""
    protocol = {name for name in vars(TaskhubSDK) if not name.startswith("_")}
    assert {name for name in vars(TaskHub) if not name.startswith("_")} - protocol == LOCAL_ONLY
    assert {name for name in vars(TaskHubClient) if not name.startswith("_")} - protocol == set()


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
