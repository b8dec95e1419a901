"""The overview and ops pages over real HTTP, on the real API app: the SVG charts (one bar per
hour), the Flower link from settings, ``?hours=`` validation, failures grouped by exception
and "retry all of these" (the link leads to the history's bulk confirmation with the count,
whose POST with the CSRF token retries exactly that group), each workspace seeing only its
own. Assertions read the HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from taskhub import Settings, TaskHub
from taskhub.domain.clock import now
from taskhub.domain.states import Status

from ..api.api_support import serving
from ..stats_support import Row, put, ran
from .web_support import browser, csrf_of, new_account, sign_in

FLOWER = "http://flower.internal:5555/flower"
BUCKET = re.compile(r'<g class="bucket">')


@pytest.fixture(scope="module")
def ops_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    """Tasks stay pending (nothing consumes the queue); Flower is somewhere of our choosing."""
    hub = TaskHub(idle_settings.model_copy(update={"flower_url": FLOWER}))
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def ops_url(ops_hub: TaskHub) -> Iterator[str]:
    with serving(ops_hub) as url:
        yield url


def chart(page: str, chart_id: str) -> str:
    found = re.search(rf'<svg id="{chart_id}".*?</svg>', page, re.S)
    assert found, page
    return found.group(0)


def statuses(hub: TaskHub, workspace_id: str, *ids: str) -> list[Status]:
    return [hub.tasks.get(workspace_id, ident).status for ident in ids]


def failure_group(ops_page: str, error_type: str) -> str:
    """The ops page's row for the failures with ``error_type``."""
    row = rf'<tr class="failure-group" data-error-type="{error_type}">.*?</tr>'
    group = re.search(row, ops_page, re.S)
    assert group, ops_page
    return group.group(0)


def retry_all_link(ops_page: str, error_type: str) -> str:
    """Where that row's "Retry all of these" goes, as a person clicking it would."""
    found = re.search(r'class="retry-all" href="([^"]+)"', failure_group(ops_page, error_type))
    assert found, ops_page
    return html.unescape(found.group(1))


def count_of(confirmation: httpx.Response) -> int:
    """The number the bulk confirmation says the action will take."""
    found = re.search(r'data-count="(\d+)"', confirmation.text)
    assert found, confirmation.text
    return int(found.group(1))


def form_action(confirmation: httpx.Response) -> str:
    """Where the confirmation's button posts."""
    form = r'<form class="actions bulk-go" method="post" action="([^"]+)"'
    found = re.search(form, confirmation.text)
    assert found, confirmation.text
    return html.unescape(found.group(1))


# -- the overview -------------------------------------------------------------------------------


def test_the_overview_draws_one_bar_per_hour_and_counts_by_status(
    ops_url: str, ops_hub: TaskHub
) -> None:
    me = new_account(ops_hub)
    at = now()
    for _ in range(3):
        put(ops_hub, ran(Status.COMPLETED, at, 2), me.workspace_id)
    put(ops_hub, ran(Status.FAILED, at, 1, error_type="E"), me.workspace_id)
    put(ops_hub, Row(Status.PENDING), me.workspace_id)

    with sign_in(ops_url, me.key) as session:
        page = session.get("/overview")
        assert page.status_code == 200, page.text
        bars = chart(page.text, "throughput-chart")
        assert 'data-buckets="24"' in bars and len(BUCKET.findall(bars)) == 24
        assert "tasks / hour" in bars and "hour (UTC)" in bars  # the axes are labelled
        assert "3 completed, 1 failed" in bars  # the current hour's bar
        rate = chart(page.text, "failure-rate-chart")
        assert 'data-buckets="24"' in rate and "25% of 4 failed" in rate
        assert '<strong class="count-completed">3</strong>' in page.text
        assert '<strong class="count-pending">1</strong>' in page.text
        assert '<strong class="failure-rate">25.0%</strong>' in page.text
        assert "<script" not in bars + rate  # drawn by the server

        six = session.get("/overview", params={"hours": "6"})
        assert six.status_code == 200
        assert len(BUCKET.findall(chart(six.text, "throughput-chart"))) == 6
        week = session.get("/overview?hours=168")
        assert len(BUCKET.findall(chart(week.text, "throughput-chart"))) == 168


def test_the_overview_links_to_flower_where_the_settings_say(
    ops_url: str, ops_hub: TaskHub
) -> None:
    me = new_account(ops_hub)
    with sign_in(ops_url, me.key) as session:
        page = session.get("/overview")
    assert f'class="flower-link" href="{FLOWER}"' in page.text
    assert '<a href="/overview">Overview</a>' in page.text and '<a href="/ops">Ops</a>' in page.text


@pytest.mark.parametrize("path", ["/overview", "/ops"])
def test_hours_out_of_range_or_not_a_number_is_a_422_naming_hours(
    ops_url: str, ops_hub: TaskHub, path: str
) -> None:
    me = new_account(ops_hub)
    with sign_in(ops_url, me.key) as session:
        for bad in ("0", "169", "abc", "-1", "2.5"):
            reply = session.get(path, params={"hours": bad})
            assert reply.status_code == 422, (path, bad)
            assert "hours: must be" in reply.text, reply.text
        assert session.get(path, params={"hours": "1"}).status_code == 200


def test_signed_out_the_new_pages_redirect_to_sign_in(ops_url: str) -> None:
    with browser(ops_url) as session:
        for path in ("/overview", "/ops", "/bulk/retry?status=failed&error_type=E"):
            reply = session.get(path)
            assert reply.status_code == 303 and reply.headers["location"] == "/login", path
        assert session.post("/bulk/retry?status=failed&error_type=E").status_code == 303


# -- ops -----------------------------------------------------------------------------------------


def test_ops_shows_run_times_and_the_oldest_waiting_task_per_queue(
    ops_url: str, ops_hub: TaskHub
) -> None:
    me = new_account(ops_hub)
    at = now()
    for seconds in (1, 2, 3, 4):
        put(ops_hub, ran(Status.COMPLETED, at, seconds, task="tests.echo"), me.workspace_id)
    queue = ops_hub.settings.default_queue
    put(ops_hub, Row(Status.PENDING, dispatched=at - timedelta(minutes=3)), me.workspace_id)

    with sign_in(ops_url, me.key) as session:
        page = session.get("/ops").text

    row = re.search(r'<tr data-task="tests.echo">.*?</tr>', page, re.S)
    assert row, page
    assert '<td class="completed">4</td>' in row.group(0)
    assert '<td class="p50">2.5 s</td>' in row.group(0)  # between 2 and 3
    waiting = re.search(rf'<tr data-queue="{queue}">.*?</tr>', page, re.S)
    assert waiting, page
    assert '<td class="waiting">1</td>' in waiting.group(0)
    assert '<td class="oldest">3.0 min</td>' in waiting.group(0)
    assert re.search(r'<td class="depth">[\d,]+</td>', waiting.group(0))  # from the broker


def test_retry_all_of_an_exception_confirms_the_count_then_retries_exactly_that_group(
    ops_url: str, ops_hub: TaskHub
) -> None:
    me = new_account(ops_hub)
    at = now()
    values = [
        put(
            ops_hub,
            ran(
                Status.FAILED,
                at - timedelta(minutes=n),
                1,
                error_type="ValueError",
                message=f"bad value {n}",
            ),
            me.workspace_id,
        )
        for n in (1, 2, 3)
    ]
    key = put(
        ops_hub, ran(Status.FAILED, at, 1, error_type="KeyError", message="k"), me.workspace_id
    )

    with sign_in(ops_url, me.key) as session:
        # The failures are grouped by exception, each linked to its history and its retry.
        page = session.get("/ops").text
        group = failure_group(page, "ValueError")
        assert '<td class="count">3</td>' in group
        assert "bad value 1" in group  # the newest one's message
        assert 'href="/?status=failed&amp;error_type=ValueError"' in group
        retry = retry_all_link(page, "ValueError")
        assert retry == "/bulk/retry?status=failed&error_type=ValueError"

        # The history's bulk confirmation says how many, names the exception, and changes
        # nothing yet.
        confirm = session.get(retry)
        assert confirm.status_code == 200, confirm.text
        assert count_of(confirm) == 3
        assert "all matching status failed, error type <code>ValueError</code>?" in confirm.text
        assert "with its whole retry budget" in confirm.text
        assert 'href="/?status=failed&amp;error_type=ValueError">Back to the tasks' in confirm.text
        assert statuses(ops_hub, me.workspace_id, *values, key) == [Status.FAILED] * 4

        # Confirmed: those three run again, the KeyError stays failed.
        done = session.post(form_action(confirm), data={"csrf_token": csrf_of(confirm)})
        assert done.status_code == 200, done.text
        assert 'data-changed="3"' in done.text and "skipped" not in done.text
        assert 'href="/?status=pending">Pending tasks</a>' in done.text
    assert statuses(ops_hub, me.workspace_id, *values) == [Status.PENDING] * 3
    assert [ops_hub.tasks.get(me.workspace_id, v).run for v in values] == [2, 2, 2]
    assert statuses(ops_hub, me.workspace_id, key) == [Status.FAILED]


def test_retry_all_takes_every_failure_of_the_exception_not_only_the_pages_hours(
    ops_url: str, ops_hub: TaskHub
) -> None:
    me = new_account(ops_hub)
    at = now()
    ws = me.workspace_id
    recent = put(ops_hub, ran(Status.FAILED, at, 1, error_type="E"), ws)
    stale = put(ops_hub, ran(Status.FAILED, at - timedelta(hours=30), 1, error_type="E"), ws)
    with sign_in(ops_url, me.key) as session:
        page = session.get("/ops").text  # the last 24 hours
        assert '<td class="count">1</td>' in failure_group(page, "E")
        confirm = session.get(retry_all_link(page, "E"))
        assert count_of(confirm) == 2  # it says so before anything runs
        session.post(form_action(confirm), data={"csrf_token": csrf_of(confirm)})
    assert statuses(ops_hub, me.workspace_id, recent, stale) == [Status.PENDING] * 2


def test_more_failures_than_a_bulk_action_takes_are_capped_and_it_says_so(
    ops_url: str, ops_hub: TaskHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("taskhub.services.tasks.BULK_MAX", 2)  # the server runs in this process
    me = new_account(ops_hub)
    ws, at = me.workspace_id, now()
    failed = [
        put(ops_hub, ran(Status.FAILED, at - timedelta(minutes=n), 1, error_type="E"), ws)
        for n in (3, 2, 1)  # oldest first
    ]
    with sign_in(ops_url, me.key) as session:
        confirm = session.get(retry_all_link(session.get("/ops").text, "E"))
        assert count_of(confirm) == 2
        assert "3 tasks match, but one bulk action takes at most 2" in confirm.text
        done = session.post(form_action(confirm), data={"csrf_token": csrf_of(confirm)})
        assert 'data-changed="2"' in done.text and "3 tasks matched" in done.text
    assert statuses(ops_hub, me.workspace_id, *failed) == [Status.FAILED] + [Status.PENDING] * 2


def test_retry_all_without_the_csrf_token_is_refused(ops_url: str, ops_hub: TaskHub) -> None:
    me = new_account(ops_hub)
    failed = put(ops_hub, ran(Status.FAILED, now(), 1, error_type="ValueError"), me.workspace_id)
    with sign_in(ops_url, me.key) as session:
        confirm = session.get(retry_all_link(session.get("/ops").text, "ValueError"))
        for token in (None, "forged"):
            data = {"csrf_token": token} if token else {}
            assert session.post(form_action(confirm), data=data).status_code == 403
    assert statuses(ops_hub, me.workspace_id, failed) == [Status.FAILED]


def test_each_workspace_sees_and_retries_only_its_own_failures(
    ops_url: str, ops_hub: TaskHub
) -> None:
    me, other = new_account(ops_hub), new_account(ops_hub)
    at = now()
    mine = put(
        ops_hub, ran(Status.FAILED, at, 1, error_type="OSError", message="mine"), me.workspace_id
    )
    theirs = [
        put(
            ops_hub,
            ran(Status.FAILED, at, 1, error_type="OSError", message="theirs"),
            other.workspace_id,
        )
        for _ in range(2)
    ]
    put(ops_hub, ran(Status.COMPLETED, at, 1, task="tests.echo"), other.workspace_id)

    with sign_in(ops_url, me.key) as session:
        page = session.get("/ops").text
        assert "theirs" not in page and "tests.echo" not in page
        assert '<td class="count">1</td>' in page
        overview = session.get("/overview").text
        assert '<strong class="count-failed">1</strong>' in overview
        assert '<strong class="count-completed">0</strong>' in overview
        confirm = session.get(retry_all_link(page, "OSError"))
        assert count_of(confirm) == 1
        assert mine in confirm.text and theirs[0] not in confirm.text
        session.post(form_action(confirm), data={"csrf_token": csrf_of(confirm)})

    assert statuses(ops_hub, me.workspace_id, mine) == [Status.PENDING]
    assert statuses(ops_hub, other.workspace_id, *theirs) == [Status.FAILED] * 2
