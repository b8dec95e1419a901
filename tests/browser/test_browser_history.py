"""In a real browser, the task history: paging and filters held in the URL, bulk Cancel and
Retry through the confirmation page, and rows that follow the tasks live."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from taskhub import Settings, TaskHub
from taskhub.domain.states import Status
from taskhub.domain.submissions import Submission

from ..web.web_support import Account, new_account
from .browser_support import live, sign_in

ROWS = "#task-rows tbody tr"
# ``n`` task changes, as live.js dispatches them.
CHANGES = """(n) => { for (let i = 0; i < n; i++) document.body.dispatchEvent(
  new CustomEvent("taskhub-task", { detail: { id: "any", status: "pending" } })); }"""
# Notes when this page first hears that a task (besides one) completed.
COMPLETED_AT = """(besides) => document.body.addEventListener("taskhub-task", (event) => {
  const { id, status } = event.detail;
  if (status === "completed" && id !== besides) window.completedAt ??= Date.now();
})"""


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    """Submissions stay pending (no worker consumes the queue)."""
    hub = TaskHub(idle_settings)
    yield hub
    hub.close()


@pytest.fixture
def idle_account(idle_hub: TaskHub) -> Account:
    return new_account(idle_hub, plan="enterprise")


def first_id(page: Page) -> str:
    return page.locator(f"{ROWS} a.task-link").first.inner_text()


def test_next_and_previous_move_through_pages_held_in_the_url(
    page: Page, idle_api_url: str, idle_hub: TaskHub, idle_account: Account
) -> None:
    idle_hub.tasks.submit_many(idle_account.workspace_id, "tests.noop", [{}] * 32)
    sign_in(page, idle_api_url, idle_account.key)
    page.goto(f"{idle_api_url}/?limit=10")
    expect(page.locator(ROWS)).to_have_count(10)
    expect(page.locator("p.count")).to_contain_text("32 tasks")
    seen = [first_id(page)]

    for skip in (10, 20, 30):
        page.click("a[rel=next]")
        expect(page).to_have_url(f"{idle_api_url}/?limit=10&skip={skip}")
        expect(page.locator(ROWS)).to_have_count(10 if skip < 30 else 2)
        seen.append(first_id(page))
    expect(page.locator("a[rel=next]")).to_have_count(0)

    page.click("a[rel=prev]")
    expect(page).to_have_url(f"{idle_api_url}/?limit=10&skip=20")
    assert first_id(page) == seen[2]
    assert len(set(seen)) == 4


def test_a_status_filter_and_a_name_search_survive_a_reload(
    page: Page, idle_api_url: str, idle_hub: TaskHub, idle_account: Account
) -> None:
    ws = idle_account.workspace_id
    report = idle_hub.tasks.submit(ws, "tests.noop", None, Submission(name="Weekly report"))
    other = idle_hub.tasks.submit(ws, "tests.noop", None, Submission(name="Weekly backup"))
    idle_hub.tasks.submit(ws, "tests.noop", None, Submission(name="Daily report"))
    for record in (report, other):
        idle_hub.tasks.act(ws, "cancel", record.id)
    sign_in(page, idle_api_url, idle_account.key)

    page.select_option("form.filters select[name=status]", "cancelled")
    page.fill("form.filters input[name=q]", "report")
    page.click("form.filters button[type=submit]")

    expect(page).to_have_url(re.compile(r"/\?status=cancelled&type=&origin=&q=report$"))
    expect(page.locator(f"{ROWS} a.task-link")).to_have_text([report.id])
    page.reload()
    expect(page.locator("form.filters select[name=status]")).to_have_value("cancelled")
    expect(page.locator("form.filters input[name=q]")).to_have_value("report")
    expect(page.locator(f"{ROWS} a.task-link")).to_have_text([report.id])


def test_two_ticked_rows_are_cancelled_after_a_confirmation_that_says_two(
    page: Page, idle_api_url: str, idle_hub: TaskHub, idle_account: Account
) -> None:
    ws = idle_account.workspace_id
    ids = idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 4)
    sign_in(page, idle_api_url, idle_account.key)

    page.check(f"input[name=ids][value='{ids[0]}']")
    page.check(f"input[name=ids][value='{ids[2]}']")
    page.click("#bulk button[formaction='/bulk/cancel']")
    expect(page.locator(".bulk-count")).to_contain_text("Cancel 2 selected tasks?")
    page.click("button.confirm")

    expect(page.locator(".bulk-changed")).to_have_text("2 tasks cancelled.")
    statuses = [idle_hub.tasks.get(ws, ident).status for ident in ids]
    assert statuses == [Status.CANCELLED, Status.PENDING, Status.CANCELLED, Status.PENDING]


def test_all_matching_the_filter_are_retried_after_a_confirmation_with_the_count(
    page: Page, idle_api_url: str, idle_hub: TaskHub, idle_account: Account
) -> None:
    ws = idle_account.workspace_id
    ids = idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 30)
    for ident in ids[:27]:
        idle_hub.tasks.act(ws, "cancel", ident)
    sign_in(page, idle_api_url, idle_account.key)
    page.goto(f"{idle_api_url}/?status=cancelled")
    expect(page.locator(ROWS)).to_have_count(25)  # a page of 25; 27 match

    page.check("input[name=all]")
    page.click("#bulk button[formaction='/bulk/retry']")
    expect(page.locator(".bulk-count")).to_contain_text("Retry 27 tasks: all matching status")
    page.click("button.confirm")

    expect(page.locator(".bulk-changed")).to_have_text("27 tasks retried.")
    assert {idle_hub.tasks.get(ws, ident).status for ident in ids} == {Status.PENDING}


def test_a_new_task_appears_at_the_top_and_turns_completed_without_a_reload(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    older = live_hub.tasks.submit(account.workspace_id, "tests.noop")
    live_hub.tasks.wait(account.workspace_id, older.id, timeout_s=30)
    sign_in(page, api_url, account.key)
    live(page)
    expect(page.locator(f"{ROWS} a.task-link")).to_have_text([older.id])
    page.evaluate("window.notReloaded = true")

    new = live_hub.tasks.submit(account.workspace_id, "tests.noop", None, Submission(name="fresh"))

    top = page.locator(ROWS).first
    expect(top.locator("a.task-link")).to_have_text(new.id)
    expect(top.locator(".badge")).to_have_text("completed")
    expect(page.locator("p.count")).to_contain_text("2 tasks")
    assert page.evaluate("window.notReloaded") is True


def test_rows_wait_while_a_box_is_ticked_and_catch_up_when_it_is_cleared(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    older = live_hub.tasks.submit(account.workspace_id, "tests.noop")
    live_hub.tasks.wait(account.workspace_id, older.id, timeout_s=30)
    sign_in(page, api_url, account.key)
    live(page)
    box = page.locator(f"input[name=ids][value='{older.id}']")
    box.check()
    page.evaluate(COMPLETED_AT, older.id)

    new = live_hub.tasks.submit(account.workspace_id, "tests.noop")
    # the refresh after the browser heard "completed" was held back, the box still ticked
    page.wait_for_function(
        "window.completedAt && Number(document.getElementById('task-rows').dataset.stale)"
        " >= window.completedAt"
    )
    expect(box).to_be_checked()
    expect(page.locator(f"a.task-link[href='/tasks/{new.id}']")).to_have_count(0)
    box.uncheck()

    top = page.locator(ROWS).first
    expect(top.locator("a.task-link")).to_have_text(new.id)
    expect(top.locator(".badge")).to_have_text("completed")


def test_changes_close_together_refresh_at_most_once_a_second_and_the_last_is_never_lost(
    page: Page, idle_api_url: str, idle_hub: TaskHub, idle_account: Account
) -> None:
    ws = idle_account.workspace_id
    first = idle_hub.tasks.submit(ws, "tests.noop")
    page.route("**/live/events", lambda route: route.abort())  # only the events sent below
    sign_in(page, idle_api_url, idle_account.key)
    fetched: list[float] = []
    page.on(
        "request", lambda r: fetched.append(time.monotonic()) if "fragment=rows" in r.url else None
    )

    second = idle_hub.tasks.submit(ws, "tests.noop")
    page.evaluate(CHANGES, 1)
    expect(page.locator(ROWS).first.locator("a.task-link")).to_have_text(second.id)
    idle_hub.tasks.act(ws, "cancel", first.id)
    page.evaluate(CHANGES, 5)  # within the second after that refresh

    expect(page.locator(f"{ROWS}:has(a[href='/tasks/{first.id}']) .badge")).to_have_text(
        "cancelled"
    )
    assert len(fetched) == 2 and fetched[1] - fetched[0] >= 0.9
