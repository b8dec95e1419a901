"""The task history over real HTTP: where each task came from (a link), bulk Cancel and Retry
through a confirmation page (ticked ids, or every match of the filter, capped), and the rows
fragment the page re-fetches as tasks change. Assertions read the HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from taskhub import Settings, TaskHub
from taskhub.domain.canvas import chain, sig
from taskhub.domain.paging import TaskFilter
from taskhub.domain.states import Status, TaskType
from taskhub.domain.submissions import Submission

from .web_support import csrf_of, new_account, sign_in, task_ids


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    """Submissions stay pending (no worker consumes the queue)."""
    hub = TaskHub(idle_settings)
    yield hub
    hub.close()


def count_of(page: httpx.Response) -> int:
    """The number the confirmation page says the action will take."""
    found = re.search(r'data-count="(\d+)"', page.text)
    assert found, page.text
    return int(found.group(1))


def confirm(session: httpx.Client, url: str) -> httpx.Response:
    """Open the confirmation page at ``url`` and press its button (the form's POST)."""
    shown = session.get(url)
    assert shown.status_code == 200, shown.text
    action = re.search(r'<form class="actions bulk-go" method="post" action="([^"]+)"', shown.text)
    assert action, shown.text
    return session.post(html.unescape(action.group(1)), data={"csrf_token": csrf_of(shown)})


def statuses(hub: TaskHub, workspace_id: str, ids: list[str]) -> list[Status]:
    return [hub.tasks.get(workspace_id, ident).status for ident in ids]


# -- the history's columns -------------------------------------------------------------------------


def test_each_task_links_to_what_started_it(idle_api_url: str, idle_hub: TaskHub) -> None:
    account = new_account(idle_hub, plan="enterprise")
    ws = account.workspace_id
    plain = idle_hub.tasks.submit(ws, "tests.noop")
    nightly = Submission(type=TaskType.SCHEDULED, origin="schedule:sch_1")
    scheduled = idle_hub.tasks.submit(ws, "tests.noop", None, nightly)
    hooked = Submission(type=TaskType.TRIGGERED, origin="trigger:trg 2")
    triggered = idle_hub.tasks.submit(ws, "tests.noop", None, hooked)
    flow = chain(sig("tests.echo", {"value": 1}, name="a"), sig("tests.echo", name="b"))
    pipeline = idle_hub.pipelines.submit(ws, flow, name="two steps")
    with sign_in(idle_api_url, account.key) as session:
        page = session.get("/")
    assert page.status_code == 200
    assert set(task_ids(page)) >= {plain.id, scheduled.id, triggered.id}
    assert '<a class="origin origin-definition" href="/definitions/tests.noop">' in page.text
    assert '<a class="origin origin-schedule" href="/schedules/sch_1">schedule:sch_1' in page.text
    assert 'href="/triggers/trg%202">trigger:trg 2' in page.text
    assert f'href="/pipelines/{pipeline.id}">pipeline:{pipeline.id}' in page.text


# -- bulk actions: what the confirmation says ----------------------------------------------------


def test_the_confirmation_counts_the_ticked_tasks_and_lists_them(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    ids = idle_hub.tasks.submit_many(account.workspace_id, "tests.noop", [{}] * 3)
    with sign_in(idle_api_url, account.key) as session:
        history = session.get("/")
        assert '<form id="bulk" method="get" action="/bulk/cancel"' in history.text
        assert 'formaction="/bulk/retry"' in history.text
        assert f'form="bulk" name="ids" value="{ids[0]}"' in history.text
        assert "all 3 matching this filter" in history.text
        page = session.get("/bulk/cancel", params={"ids": ids[:2], "select": "rows"})
    assert page.status_code == 200
    assert count_of(page) == 2 and "2</strong> selected tasks?" in page.text
    assert ids[0] in page.text and ids[1] in page.text and ids[2] not in page.text
    assert "Cancel 2 tasks</button>" in page.text


def test_the_confirmation_counts_every_match_of_the_filter(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    ws = account.workspace_id
    ids = idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 12)
    idle_hub.tasks.act(ws, "cancel", idle_hub.tasks.submit(ws, "tests.noop").id)
    with sign_in(idle_api_url, account.key) as session:
        # as the history's form sends it: one row ticked, and "all 12 matching this filter"
        every = session.get(f"/bulk/cancel?status=pending&select=rows&ids={ids[0]}&all=1")
        assert count_of(every) == 12 and "all matching status pending?" in every.text
        assert "and 2 more" in every.text  # ten listed by name
        link = session.get("/bulk/retry?status=cancelled")  # no ids: the filter's matches
        assert count_of(link) == 1 and "1</strong> task:" in link.text
        none = session.get("/bulk/retry?status=failed&error_type=KeyError")
        assert "No task matches status failed, error type <code>KeyError</code>" in none.text
        assert "bulk-go" not in none.text


def test_more_matches_than_a_bulk_action_takes_are_capped_and_it_says_so(
    idle_api_url: str, idle_hub: TaskHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("taskhub.services.tasks.BULK_MAX", 3)
    account = new_account(idle_hub)
    ws = account.workspace_id
    ids = idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 5)
    with sign_in(idle_api_url, account.key) as session:
        page = session.get("/bulk/cancel?status=pending")
        assert count_of(page) == 3
        assert "5 tasks match, but one bulk action takes at most 3" in page.text
        done = confirm(session, "/bulk/cancel?status=pending")
    assert done.status_code == 200
    assert 'data-changed="3"' in done.text and "5 tasks matched" in done.text
    assert statuses(idle_hub, ws, ids) == [Status.PENDING] * 2 + [Status.CANCELLED] * 3


def test_a_selection_that_is_not_one_is_refused_naming_the_field(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    with sign_in(idle_api_url, account.key) as session:
        nothing = session.get("/bulk/cancel?select=rows&status=pending")
        assert nothing.status_code == 422 and "ids: no task selected" in nothing.text
        bad = session.get("/bulk/retry?status=lost")
        assert bad.status_code == 422 and "status: must be one of" in bad.text
        unknown = session.get("/bulk/explode")
        assert unknown.status_code == 404 and "no bulk action" in unknown.text


# -- bulk actions: doing them ----------------------------------------------------------------------


def test_confirming_cancels_exactly_the_ticked_tasks_and_reports_the_skipped(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    ws = account.workspace_id
    first, second, untouched = idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 3)
    finished = idle_hub.tasks.submit(ws, "tests.noop").id
    idle_hub.tasks.act(ws, "cancel", finished)
    picked = [first, second, finished]
    with sign_in(idle_api_url, account.key) as session:
        done = confirm(session, "/bulk/cancel?" + "&".join(f"ids={i}" for i in picked))
    assert done.status_code == 200, done.text
    assert 'data-changed="2"' in done.text and 'data-skipped="1"' in done.text
    assert f'href="/tasks/{finished}">{finished}</a></td><td>it is cancelled' in done.text
    assert statuses(idle_hub, ws, [first, second, untouched]) == [
        Status.CANCELLED,
        Status.CANCELLED,
        Status.PENDING,
    ]


def test_a_long_list_of_skipped_tasks_shows_the_first_few_and_counts_the_rest(
    idle_api_url: str, idle_hub: TaskHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("taskhub.web.bulk.SKIPPED_SHOWN", 2)  # the server runs in this process
    account = new_account(idle_hub)
    ws = account.workspace_id
    ids = idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 5)  # pending: none can be retried
    with sign_in(idle_api_url, account.key) as session:
        done = confirm(session, "/bulk/retry?" + "&".join(f"ids={i}" for i in ids))
    assert 'data-changed="0"' in done.text and 'data-skipped="5"' in done.text
    assert done.text.count("</td></tr>") == 2 and "and 3 more skipped" in done.text
    assert statuses(idle_hub, ws, ids) == [Status.PENDING] * 5


def test_confirming_retries_every_task_the_filter_matches(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    ws = account.workspace_id
    ids = idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 4)
    for ident in ids[:3]:
        idle_hub.tasks.act(ws, "cancel", ident)
    with sign_in(idle_api_url, account.key) as session:
        done = confirm(session, "/bulk/retry?status=cancelled")
        assert 'data-changed="3"' in done.text and "skipped" not in done.text
        assert 'href="/?status=cancelled">Back to the tasks' in done.text
    assert statuses(idle_hub, ws, ids) == [Status.PENDING] * 4


def test_a_bulk_action_without_the_csrf_token_is_refused(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    ids = idle_hub.tasks.submit_many(account.workspace_id, "tests.noop", [{}] * 2)
    with sign_in(idle_api_url, account.key) as session:
        assert session.post("/bulk/cancel?status=pending").status_code == 403
        forged = session.post(f"/bulk/cancel?ids={ids[0]}", data={"csrf_token": "forged"})
        assert forged.status_code == 403
    assert statuses(idle_hub, account.workspace_id, ids) == [Status.PENDING] * 2


def test_another_workspace_tasks_are_not_found_and_left_alone(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    mine, theirs = new_account(idle_hub), new_account(idle_hub)
    my_task = idle_hub.tasks.submit(mine.workspace_id, "tests.noop").id
    their_tasks = idle_hub.tasks.submit_many(theirs.workspace_id, "tests.noop", [{}] * 2)
    url = f"/bulk/cancel?ids={my_task}&ids={their_tasks[0]}"
    with sign_in(idle_api_url, mine.key) as session:
        shown = session.get(url)
        assert f"<code>{their_tasks[0]}</code> — not found in this workspace" in shown.text
        done = confirm(session, url)
        assert 'data-changed="1"' in done.text and 'data-skipped="1"' in done.text
        assert f"<code>{their_tasks[0]}</code></td><td>not found" in done.text
        every = confirm(session, "/bulk/cancel?all=1")  # all of mine: none of theirs
        assert 'data-changed="0"' in every.text
    assert idle_hub.tasks.get(mine.workspace_id, my_task).status is Status.CANCELLED
    assert statuses(idle_hub, theirs.workspace_id, their_tasks) == [Status.PENDING] * 2


# -- the live rows ---------------------------------------------------------------------------------


def test_the_rows_fragment_keeps_the_filter_and_only_the_first_page_follows(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    ws = account.workspace_id
    pending = idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 3)
    idle_hub.tasks.act(ws, "cancel", idle_hub.tasks.submit(ws, "tests.noop").id)
    with sign_in(idle_api_url, account.key) as session:
        first = session.get("/?status=pending&limit=2")
        follow = 'data-follow hx-get="/?status=pending&amp;limit=2&amp;fragment=rows"'
        assert follow in first.text and 'src="/static/history.js"' in first.text
        rows = session.get("/?status=pending&limit=2&fragment=rows")
        assert rows.status_code == 200 and "<html" not in rows.text
        assert rows.text.lstrip().startswith('<div id="task-rows" data-follow')
        newest = idle_hub.tasks.list_tasks(TaskFilter(ws, status=Status.PENDING), limit=2).items
        assert task_ids(rows) == [r.id for r in newest] and set(task_ids(rows)) < set(pending)
        assert "3 tasks" in rows.text
        second = session.get("/?status=pending&limit=2&skip=2")
        assert 'id="task-rows"' in second.text and "data-follow" not in second.text
        bad = session.get("/?fragment=everything")
        assert bad.status_code == 422 and "fragment" in bad.text
