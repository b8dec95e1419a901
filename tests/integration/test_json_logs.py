"""``TASKHUB_LOG_FORMAT=json``: a real worker writes one JSON object per log line, and the lines
logged while a task runs name its task_id and workspace_id."""

from __future__ import annotations

import json
from typing import Any

from taskhub import Settings, Status

from ..conftest import own_queue
from ..support import running_worker, wait_for_status


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_json_worker_logs_each_task_line_with_its_task_and_workspace(
    settings: Settings,
) -> None:
    # Given a worker whose settings ask for JSON logs
    hub, json_settings = own_queue(settings, log_format="json")
    try:
        with running_worker(json_settings, concurrency=1, name="json") as worker:
            # When it runs a task that logs a line, and one that fails once then succeeds
            task = hub.submit("tests.metered", {"note": "hello from the body"})
            retried = hub.submit("tests.metered", {"fail_times": 1, "note": "retried"})
            wait_for_status(hub, task.id, Status.COMPLETED)
            wait_for_status(hub, retried.id, Status.COMPLETED)
            output = worker.output()
    finally:
        hub.close()
    lines = json_lines(output)
    # Then the log records are JSON objects, not Celery's text lines (the banner is printed)
    assert not [line for line in output.splitlines() if line.startswith("[20")], output
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    # And the body's line names its task and workspace
    body = [line for line in lines if line["message"] == "metered: hello from the body"]
    assert len(body) == 1, output
    assert body[0]["task_id"] == task.id
    assert body[0]["workspace_id"] == hub.workspace_id
    assert body[0]["logger"] == "tests.metered" and body[0]["level"] == "WARNING"
    # And Celery's own lines about the retried task name it: received (in the main process:
    # its id only), retried and succeeded (in the pool process, as the body: its workspace too)
    about = [line for line in lines if retried.id in line["message"]]
    for said in ("] received", "] retry: ", "] succeeded in "):
        assert any(said in line["message"] for line in about), (said, about)
    assert all(line.get("task_id") == retried.id for line in about), about
    ran = [line for line in about if "received" not in line["message"]]
    assert all(line.get("workspace_id") == hub.workspace_id for line in ran), ran
