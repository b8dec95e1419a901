"""Schedules over real HTTP: create, list, read, change, pause, resume, run now, delete; the
problems (422 naming the field, 403 on Starter, 404 across workspaces, 409 for a taken name).

They use ``idle_api``: a run-now task stays pending (nothing consumes its queue), and no beat
runs here. Every schedule a test makes is deleted afterwards, so no later beat fires it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from taskhub import Settings, TaskHub
from taskhub.domain.clock import now

from .api_tasks_support import problem, task_of

Api = Callable[..., httpx.Client]
NIGHTLY = {"name": "Nightly echo", "task": "tests.echo", "cron": "0 2 * * *"}


@pytest.fixture
def growth(idle_api: Api, settings: Settings) -> Iterator[Api]:
    """``growth()`` → a client in a fresh Growth workspace (``plan=`` for another plan); each
    workspace's schedules are deleted after the test."""
    made: list[str] = []

    def make(plan: str = "growth") -> httpx.Client:
        session = idle_api(plan)
        made.append(session.headers["X-Test-Workspace"])
        return session

    yield make
    hub = TaskHub(settings)
    for workspace_id in made:
        for s in hub.schedules.page(workspace_id, limit=1000)[0]:
            hub.schedules.delete(workspace_id, s.id)
    hub.close()


def created(session: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = session.post("/api/v1/schedules", json={**NIGHTLY, **body})
    assert reply.status_code == 201, reply.text
    schedule: dict[str, Any] = reply.json()
    assert reply.headers["location"] == f"/api/v1/schedules/{schedule['id']}"
    return schedule


def ok(reply: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    return body


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_create_answers_201_with_the_schedule_in_words_and_its_next_fire_time(
    growth: Api,
) -> None:
    session = growth()
    before = now()
    s = created(
        session,
        timezone="Europe/Berlin",
        input={"value": {"n": 1}},
        options={"priority": 8, "retries": 1},
        missed_policy="skip",
        overlap_policy="queue_one",
    )
    assert (s["name"], s["task"], s["input"]) == ("Nightly echo", "tests.echo", {"value": {"n": 1}})
    assert (s["cron"], s["cron_description"], s["timezone"]) == (
        "0 2 * * *",
        "At 02:00 AM",
        "Europe/Berlin",
    )
    assert s["options"] == {
        "priority": 8,
        "timeout_s": None,
        "retries": 1,
        "deadline_offset_s": None,
    }
    assert (s["missed_policy"], s["overlap_policy"]) == ("skip", "queue_one")
    assert (s["enabled"], s["source"], s["trail"]) == (True, "api", [])
    assert (s["last_run_at"], s["last_task_id"], s["queued_fire_at"]) == (None, None, None)
    next_run = at(s["next_run_at"])
    assert before < next_run <= before + timedelta(days=1, hours=1)
    local = next_run.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (2, 0)
    assert ok(session.get(f"/api/v1/schedules/{s['id']}")) == s


def test_an_alias_is_stored_as_five_fields_and_the_defaults_apply(growth: Api) -> None:
    s = created(growth(), cron="@hourly")
    assert (s["cron"], s["cron_description"], s["timezone"]) == ("0 * * * *", "Every hour", "UTC")
    assert (s["missed_policy"], s["overlap_policy"], s["input"]) == ("run_once", "allow", {})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "0 2 * *"}, "cron"),
        ({"cron": "² * * * *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"task": "tests.nope"}, "task"),
        ({"input": {"nope": 1}}, "input.nope"),
        ({"options": {"priority": 12}}, "options.priority"),
        ({"options": {"colour": 1}}, "options.colour"),
        ({"missed_policy": "sometimes"}, "missed_policy"),
        ({"overlap_policy": "maybe"}, "overlap_policy"),
        ({"name": ""}, "name"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_an_invalid_field_is_a_422_naming_it(growth: Api, body: dict[str, Any], field: str) -> None:
    session = growth()
    problem(session.post("/api/v1/schedules", json={**NIGHTLY, **body}), 422, field)
    assert ok(session.get("/api/v1/schedules"))["total"] == 0  # nothing was made


def test_a_bad_cron_says_what_is_wrong(growth: Api) -> None:
    reply = growth().post("/api/v1/schedules", json={**NIGHTLY, "cron": "61 * * * *"})
    body = problem(reply, 422, "cron")
    assert "61 is out of range 0-59" in body["detail"]


def test_a_taken_name_is_a_409(growth: Api) -> None:
    session = growth()
    created(session)
    problem(session.post("/api/v1/schedules", json=NIGHTLY), 409)
    assert ok(session.get("/api/v1/schedules"))["total"] == 1


def test_a_starter_workspace_gets_403_naming_the_plan(growth: Api) -> None:
    session = growth("starter")
    body = problem(session.post("/api/v1/schedules", json=NIGHTLY), 403)
    assert (body["feature"], body["plan"], body["current_plan"]) == (
        "scheduled tasks",
        "growth",
        "starter",
    )
    assert ok(session.get("/api/v1/schedules")) == {"items": [], "total": 0, "limit": 25, "skip": 0}


def test_another_workspaces_schedule_is_not_found(growth: Api) -> None:
    mine, theirs = growth(), growth()
    s = created(theirs)
    path = f"/api/v1/schedules/{s['id']}"
    problem(mine.get(path), 404)
    problem(mine.patch(path, json={"cron": "0 3 * * *"}), 404)
    for action in ("pause", "resume", "run-now"):
        problem(mine.post(f"{path}/{action}"), 404)
    problem(mine.delete(path), 404)
    assert ok(mine.get("/api/v1/schedules"))["total"] == 0
    untouched = ok(theirs.get(path))
    assert untouched == s


def test_the_list_pages_oldest_first_with_the_total(growth: Api) -> None:
    session = growth()
    ids = [created(session, name=f"s{n}")["id"] for n in range(5)]
    first = ok(session.get("/api/v1/schedules", params={"limit": 2}))
    assert (first["total"], first["limit"], first["skip"]) == (5, 2, 0)
    assert [s["id"] for s in first["items"]] == ids[:2]
    last = ok(session.get("/api/v1/schedules", params={"limit": 2, "skip": 4}))
    assert [s["id"] for s in last["items"]] == ids[4:]
    assert ok(session.get("/api/v1/schedules", params={"skip": 9}))["items"] == []
    problem(session.get("/api/v1/schedules", params={"limit": 0}), 422, "limit")
    problem(session.get("/api/v1/schedules", params={"skip": -1}), 422, "skip")


def test_patch_changes_only_the_fields_given(growth: Api) -> None:
    session = growth()
    s = created(session, input={"value": 1}, options={"priority": 3})
    path = f"/api/v1/schedules/{s['id']}"
    changed = ok(session.patch(path, json={"name": "Renamed", "input": {"value": 2}}))
    assert (changed["name"], changed["input"]) == ("Renamed", {"value": 2})
    assert (changed["cron"], changed["next_run_at"]) == (s["cron"], s["next_run_at"])
    assert changed["options"]["priority"] == 3
    assert changed["updated_at"] > s["updated_at"]

    retimed = ok(session.patch(path, json={"cron": "*/5 * * * *", "timezone": "Asia/Tokyo"}))
    assert (retimed["cron_description"], retimed["timezone"]) == ("Every 5 minutes", "Asia/Tokyo")
    assert at(retimed["next_run_at"]) <= now() + timedelta(minutes=5)

    rest = {"options": {"timeout_s": 30}, "missed_policy": "run_all", "enabled": False}
    other = ok(session.patch(path, json={**rest, "overlap_policy": "skip"}))
    assert other["options"] == {
        "priority": None,  # options are replaced whole
        "timeout_s": 30,
        "retries": None,
        "deadline_offset_s": None,
    }
    assert (other["missed_policy"], other["overlap_policy"], other["enabled"]) == (
        "run_all",
        "skip",
        False,
    )
    assert ok(session.patch(path, json={})) == other
    assert ok(session.patch(path, json={"input": None}))["input"] == {}
    assert ok(session.get(path))["name"] == "Renamed"


def test_patch_refuses_a_bad_field_naming_it_and_keeps_the_schedule(growth: Api) -> None:
    session = growth()
    s = created(session)
    created(session, name="Taken")
    path = f"/api/v1/schedules/{s['id']}"
    for body, field in [
        ({"cron": "* * * * * * * *"}, "cron"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"task": "tests.nope"}, "task"),
        ({"cron": None}, "cron"),
        ({"enabled": None}, "enabled"),
        ({"colour": "red"}, "colour"),
    ]:
        problem(session.patch(path, json=body), 422, field)
    problem(session.patch(path, json={"name": "Taken"}), 409)
    assert ok(session.get(path)) == s


def test_pause_and_resume(growth: Api) -> None:
    session = growth()
    s = created(session, cron="* * * * *")
    path = f"/api/v1/schedules/{s['id']}"
    paused = ok(session.post(f"{path}/pause"))
    assert paused["enabled"] is False
    assert ok(session.post(f"{path}/pause")) == paused  # already paused: unchanged
    assert ok(session.get(path))["enabled"] is False
    resumed = ok(session.post(f"{path}/resume"))
    assert resumed["enabled"] is True
    assert now() < at(resumed["next_run_at"]) <= now() + timedelta(minutes=1)


def test_run_now_answers_202_with_a_scheduled_task_and_notes_it_in_the_trail(
    growth: Api,
) -> None:
    session = growth()
    s = created(session, input={"value": "hi"}, options={"priority": 7}, enabled=False)
    path = f"/api/v1/schedules/{s['id']}"
    reply = session.post(f"{path}/run-now")
    task = ok(reply, 202)
    assert reply.headers["location"] == f"/api/v1/tasks/{task['id']}"
    assert (task["type"], task["origin"], task["name"]) == (
        "scheduled",
        f"schedule:{s['id']}",
        "Nightly echo",
    )
    assert (task["task_name"], task["input"], task["priority"]) == (
        "tests.echo",
        {"value": "hi"},
        7,
    )
    assert task["status"] == "pending"
    assert task_of(session, task["id"])["id"] == task["id"]

    after = ok(session.get(path))
    assert after["last_task_id"] == task["id"]
    assert after["last_run_at"] is not None
    (entry,) = after["trail"]
    assert (entry["outcome"], entry["reason"], entry["task_id"]) == ("fired", "run now", task["id"])
    assert entry["fire_time"] == after["last_run_at"]
    assert after["enabled"] is False  # a run now does not turn it on

    again = ok(session.post(f"{path}/run-now"), 202)
    assert again["id"] != task["id"]
    assert [e["task_id"] for e in ok(session.get(path))["trail"]] == [task["id"], again["id"]]


def test_delete_answers_204_and_the_schedule_is_gone_but_its_runs_stay(growth: Api) -> None:
    session = growth()
    s = created(session)
    path = f"/api/v1/schedules/{s['id']}"
    task = ok(session.post(f"{path}/run-now"), 202)
    reply = session.delete(path)
    assert reply.status_code == 204 and reply.content == b""
    problem(session.get(path), 404)
    problem(session.delete(path), 404)
    assert ok(session.get("/api/v1/schedules"))["total"] == 0
    assert task_of(session, task["id"])["origin"] == f"schedule:{s['id']}"


def test_a_downgraded_workspace_may_read_pause_and_delete_but_not_change(
    growth: Api, settings: Settings
) -> None:
    """The plan gates what makes a schedule fire; stopping one is always allowed."""
    session = growth()
    s = created(session)
    path = f"/api/v1/schedules/{s['id']}"
    _downgrade(settings, session.headers["X-Test-Workspace"])
    assert ok(session.get(path))["id"] == s["id"]
    assert ok(session.post(f"{path}/pause"))["enabled"] is False
    problem(session.post(f"{path}/resume"), 403)
    problem(session.post(f"{path}/run-now"), 403)
    problem(session.patch(path, json={"cron": "0 3 * * *"}), 403)
    assert session.delete(path).status_code == 204


def _downgrade(settings: Settings, workspace_id: str) -> None:
    """Move a workspace to Starter (no service offers it: a test-only write)."""
    from sqlalchemy import update

    from taskhub.store import tables

    hub = TaskHub(settings)
    with hub.store.engine.begin() as c:
        w = tables.workspaces
        c.execute(update(w).where(w.c.id == workspace_id).values(plan="starter"))
    hub.close()


def test_no_key_is_a_401(api_url: str) -> None:
    with httpx.Client(base_url=api_url) as anonymous:
        problem(anonymous.get("/api/v1/schedules"), 401)
        problem(anonymous.post("/api/v1/schedules", json=NIGHTLY), 401)
