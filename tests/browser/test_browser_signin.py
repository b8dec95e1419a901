"""In a real browser: signing in, and seeing only your own workspace."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from taskhub import TaskHub
from taskhub.domain.submissions import Submission

from ..web.web_support import Account, new_account
from .browser_support import live, sign_in


def test_a_person_signs_in_and_sees_only_their_workspace_tasks(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    other = new_account(live_hub)
    mine = live_hub.tasks.submit(account.workspace_id, "tests.noop", None, Submission(name="mine"))
    theirs = live_hub.tasks.submit(other.workspace_id, "tests.noop", None, Submission())

    sign_in(page, api_url, account.key)

    expect(page.locator(".workspace")).to_have_text(account.name)
    expect(page.locator(f"a.task-link[href='/tasks/{mine.id}']")).to_be_visible()
    expect(page.locator(f"a.task-link[href='/tasks/{theirs.id}']")).to_have_count(0)
    live(page)
    page.goto(f"{api_url}/tasks/{theirs.id}")
    expect(page.locator("h1")).to_have_text("Not found")


def test_a_wrong_key_stays_on_the_sign_in_page_with_a_reason(page: Page, api_url: str) -> None:
    page.goto(f"{api_url}/login")
    page.fill("#api_key", "thk_not-a-key")
    page.click("button[type=submit]")
    expect(page.locator("[role=alert]")).to_contain_text("not valid")
    page.goto(f"{api_url}/")
    expect(page).to_have_url(f"{api_url}/login")
