"""Many tasks in one request: ``POST /api/v1/tasks/batch`` answers each item on its own.

Most use ``idle_api`` (nothing runs the tasks); the last one lets the worker run them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ..support import Worker
from .api_tasks_support import problem, task_of, wait_until_final

Api = Callable[..., httpx.Client]
BATCH = "/api/v1/tasks/batch"
SOON = (datetime.now(UTC) + timedelta(days=1)).isoformat()
LATER = (datetime.now(UTC) + timedelta(days=2)).isoformat()


def batch(session: httpx.Client, task: str, items: list[dict[str, Any]], **shared: Any) -> Any:
    return session.post(BATCH, json={"task": task, "items": items, **shared})


def ids_listed(session: httpx.Client) -> set[str]:
    reply = session.get("/api/v1/tasks", params={"limit": 100})
    assert reply.status_code == 200, reply.text
    return {item["id"] for item in reply.json()["items"]}


def test_valid_items_go_in_and_each_invalid_one_gets_a_problem_naming_its_field(
    idle_api: Api,
) -> None:
    session = idle_api()
    items = [
        {"input": {"size": 1}},
        {"input": {"size": "abc"}},
        {"input": {"size": 2}, "priority": 9, "name": "Second"},
        {"input": {"size": 3, "colour": "red"}},
    ]
    reply = batch(session, "tests.big_output", items, name="Sized", retries=4)

    assert reply.status_code == 207, reply.text
    body = reply.json()
    assert (body["submitted"], body["refused"], body["max_items"]) == (2, 2, 1000)
    answers = body["items"]
    assert [(a["index"], a["status"]) for a in answers] == [(0, 201), (1, 422), (2, 201), (3, 422)]
    first, second = answers[0]["task"], answers[2]["task"]
    assert (first["input"], first["name"], first["max_retries"]) == ({"size": 1}, "Sized", 4)
    assert (second["name"], second["priority"], second["max_retries"]) == ("Second", 9, 4)
    bad_size, bad_key = answers[1]["problem"], answers[3]["problem"]
    assert (bad_size["status"], bad_size["title"]) == (422, "Invalid input")
    assert bad_size["field"] == "items.1.input.size"
    assert "expected an integer, got 'abc'" in bad_size["detail"]
    assert bad_key["field"] == "items.3.input.colour" and "unexpected key" in bad_key["detail"]
    assert answers[1]["task"] is None and answers[0]["problem"] is None
    assert ids_listed(session) == {first["id"], second["id"]}  # only the valid ones written
    assert task_of(session, first["id"])["dispatched"]


def test_a_batch_of_valid_items_answers_201_with_the_records_in_order(idle_api: Api) -> None:
    session = idle_api()
    reply = batch(session, "tests.echo", [{"input": {"value": n}} for n in range(5)])

    assert reply.status_code == 201, reply.text
    tasks = [answer["task"] for answer in reply.json()["items"]]
    assert [t["input"] for t in tasks] == [{"value": n} for n in range(5)]
    assert [task_of(session, t["id"])["input"] for t in tasks] == [{"value": n} for n in range(5)]
    assert all(t["dispatched"] and t["status"] == "pending" for t in tasks)


def test_all_or_nothing_refuses_the_batch_listing_every_fault_and_writes_nothing(
    idle_api: Api,
) -> None:
    session = idle_api()
    items = [{"input": {"size": 1}}, {"input": {"size": "x"}}, {"input": {}}]
    reply = batch(session, "tests.big_output", items, all_or_nothing=True)

    body = problem(reply, 422, "items.1.input.size")
    assert [e["field"] for e in body["errors"]] == ["items.1.input.size", "items.2.input.size"]
    assert ids_listed(session) == set()


def test_more_items_than_the_limit_are_refused_naming_items(idle_api: Api) -> None:
    session = idle_api()
    too_many = batch(session, "tests.noop", [{}] * 1001)
    problem(too_many, 422, "items")
    assert "1000" in too_many.json()["detail"]
    problem(batch(session, "tests.noop", []), 422, "items")
    assert ids_listed(session) == set()

    full = batch(session, "tests.noop", [{}] * 1000)
    assert full.status_code == 201, full.text[:500]
    assert full.json()["submitted"] == 1000


def test_what_the_items_share_is_checked_once_and_refuses_the_batch(idle_api: Api) -> None:
    session = idle_api()
    unknown = problem(batch(session, "tests.nope", [{}, {}]), 422, "task")
    assert unknown["title"] == "Unknown task"
    problem(batch(session, "tests.noop", [{}], priority=12), 422, "priority")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    problem(batch(session, "tests.noop", [{}], deadline=past), 403)  # Starter: no deadlines
    malformed = batch(session, "tests.noop", [{}, {}, {"priority": "high"}])
    problem(malformed, 422, "items.2.priority")  # off the schema: the request is malformed
    problem(batch(session, "tests.noop", [{}], idempotency_key="k"), 422, "idempotency_key")
    assert ids_listed(session) == set()


def test_starter_refuses_an_item_asking_for_a_growth_feature_and_takes_the_rest(
    idle_api: Api,
) -> None:
    session = idle_api("starter")
    items = [{}, {"deadline": SOON}, {"run_at": SOON}]
    reply = batch(session, "tests.noop", items)

    assert reply.status_code == 207, reply.text
    answers = reply.json()["items"]
    assert [a["status"] for a in answers] == [201, 403, 403]
    refused = answers[1]["problem"]
    assert (refused["title"], refused["feature"], refused["plan"]) == (
        "Plan required",
        "deadlines",
        "growth",
    )
    assert answers[2]["problem"]["feature"] == "scheduled tasks"
    problem(batch(session, "tests.noop", [{}], deadline=SOON), 403)  # shared: the whole batch
    assert ids_listed(session) == {answers[0]["task"]["id"]}

    growth = idle_api("growth")
    held = batch(growth, "tests.noop", [{"run_at": SOON}, {}], deadline=LATER)
    assert held.status_code == 201, held.text
    first, second = (answer["task"] for answer in held.json()["items"])
    assert first["scheduled_for"] is not None and not first["dispatched"]  # held until run_at
    assert first["deadline"] is not None and second["deadline"] is not None


def test_a_batch_is_written_to_the_keys_workspace_only(idle_api: Api) -> None:
    mine, theirs = idle_api(), idle_api()
    reply = batch(mine, "tests.noop", [{}, {}])
    tasks = [answer["task"] for answer in reply.json()["items"]]

    assert {t["workspace_id"] for t in tasks} == {mine.headers["X-Test-Workspace"]}
    assert ids_listed(theirs) == set()
    problem(theirs.get(f"/api/v1/tasks/{tasks[0]['id']}"), 404)


def test_the_tasks_of_a_batch_run_on_the_worker(api: Api, worker: Worker) -> None:
    session = api()
    reply = batch(session, "tests.echo", [{"input": {"value": n}} for n in range(3)])
    assert reply.status_code == 201, reply.text

    for n, answer in enumerate(reply.json()["items"]):
        done = wait_until_final(session, answer["task"]["id"])
        assert done["status"] == "completed"
        output = session.get(f"/api/v1/tasks/{done['id']}/outputs/result")
        assert output.json() == n
