"""Listing (paging, cursors, filters) and bulk actions over real HTTP, on pending tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from taskhub import Settings, TaskHub, TaskType
from taskhub.domain.submissions import Submission
from taskhub.services import tasks as service

from .api_tasks_support import created, problem

Api = Callable[..., httpx.Client]


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    """A hub whose submissions stay pending, for writing into an API workspace directly."""
    hub = TaskHub(idle_settings)
    yield hub
    hub.close()


def page(session: httpx.Client, query: str = "") -> dict[str, Any]:
    reply = session.get(f"/api/v1/tasks?{query}")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def test_paging_by_cursor_and_by_skip_walks_every_task_once(
    idle_api: Api, idle_hub: TaskHub
) -> None:
    session = idle_api()
    workspace_id = session.headers["X-Test-Workspace"]
    idle_hub.tasks.submit_many(workspace_id, "tests.noop", [{}] * 30)
    everything = page(session, "limit=100")
    assert everything["total"] == 30 and everything["next_cursor"] is None
    newest_first = ids(everything)
    created_at = [item["created_at"] for item in everything["items"]]
    assert created_at == sorted(created_at, reverse=True)

    walked, sizes, cursor = [], [], None
    while True:
        body = page(session, "limit=7" + (f"&after={cursor}" if cursor else ""))
        assert (body["total"], body["limit"], body["skip"]) == (30, 7, 0)
        walked += ids(body)
        sizes.append(len(body["items"]))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == newest_first and len(set(walked)) == 30
    assert sizes == [7, 7, 7, 7, 2]

    by_skip = [ids(page(session, f"limit=7&skip={skip}")) for skip in range(0, 30, 7)]
    assert [ident for chunk in by_skip for ident in chunk] == newest_first
    assert ids(page(session, "limit=7&offset=14")) == by_skip[2]
    assert page(session, "limit=7&offset=14")["skip"] == 14
    assert ids(page(session, "limit=7&skip=14&offset=14")) == by_skip[2]
    assert page(session, "limit=7&skip=28")["next_cursor"] is None
    default = page(session)
    assert default["limit"] == 25 and len(default["items"]) == 25 and default["next_cursor"]


def test_a_new_task_does_not_shift_a_cursor_walk(idle_api: Api) -> None:
    session = idle_api()
    first = [created(session)["id"] for _ in range(3)]
    body = page(session, "limit=2")
    created(session)  # arrives while the client pages
    rest = page(session, f"limit=2&after={body['next_cursor']}")
    assert ids(body) + ids(rest) == first[::-1]
    assert rest["next_cursor"] is None and rest["total"] == 4


def test_a_bounded_count_says_the_total_is_at_least_that(idle_api: Api) -> None:
    session = idle_api()
    for _ in range(3):
        created(session)

    exact = page(session, "limit=1")
    bounded = page(session, "limit=1&count_up_to=2")
    roomy = page(session, "limit=1&count_up_to=10")

    assert (exact["total"], exact["total_exact"]) == (3, True)
    assert (bounded["total"], bounded["total_exact"]) == (2, False)  # "2 or more"
    assert (roomy["total"], roomy["total_exact"]) == (3, True)
    assert ids(bounded) == ids(exact) and bounded["next_cursor"] is not None
    problem(session.get("/api/v1/tasks?count_up_to=0"), 422, "count_up_to")


def test_filters_narrow_the_list_and_its_total(idle_api: Api, idle_hub: TaskHub) -> None:
    session = idle_api()
    workspace_id = session.headers["X-Test-Workspace"]
    sales = created(session, "tests.echo", name="Daily SALES report – US")
    other = created(session, "tests.noop", name="Nightly 100% cleanup")
    triggered = idle_hub.tasks.submit(
        workspace_id,
        "tests.noop",
        None,
        Submission(name="From a hook", type=TaskType.TRIGGERED, origin="hook-a"),
    )
    cancelled = created(session, "tests.echo", name="Sales EU")
    session.post(f"/api/v1/tasks/{cancelled['id']}/cancel").raise_for_status()

    def found(query: str) -> set[str]:
        body = page(session, query)
        assert body["total"] == len(body["items"])
        return set(ids(body))

    assert found("status=cancelled") == {cancelled["id"]}
    assert found("status=pending") == {sales["id"], other["id"], triggered.id}
    assert found("type=triggered") == {triggered.id}
    assert found("type=manual") == {sales["id"], other["id"], cancelled["id"]}
    assert found("origin=hook-a") == {triggered.id}
    assert found("task=tests.echo") == {sales["id"], cancelled["id"]}
    assert found("q=sales") == {sales["id"], cancelled["id"]}  # any case
    assert found("q=100%25") == {other["id"]}  # % is a character, not a wildcard
    assert found("q=0%25") == {other["id"]} and found("q=_") == set()
    assert found("task=tests.echo&status=pending&q=daily") == {sales["id"]}
    after, before = other["created_at"], cancelled["created_at"]
    assert found(f"created_after={_q(after)}") == {triggered.id, cancelled["id"]}
    assert found(f"created_before={_q(after)}") == {sales["id"]}
    assert found(f"created_after={_q(sales['created_at'])}&created_before={_q(before)}") == {
        other["id"],
        triggered.id,
    }
    naive = after.replace("Z", "").replace("+00:00", "")  # no offset: UTC
    assert found(f"created_after={_q(naive)}") == {triggered.id, cancelled["id"]}


def _q(value: str) -> str:
    return value.replace("+", "%2B")


# -- bulk ---------------------------------------------------------------------------------------


def bulk(session: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = session.post("/api/v1/tasks/bulk", json=body)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def test_bulk_by_ids_says_what_it_skipped_and_why(idle_api: Api) -> None:
    session = idle_api()
    waiting = [created(session)["id"] for _ in range(3)]
    done = created(session)["id"]
    session.post(f"/api/v1/tasks/{done}/cancel").raise_for_status()
    result = bulk(session, action="cancel", ids=[*waiting, done, "no-such-task", waiting[0]])
    assert result == {
        "action": "cancel",
        "changed": 3,
        "skipped": [
            {"id": done, "reason": "it is cancelled"},
            {"id": "no-such-task", "reason": "not found"},
        ],
        "matched": 5,
        "capped": False,
        "max_tasks": 10_000,
    }
    assert page(session, "status=cancelled")["total"] == 4
    retried = bulk(session, action="retry", ids=waiting)
    assert retried["changed"] == 3 and retried["skipped"] == []
    assert page(session, "status=pending")["total"] == 3


def test_bulk_by_filter_acts_on_what_the_filter_selects(idle_api: Api) -> None:
    session = idle_api()
    echoes = {created(session, "tests.echo")["id"] for _ in range(3)}
    noop = created(session)["id"]
    paused = bulk(session, action="pause", filter={"task": "tests.echo"})
    assert (paused["changed"], paused["matched"], paused["skipped"]) == (3, 3, [])
    assert set(ids(page(session, "status=paused"))) == echoes
    again = bulk(session, action="pause", filter={"task": "tests.echo"})
    assert again["changed"] == 0
    assert sorted(s["reason"] for s in again["skipped"]) == ["it is paused"] * 3
    resumed = bulk(session, action="resume", filter={"status": "paused"})
    assert resumed["changed"] == 3
    assert set(ids(page(session, "status=pending"))) == echoes | {noop}


def test_bulk_by_filter_is_capped(idle_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    session = idle_api()
    everyone = [created(session)["id"] for _ in range(5)]
    monkeypatch.setattr(service, "BULK_MAX", 3)  # the server runs in this process
    result = bulk(session, action="cancel", filter={})
    assert (result["changed"], result["matched"], result["capped"]) == (3, 5, True)
    assert result["max_tasks"] == 3
    assert set(ids(page(session, "status=cancelled"))) == set(everyone[2:])  # the newest
    problem(session.post("/api/v1/tasks/bulk", json={"action": "cancel", "ids": everyone}), 422)


BULK_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"action": "cancel"}, "ids"),
    ({"action": "cancel", "ids": ["a"], "filter": {}}, "ids"),
    ({"action": "cancel", "ids": []}, "ids"),
    ({"action": "delete", "ids": ["a"]}, "action"),
    ({"action": "cancel", "ids": "a"}, "ids"),
    ({"action": "cancel", "filter": {"stauts": "failed"}}, "filter.stauts"),
    ({"action": "cancel", "filter": {"status": "done"}}, "filter.status"),
]


@pytest.mark.parametrize(("body", "field"), BULK_ERRORS)
def test_bad_bulk_requests_are_422(idle_api: Api, body: dict[str, Any], field: str) -> None:
    problem(idle_api().post("/api/v1/tasks/bulk", json=body), 422, field)


# -- workspaces ---------------------------------------------------------------------------------


def test_another_workspace_sees_nothing_of_a_task(idle_api: Api) -> None:
    owner, stranger = idle_api(), idle_api("enterprise")
    task_id = created(owner)["id"]
    base = f"/api/v1/tasks/{task_id}"
    for path in (base, f"{base}/outputs/result", f"{base}/events"):
        body = problem(stranger.get(path), 404)
        assert body["detail"] == problem(stranger.get(path.replace(task_id, "x" * 36)), 404)[
            "detail"
        ].replace("x" * 36, task_id)
    for action in ("cancel", "pause", "resume", "retry"):
        problem(stranger.post(f"{base}/{action}"), 404)
    assert page(stranger)["total"] == 0 and page(stranger, "q=&task=tests.noop")["items"] == []
    by_ids = bulk(stranger, action="pause", ids=[task_id])
    assert by_ids["changed"] == 0 and by_ids["skipped"] == [{"id": task_id, "reason": "not found"}]
    assert bulk(stranger, action="cancel", filter={})["matched"] == 0
    owned = page(owner)["items"]
    assert [(t["id"], t["status"]) for t in owned] == [(task_id, "pending")]  # untouched
