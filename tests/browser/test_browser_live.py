"""In a real browser: the workspace's task outcomes arrive live — toasts in the top-right, the
bell's unread count, and the task panel's change log — with no reload, and only for the
signed-in workspace.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from taskhub import Status, TaskHub
from taskhub.domain.submissions import Submission

from ..support import wait_for
from ..web.web_support import Account, new_account
from .browser_support import live, sign_in
from .conftest import snap


def submit(hub: TaskHub, account: Account, task: str, value: object, name: str) -> str:
    return hub.tasks.submit(account.workspace_id, task, value, Submission(name=name)).id


def test_a_failing_task_shows_an_error_toast_and_raises_the_unread_count(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    sign_in(page, api_url, account.key)  # on the task history
    live(page)
    bell = page.locator(".top .bell .unread-count")
    expect(bell).to_have_attribute("data-count", "0")

    task_id = submit(
        live_hub, account, "tests.flaky", {"fail_times": 0, "permanent": True}, "doomed"
    )

    toast = page.locator(f".toast.toast-error[data-task='{task_id}']")
    expect(toast).to_be_visible()
    expect(toast.locator(".toast-title")).to_have_text("Failed: doomed")
    expect(toast.locator(".toast-text")).to_contain_text("PermanentError: this will never work")
    expect(toast.locator("a")).to_have_attribute("href", f"/tasks/{task_id}")
    expect(bell).to_have_text("1")
    snap(page, "error_toast")
    toast.locator(".toast-close").click()
    expect(toast).to_have_count(0)


def test_a_completing_task_shows_a_success_toast_that_goes_away_by_itself(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    page.clock.install()  # runs at real pace until fast-forwarded
    sign_in(page, api_url, account.key)
    live(page)

    task_id = submit(live_hub, account, "tests.echo", {"value": 1}, "fine")

    toast = page.locator(f".toast.toast-success[data-task='{task_id}']")
    expect(toast.locator(".toast-title")).to_have_text("Completed: fine")
    expect(toast.locator(".toast-text")).to_have_count(0)  # a success needs no description
    expect(page.locator(".top .bell .unread-count")).to_have_text("1")
    page.clock.fast_forward(5_000)
    expect(toast).to_be_visible()  # still there after 5 s
    page.clock.fast_forward(2_000)
    expect(toast).to_have_count(0)  # gone after a few seconds


def test_another_workspace_completion_shows_no_toast(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    other = new_account(live_hub)
    sign_in(page, api_url, account.key)
    live(page)

    theirs = submit(live_hub, other, "tests.echo", {"value": 1}, "theirs")
    wait_for(
        lambda: live_hub.tasks.get(other.workspace_id, theirs).status is Status.COMPLETED,
        what="their task to complete",
    )
    mine = submit(live_hub, account, "tests.echo", {"value": 2}, "mine")

    expect(page.locator(f".toast[data-task='{mine}']")).to_be_visible()  # sent after theirs'
    expect(page.locator(".toast")).to_have_count(1)
    expect(page.locator(".top .bell .unread-count")).to_have_text("1")


def test_the_panel_follows_a_new_task_to_completed_and_opens_its_page(
    page: Page, api_url: str, live_hub: TaskHub, account: Account, tmp_path: Path
) -> None:
    sign_in(page, api_url, account.key)
    live(page)
    page.click(".top .panel-toggle")
    panel = page.locator("#task-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".empty")).to_have_text("No tasks yet.")

    gate, started = tmp_path / "gate", tmp_path / "started"
    task_id = submit(
        live_hub, account, "tests.block", {"gate": str(gate), "started": str(started)}, "gated"
    )
    row = panel.locator(f".panel-task[data-task='{task_id}']")
    expect(row).to_have_attribute("data-status", "in_progress")
    expect(row.locator(".badge")).to_have_text("running")
    gate.write_text("go")
    expect(row).to_have_attribute("data-status", "completed")
    expect(row.locator(".badge")).to_have_text("completed")
    snap(page, "task_panel")

    row.locator("a").click()
    expect(page).to_have_url(f"{api_url}/tasks/{task_id}")
