"""The remote client speaks the local SDK's language: same methods, records and errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from taskhub import Settings, Status, TaskHub, TransitionError, ValidationError
from taskhub.client import TaskHubClient
from taskhub.domain.canvas import chain, sig
from taskhub.domain.dependencies import PipelineStatus
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
# On both, outside the protocol: locally a Pipeline of full records (from a canvas, a graph or
# the JSON form), remotely the API's JSON as a dict (taskhub/sdk.py says why).
PIPELINES = {"submit_pipeline", "pipeline", "cancel_pipeline"}


def test_the_local_sdk_has_no_public_method_the_protocol_lacks() -> None:
    """mypy checks that TaskHub and TaskHubClient implement TaskhubSDK; what it cannot see is a
    method added to one of them and not to the protocol (so not to the other)."""
    protocol = {name for name in vars(TaskhubSDK) if not name.startswith("_")}
    local = {name for name in vars(TaskHub) if not name.startswith("_")}
    assert local - protocol == LOCAL_ONLY | PIPELINES
    remote = {name for name in vars(TaskHubClient) if not name.startswith("_")}
    assert remote - protocol == PIPELINES


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
    page = remote.list(status="completed")  # the Page the local list answers
    assert (page.total, [r.id for r in page.items], page.next_cursor) == (1, [record.id], None)
    assert [n.task_id for n in remote.notifications()] == [record.id]
    batch = remote.submit_many("tests.echo", [{"value": 1}, {"value": 2}])  # records, as submit
    assert [(r.task_name, r.input) for r in batch] == [("tests.echo", {"value": n}) for n in (1, 2)]
    assert [hub.get(r.id).input for r in batch] == [{"value": 1}, {"value": 2}]


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


def test_pipelines_remotely_are_the_api_json_and_locally_a_pipeline_of_records(
    idle_api_url: str, idle_settings: Settings
) -> None:
    """On the idle stack (nothing runs the tasks): submit, read, cancel both ways."""
    hub = TaskHub(idle_settings, workspace=f"test-{uuid.uuid4().hex[:12]}")
    growth = hub.accounts.create_workspace(f"pipes-{uuid.uuid4().hex[:10]}", "growth")
    _, key = hub.accounts.create_key(growth.id)
    spec = {
        "name": "ab",
        "nodes": {"a": {"task": "tests.echo"}, "b": {"task": "tests.echo", "after": ["a"]}},
    }
    with TaskHubClient(idle_api_url, key) as remote:
        submitted = remote.submit_pipeline(spec)
        assert [(n["node"], n["blocked"]) for n in submitted["nodes"]] == [
            ("a", False),
            ("b", True),
        ]
        assert remote.pipeline(submitted["id"]) == submitted
        assert remote.cancel_pipeline(submitted["id"])["status"] == "cancelled"
        with pytest.raises(NotFoundError) as missing:
            remote.pipeline("00000000-0000-0000-0000-000000000000")
        assert missing.value.kind == "pipeline"
        with pytest.raises(ValidationError) as bad:
            remote.submit_pipeline({**spec, "nodes": {"a": {"task": "tests.echo", "after": ["z"]}}})
        assert bad.value.field == "nodes.a.after"

    local = hub.submit_pipeline(chain(sig("tests.echo", name="a"), sig("tests.echo", name="b")))
    read = hub.pipeline(local.id)
    assert [(n.node, n.blocked) for n in read.nodes] == [("a", False), ("b", True)]
    assert read.waiting == {"b": 1}
    assert hub.cancel_pipeline(local.id).status is PipelineStatus.CANCELLED
    hub.close()
