"""Pipelines over real HTTP: submit a graph (every node a record at once, roots dispatched,
the others blocked), read, list, cancel; the problems (422 naming the field, 403 on Starter,
404 across workspaces). Most use ``idle_api`` (nothing runs the tasks); one runs a diamond to
the end on the shared worker.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..support import Worker, wait_for
from .api_tasks_support import problem, task_of

DIAMOND = {
    "name": "diamond",
    "nodes": {
        "top": {"task": "tests.echo", "input": {"value": "top"}},
        "left": {"task": "tests.echo", "input": {"value": "l"}, "after": ["top"]},
        "right": {"task": "tests.echo", "after": [{"node": "top", "on_failure": "skip"}]},
        "join": {"task": "tests.echo", "after": ["left", "right"], "options": {"priority": 7}},
    },
}


def submitted(session: httpx.Client, spec: dict[str, Any] = DIAMOND) -> dict[str, Any]:
    reply = session.post("/api/v1/pipelines", json=spec)
    assert reply.status_code == 201, reply.text
    pipeline: dict[str, Any] = reply.json()
    assert reply.headers["location"] == f"/api/v1/pipelines/{pipeline['id']}"
    return pipeline


def ok(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def nodes(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["node"]: node for node in pipeline["nodes"]}


def test_submit_records_every_node_dispatches_the_root_and_blocks_the_rest(idle_api: Any) -> None:
    session = idle_api("growth")
    p = submitted(session)
    assert (p["name"], p["status"]) == ("diamond", "running")
    assert [n["node"] for n in p["nodes"]] == ["top", "left", "right", "join"]
    by_node = nodes(p)
    assert {name: n["status"] for name, n in by_node.items()} == dict.fromkeys(by_node, "pending")
    assert {name: n["blocked"] for name, n in by_node.items()} == {
        "top": False,
        "left": True,
        "right": True,
        "join": True,
    }
    assert {name: n["waiting_for"] for name, n in by_node.items()} == {
        "top": 0,
        "left": 1,
        "right": 1,
        "join": 2,
    }
    assert p["counts"]["pending"] == 4 and p["counts"]["completed"] == 0
    assert {(e["node"], e["after"], e["on_failure"]) for e in p["edges"]} == {
        ("left", "top", "fail"),
        ("right", "top", "skip"),
        ("join", "left", "fail"),
        ("join", "right", "fail"),
    }
    top = task_of(session, by_node["top"]["task_id"])
    assert top["dispatched"] is True and top["pipeline_id"] == p["id"] and top["node"] == "top"
    join = task_of(session, by_node["join"]["task_id"])
    assert (join["dispatched"], join["blocked"], join["priority"]) == (False, True, 7)
    assert by_node["join"]["task"] == "tests.echo" and by_node["join"]["name"] == "join"
    assert ok(session.get(f"/api/v1/pipelines/{p['id']}")) == p


def test_the_list_form_of_nodes_is_read_too(idle_api: Any) -> None:
    session = idle_api("growth")
    spec = {
        "name": "listed",
        "nodes": [
            {"name": "b", "task": "tests.echo", "after": ["a"]},
            {"name": "a", "task": "tests.noop", "options": {"name": "First"}},
        ],
    }
    p = submitted(session, spec)
    assert [(n["node"], n["name"], n["blocked"]) for n in p["nodes"]] == [
        ("a", "First", False),
        ("b", "b", True),
    ]


def test_a_bad_graph_is_a_422_naming_the_field_and_writes_nothing(idle_api: Any) -> None:
    session = idle_api("growth")
    echo = {"task": "tests.echo"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "x", "nodes": {"a": {**echo, "after": ["nope"]}}}, "nodes.a.after"),
        (
            {"name": "x", "nodes": {"a": {**echo, "after": ["b"]}, "b": {**echo, "after": ["a"]}}},
            "nodes",
        ),
        ({"name": "x", "nodes": {"a": {"task": "no.such.task"}}}, "nodes.a.task"),
        ({"name": "x", "nodes": {"t": {"task": "tests.typed", "input": {}}}}, "nodes.t.input.when"),
        ({"name": "x", "nodes": {"a": {**echo, "options": {"priority": 42}}}}, "nodes.a.priority"),
        ({"name": "x", "nodes": {"a": {**echo, "colour": "red"}}}, "nodes.a.colour"),
        ({"name": "x", "nodes": {"a": {**echo, "after": "b"}}}, "nodes.a.after"),
        ({"name": "x", "nodes": {}}, "nodes"),
        ({"name": "x", "nodes": 3}, "nodes"),
        ({"name": "", "nodes": {"a": echo}}, "name"),
        ({"nodes": {"a": echo}}, "name"),
        ({"name": "x", "nodes": {"a": echo}, "colour": "red"}, "colour"),
    ]
    for spec, field in cases:
        problem(session.post("/api/v1/pipelines", json=spec), 422, field)
    assert ok(session.get("/api/v1/pipelines"))["total"] == 0
    assert ok(session.get("/api/v1/tasks"))["total"] == 0


def test_starter_may_not_submit_but_may_read_and_cancel(idle_api: Any) -> None:
    starter = idle_api("starter")
    body = problem(starter.post("/api/v1/pipelines", json=DIAMOND), 403)
    assert (body["feature"], body["current_plan"]) == ("dependencies", "starter")
    assert ok(starter.get("/api/v1/pipelines")) == {"items": [], "total": 0, "limit": 25, "skip": 0}


def test_another_workspace_sees_404(idle_api: Any) -> None:
    mine, theirs = idle_api("growth"), idle_api("growth")
    p = submitted(mine)
    problem(theirs.get(f"/api/v1/pipelines/{p['id']}"), 404)
    problem(theirs.post(f"/api/v1/pipelines/{p['id']}/cancel"), 404)
    problem(mine.get("/api/v1/pipelines/not-a-pipeline"), 404)
    assert ok(theirs.get("/api/v1/pipelines"))["total"] == 0
    assert ok(mine.get(f"/api/v1/pipelines/{p['id']}"))["status"] == "running"


def test_the_list_pages_newest_first(idle_api: Any) -> None:
    session = idle_api("growth")
    made = [submitted(session, {**DIAMOND, "name": f"p{i}"})["id"] for i in range(3)]
    first = ok(session.get("/api/v1/pipelines", params={"limit": 2}))
    assert (first["total"], first["limit"], first["skip"]) == (3, 2, 0)
    assert [p["id"] for p in first["items"]] == made[::-1][:2]
    rest = ok(session.get("/api/v1/pipelines", params={"limit": 2, "skip": 2}))
    assert [p["id"] for p in rest["items"]] == made[:1]
    problem(session.get("/api/v1/pipelines", params={"limit": 0}), 422, "limit")


def test_cancel_ends_every_unfinished_node(idle_api: Any) -> None:
    session = idle_api("growth")
    p = submitted(session)
    cancelled = ok(session.post(f"/api/v1/pipelines/{p['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert {n["status"] for n in cancelled["nodes"]} == {"cancelled"}
    assert cancelled["counts"]["cancelled"] == 4
    assert ok(session.post(f"/api/v1/pipelines/{p['id']}/cancel"))["status"] == "cancelled"


def test_a_diamond_completes_through_the_api(api: Any, worker: Worker) -> None:
    session = api("growth")
    p = submitted(session)

    def finished() -> dict[str, Any] | None:
        found = ok(session.get(f"/api/v1/pipelines/{p['id']}"))
        return found if found["status"] != "running" else None

    done = wait_for(finished, timeout_s=60, what="the pipeline to complete")
    assert done["status"] == "completed" and done["counts"]["completed"] == 4
    by_node = nodes(done)
    assert all(not n["blocked"] and n["waiting_for"] == 0 for n in by_node.values())
    assert by_node["top"]["finished_at"] <= by_node["left"]["started_at"]
    assert (
        max(by_node["left"]["finished_at"], by_node["right"]["finished_at"])
        <= (by_node["join"]["started_at"])
    )
