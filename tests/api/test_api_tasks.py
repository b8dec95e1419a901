"""The task API over real HTTP: submitting, reading, acting, and every way a request goes wrong.

These tests use ``idle_api``: no worker consumes its queue, so every status is one a person made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from taskhub import Settings, TaskHub
from taskhub.domain.clock import now

from .api_support import client
from .api_tasks_support import created, problem, task_of

Api = Callable[..., httpx.Client]
SOON = (datetime.now(UTC) + timedelta(days=1)).isoformat()


def test_submit_answers_201_with_the_full_record(idle_api: Api) -> None:
    session = idle_api()
    body = {
        "input": {"value": [1, "two"]},
        "name": "Echo – test",
        "priority": 8,
        "timeout": 30,
        "retries": 2,
        "retry_delay": 0.5,
    }
    reply = session.post("/api/v1/tasks", json={"task": "tests.echo", **body})
    assert reply.status_code == 201, reply.text
    record = reply.json()
    assert reply.headers["location"] == f"/api/v1/tasks/{record['id']}"
    assert record["workspace_id"] == session.headers["X-Test-Workspace"]
    assert (record["task_name"], record["name"], record["input"]) == (
        "tests.echo",
        "Echo – test",
        {"value": [1, "two"]},
    )
    assert (record["status"], record["type"], record["origin"]) == ("pending", "manual", None)
    assert (record["priority"], record["timeout_s"], record["max_retries"]) == (8, 30.0, 2)
    assert record["retry_delay_s"] == 0.5 and record["deadline"] is None
    assert record["attempt"] == 0 and record["run"] == 1 and record["error"] is None
    assert record["progress"] == {
        "current_step": None,
        "total_steps": None,
        "percent": None,
        "message": None,
        "label": "",
    }
    assert record["steps"] == [] and record["attempts"] == [] and record["output_names"] == []
    assert datetime.fromisoformat(record["created_at"]) <= now()
    again = task_of(session, record["id"])
    assert again["dispatched"] and again["dispatched_at"] is not None  # published after writing
    assert again == record  # the answer is the record as stored, its dispatched_at too


def test_a_submission_takes_the_task_defaults(idle_api: Api) -> None:
    record = created(idle_api(), "tests.echo")
    assert record["name"] == "Echo the value back"  # the first line of its description
    assert record["input"] == {} and record["priority"] == 5 and record["max_retries"] == 0


def test_the_idempotency_key_header_returns_the_same_task(idle_api: Api) -> None:
    session, other = idle_api(), idle_api()
    headers = {"Idempotency-Key": "order-42"}
    first = session.post("/api/v1/tasks", json={"task": "tests.noop"}, headers=headers)
    again = session.post("/api/v1/tasks", json={"task": "tests.noop"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["idempotency_key"] == "order-42"
    in_body = session.post(
        "/api/v1/tasks", json={"task": "tests.noop", "idempotency_key": "order-42"}
    )
    assert in_body.status_code == 200 and in_body.json()["id"] == first.json()["id"]
    # another workspace's key space is its own
    theirs = other.post("/api/v1/tasks", json={"task": "tests.noop"}, headers=headers)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    clash = session.post(
        "/api/v1/tasks", json={"task": "tests.noop", "idempotency_key": "b"}, headers=headers
    )
    problem(clash, 422, "idempotency_key")
    assert session.get("/api/v1/tasks").json()["total"] == 1


# -- authentication --------------------------------------------------------------------------


def test_requests_without_a_valid_key_get_401(
    idle_api: Api, idle_api_url: str, hub: TaskHub
) -> None:
    session = idle_api()
    workspace_id = session.headers["X-Test-Workspace"]
    key, plaintext = hub.accounts.create_key(workspace_id, "to revoke")
    with client(idle_api_url, plaintext) as revocable:
        assert revocable.get("/api/v1/tasks").status_code == 200
        hub.accounts.revoke_key(workspace_id, key.id)
        revoked = revocable.get("/api/v1/tasks")
    with client(idle_api_url, None) as anonymous, client(idle_api_url, "thk_not-a-key") as wrong:
        replies = [
            anonymous.get("/api/v1/tasks"),
            anonymous.post("/api/v1/tasks", json={"task": "tests.noop"}),
            anonymous.get("/api/v1/task-definitions"),
            anonymous.get("/api/v1/events"),
            wrong.get("/api/v1/tasks"),
            wrong.get("/api/v1/tasks/whatever"),
            revoked,
        ]
        basic = anonymous.get("/api/v1/tasks", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    for reply in [*replies, basic]:
        body = problem(reply, 401)
        assert reply.headers["www-authenticate"] == "Bearer"
        assert plaintext not in body["detail"]
    assert "revoked" in revoked.json()["detail"]


# -- validation --------------------------------------------------------------------------------

LIST_ERRORS = [
    ("limit=0", "limit"),
    ("limit=101", "limit"),
    ("limit=many", "limit"),
    ("skip=-1", "skip"),
    ("offset=-1", "offset"),
    ("skip=2&offset=3", "offset"),
    ("status=bogus", "status"),
    ("type=cron", "type"),
    ("created_after=yesterday", "created_after"),
    ("after=bm90LWEtY3Vyc29y", "after"),
    ("after=%25%25%25", "after"),
    ("after=eyJjIjoiMjAyNC0wMS0wMVQwMDowMDowMCswMDowMCIsImkiOiJ4In0&skip=1", "skip"),
]


@pytest.mark.parametrize(("query", "field"), LIST_ERRORS)
def test_bad_list_parameters_are_422_naming_the_field(
    idle_api: Api, query: str, field: str
) -> None:
    problem(idle_api().get(f"/api/v1/tasks?{query}"), 422, field)


SUBMIT_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"task": "tests.nope"}, "task"),
    ({}, "task"),
    ({"task": ""}, "task"),
    ({"task": "tests.noop", "priority": 10}, "priority"),
    ({"task": "tests.noop", "priority": -1}, "priority"),
    ({"task": "tests.noop", "priority": "5"}, "priority"),
    ({"task": "tests.noop", "priority": True}, "priority"),
    ({"task": "tests.noop", "retries": -1}, "retries"),
    ({"task": "tests.noop", "retries": 1.5}, "retries"),
    ({"task": "tests.noop", "timeout": "soon"}, "timeout"),
    ({"task": "tests.noop", "timeout": 0}, "timeout"),
    ({"task": "tests.noop", "retry_delay": -1}, "retry_delay"),
    ({"task": "tests.noop", "input": [1, 2]}, "input"),
    ({"task": "tests.noop", "input": "text"}, "input"),
    ({"task": "tests.noop", "name": 5}, "name"),
    ({"task": "tests.noop", "name": ""}, "name"),
    ({"task": "tests.noop", "deadline": "2999-01-01T00:00:00"}, "deadline"),
    ({"task": "tests.noop", "deadline": "tomorrow"}, "deadline"),
    ({"task": "tests.noop", "depends_on": "abc"}, "depends_on"),
    ({"task": "tests.noop", "idempotency_key": ""}, "idempotency_key"),
    ({"task": "tests.noop", "colour": "blue"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), SUBMIT_ERRORS)
def test_bad_submissions_are_422_naming_the_field(
    idle_api: Api, body: dict[str, Any], field: str
) -> None:
    session = idle_api()
    problem(session.post("/api/v1/tasks", json=body), 422, field)
    assert session.get("/api/v1/tasks").json()["total"] == 0  # nothing was written


def test_a_body_that_is_not_json_is_400(idle_api: Api) -> None:
    session = idle_api()
    for raw in (b'{"task": "tests.noop",', b"not json at all"):
        reply = session.post(
            "/api/v1/tasks", content=raw, headers={"content-type": "application/json"}
        )
        problem(reply, 400)
    problem(session.post("/api/v1/tasks", json=["tests.noop"]), 422)


def test_a_deadline_in_the_past_is_422(idle_api: Api) -> None:
    session = idle_api("growth")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    body = problem(
        session.post("/api/v1/tasks", json={"task": "tests.noop", "deadline": past}),
        422,
        "deadline",
    )
    assert "past" in body["detail"]
    record = created(session, deadline=SOON)
    assert datetime.fromisoformat(record["deadline"]) == datetime.fromisoformat(SOON)


# -- plans -------------------------------------------------------------------------------------


def test_deadlines_and_dependencies_need_a_growth_plan(idle_api: Api) -> None:
    starter = idle_api("starter")
    deadline = starter.post("/api/v1/tasks", json={"task": "tests.noop", "deadline": SOON})
    body = problem(deadline, 403)
    assert (body["feature"], body["plan"], body["current_plan"]) == (
        "deadlines",
        "growth",
        "starter",
    )
    assert "growth" in body["detail"]
    depends = starter.post("/api/v1/tasks", json={"task": "tests.noop", "depends_on": ["x"]})
    assert problem(depends, 403)["feature"] == "dependencies"
    assert starter.get("/api/v1/tasks").json()["total"] == 0
    assert created(starter, depends_on=[])["status"] == "pending"  # none is fine


def test_a_task_depending_on_others_is_created_waiting_for_them(idle_api: Api) -> None:
    session = idle_api("growth")
    first = created(session)
    reply = session.post("/api/v1/tasks", json={"task": "tests.noop", "depends_on": [first["id"]]})
    assert reply.status_code == 201  # waiting for its parents is not "the broker failed"
    waiting = reply.json()
    assert (waiting["status"], waiting["blocked"], waiting["dispatched"]) == (
        "pending",
        True,
        False,
    )
    assert session.get(f"/api/v1/tasks/{first['id']}").json()["has_dependents"] is True
    other = idle_api("growth")  # another workspace's task is not there for it
    unknown = other.post("/api/v1/tasks", json={"task": "tests.noop", "depends_on": [first["id"]]})
    assert first["id"] in problem(unknown, 422, "depends_on")["detail"]
    assert other.get("/api/v1/tasks").json()["total"] == 0


# -- reading and acting -------------------------------------------------------------------------


def test_a_missing_task_is_404(idle_api: Api) -> None:
    session = idle_api()
    for path in ("/api/v1/tasks/nope", "/api/v1/tasks/nope/outputs/result"):
        problem(session.get(path), 404)
    for action in ("cancel", "pause", "resume", "retry"):
        problem(session.post(f"/api/v1/tasks/nope/{action}"), 404)


def test_actions_answer_the_record_or_409_with_the_status(idle_api: Api) -> None:
    session = idle_api()
    task_id = created(session)["id"]

    def act(action: str) -> httpx.Response:
        return session.post(f"/api/v1/tasks/{task_id}/{action}")

    assert act("pause").json()["status"] == "paused"
    assert problem(act("pause"), 409)["current_status"] == "paused"
    assert act("resume").json()["status"] == "pending"
    assert problem(act("retry"), 409)["current_status"] == "pending"
    cancelled = act("cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    conflict = problem(act("cancel"), 409)
    assert conflict["current_status"] == "cancelled" and "it is cancelled" in conflict["detail"]
    problem(act("resume"), 409)
    retried = act("retry").json()
    assert (retried["status"], retried["run"], retried["finished_at"]) == ("pending", 2, None)
    assert task_of(session, task_id) == retried


def test_task_definitions_list_the_registered_tasks(
    idle_api: Api, hub: TaskHub, idle_settings: Settings
) -> None:
    reply = idle_api().get("/api/v1/task-definitions")
    assert reply.status_code == 200
    found = {d["name"]: d for d in reply.json()}
    assert set(found) == set(hub.definitions)
    assert list(found) == sorted(found)
    pipeline = found["tests.pipeline"]
    assert pipeline["description"].startswith("Three durable steps")
    assert pipeline["defaults"] == {
        "timeout_s": hub.settings.default_timeout_s,
        "retries": 2,
        "retry_delay_s": 0.05,
        "retry_backoff": 2.0,
        "priority": 5,
        "queue": idle_settings.default_queue,  # the server's default queue
        "steps": ["fetch", "crunch", "publish"],
    }
    assert found["tests.sleepy"]["defaults"]["timeout_s"] == 60
    assert found["tests.log"]["defaults"]["priority"] == 0


def test_a_task_for_later_is_created_pending_with_its_due_time(idle_api: Api) -> None:
    session = idle_api("growth")
    reply = session.post("/api/v1/tasks", json={"task": "tests.noop", "run_at": SOON})
    assert reply.status_code == 201  # held for later is not "the broker could not take it"
    record = reply.json()
    assert (record["status"], record["dispatched"]) == ("pending", False)
    assert datetime.fromisoformat(record["scheduled_for"]) == datetime.fromisoformat(SOON)
    counted = created(session, countdown=3600)
    assert counted["scheduled_for"] is not None and counted["dispatched"] is False


def test_a_task_for_later_needs_a_growth_plan_and_a_time_zone(idle_api: Api) -> None:
    starter = idle_api("starter")
    later = starter.post("/api/v1/tasks", json={"task": "tests.noop", "run_at": SOON})
    assert problem(later, 403)["feature"] == "scheduled tasks"
    growth = idle_api("growth")
    naive = growth.post("/api/v1/tasks", json={"task": "tests.noop", "run_at": "2999-01-01T00:00"})
    assert problem(naive, 422)["errors"][0]["field"] == "run_at"
