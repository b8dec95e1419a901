"""What a new user meets first on the API (issue 12): an idempotent repeat answers the whole
record, and a body that is not JSON, or is malformed JSON, is a problem naming ``body``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx

from ..support import Worker
from .api_tasks_support import created, problem, wait_until_final

Api = Callable[..., httpx.Client]


def test_an_idempotent_repeat_answers_the_record_with_its_outputs(api: Api, worker: Worker) -> None:
    session = api()
    first = created(session, "tests.outputs", idempotency_key="nightly-1")
    done = wait_until_final(session, first["id"])
    assert done["status"] == "completed"
    assert done["output_names"] == ["notes.txt", "result", "stats"]

    repeat = session.post(
        "/api/v1/tasks", json={"task": "tests.outputs", "idempotency_key": "nightly-1"}
    )
    assert repeat.status_code == 200, repeat.text
    assert repeat.json() == done  # the same record, as GET reads it


def test_a_body_without_a_json_content_type_names_body_and_what_was_expected(
    idle_api: Api,
) -> None:
    session = idle_api()
    trigger = '{"name": "Region report", "task": "reports.daily_sales"}'
    untyped = session.post("/api/v1/triggers", content=trigger)  # curl -d without -H
    body = problem(untyped, 422, "body")
    assert "Content-Type: application/json" in body["detail"]
    assert body["errors"] == [{"field": "body", "message": body["detail"][6:], "type": "body"}]

    text = session.post("/api/v1/tasks", content="hello", headers={"content-type": "text/plain"})
    assert "got Content-Type text/plain" in problem(text, 422, "body")["detail"]
    listed = problem(session.post("/api/v1/tasks", json=["tests.noop"]), 422, "body")
    assert listed["detail"] == "body: expected a JSON object, got an array"
    assert session.get("/api/v1/triggers").json()["total"] == 0  # nothing was written


def test_malformed_json_says_where(idle_api: Api) -> None:
    session = idle_api()
    raw = '{"task": "tests.noop",\n "input": {,}}'
    reply = session.post("/api/v1/tasks", content=raw, headers={"content-type": "application/json"})
    body = problem(reply, 400, "body")
    assert body["detail"].startswith("body: malformed JSON at line 2, column 12: ")
    assert "double quotes" in body["detail"]
    assert [error["field"] for error in body["errors"]] == ["body"]


def test_every_readme_curl_that_sends_a_body_says_it_is_json() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    commands = re.findall(r"^curl (?:.*\\\n)*.*$", readme, flags=re.MULTILINE)
    with_body = [command for command in commands if " -d " in command]
    assert len(with_body) >= 3  # tasks, triggers, hooks
    for command in with_body:
        assert re.search(r"content-type: application/json", command, re.IGNORECASE), command
