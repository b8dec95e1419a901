"""In a real browser, with the worker running: failures grouped by exception on the ops page,
"retry all of these" opening the history's bulk confirmation with how many, confirmed, and the
tasks running again; the overview's charts (kept as a screenshot)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from taskhub import TaskHub
from taskhub.domain.states import Status
from taskhub.domain.submissions import Submission

from ..support import wait_for
from ..web.web_support import Account
from .browser_support import sign_in
from .conftest import snap


def test_an_operator_retries_every_task_that_failed_with_one_exception(
    page: Page, api_url: str, live_hub: TaskHub, account: Account, scratch: Path
) -> None:
    ws = account.workspace_id

    def submit(task: str, task_input: dict[str, object]) -> str:
        return live_hub.tasks.submit(ws, task, task_input, Submission()).id

    # Given two tasks that fail both attempts of their first run with a ConnectionError (and
    # succeed when run again), and one that failed with another exception,
    flaky = [
        submit("tests.fails_first", {"log_path": str(scratch / f"{n}.log"), "failures": 2})
        for n in range(2)
    ]
    other = submit("tests.flaky", {"fail_times": 0, "permanent": True})

    def status(task_id: str) -> Status:
        return live_hub.tasks.get(ws, task_id).status

    for task_id in [*flaky, other]:
        wait_for(lambda t=task_id: status(t) is Status.FAILED, what=f"{task_id} to fail")

    # When the operator opens ops, and asks to retry all the ConnectionErrors,
    sign_in(page, api_url, account.key)
    page.click("nav.areas >> text=Ops")
    group = page.locator("tr.failure-group[data-error-type='ConnectionError']")
    expect(group.locator("td.count")).to_have_text("2")
    expect(
        page.locator("tr.failure-group[data-error-type='PermanentError'] td.count")
    ).to_have_text("1")
    snap(page, "ops_failures_by_exception")
    group.locator("a.retry-all").click()

    # then the bulk confirmation says how many before anything runs, and they are confirmed,
    expect(page).to_have_url(f"{api_url}/bulk/retry?status=failed&error_type=ConnectionError")
    expect(page.locator(".bulk-count strong")).to_have_text("2")
    expect(page.locator(".bulk-count code")).to_have_text("ConnectionError")
    assert [status(t) for t in flaky] == [Status.FAILED, Status.FAILED]
    page.click("button.confirm")
    expect(page.locator(".bulk-changed")).to_have_text("2 tasks retried.")

    # Then the worker runs them again, and they complete; the other failure is left alone.
    for task_id in flaky:
        wait_for(lambda t=task_id: status(t) is Status.COMPLETED, what=f"{task_id} to complete")
    assert status(other) is Status.FAILED
    assert [live_hub.tasks.get(ws, t).run for t in flaky] == [2, 2]

    # The overview counts them: 2 completed, 1 failed, drawn per hour.
    page.click("nav.areas >> text=Overview")
    expect(page.locator("strong.count-completed")).to_have_text("2")
    expect(page.locator("strong.count-failed")).to_have_text("1")
    expect(page.locator("#throughput-chart g.bucket")).to_have_count(24)
    expect(page.locator("a.flower-link")).to_have_attribute("href", live_hub.settings.flower_url)
    snap(page, "overview")
