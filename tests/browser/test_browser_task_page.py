"""In a real browser: a task's page following the task live, copying and downloading outputs,
the action buttons, running a new task from the page, and comparing two runs."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from taskhub import TaskHub
from taskhub.domain.submissions import Submission

from ..web.web_support import Account
from .browser_support import live, sign_in


def open_task(page: Page, api_url: str, account: Account, task_id: str) -> None:
    sign_in(page, api_url, account.key)
    page.goto(f"{api_url}/tasks/{task_id}")
    live(page)


def test_a_multi_step_task_goes_from_pending_to_completed_live_without_a_reload(
    page: Page, api_url: str, live_hub: TaskHub, account: Account, scratch: Path
) -> None:
    ws = account.workspace_id
    first_gate, crunch_gate = scratch / "first", scratch / "crunch"
    blocker = live_hub.tasks.submit(
        ws, "tests.block", {"gate": str(first_gate), "started": str(scratch / "blocker")}
    )
    pipeline_input = {"log_path": str(scratch / "log"), "gate": str(crunch_gate)}
    task = live_hub.tasks.submit(ws, "tests.pipeline", pipeline_input, depends_on=[blocker.id])
    try:
        open_task(page, api_url, account, task.id)
        badge, counter = page.locator(".task-status .badge"), page.locator(".step-counter")
        expect(badge).to_have_text("pending")
        expect(counter).to_have_text("Not started: 3 steps")
        page.evaluate("window.stillTheSamePage = true")
        page.locator("details[data-step=fetch] summary").click()  # the person opens a step

        first_gate.touch()  # the task it waits for finishes: it runs, and holds in "crunch"
        expect(counter).to_have_text("Step 2 of 3")
        expect(badge).to_have_text("running")
        expect(page.locator(".step-running .step-name")).to_have_text("crunch")
        expect(page.locator("details[data-step=fetch]")).to_have_attribute("open", "")

        crunch_gate.touch()
        expect(badge).to_have_text("completed")
        expect(counter).to_have_text("Step 3 of 3")
        expect(page.locator(".step-completed")).to_have_count(3)
        expect(page.locator("pre.output")).to_contain_text('"total": 6')
        assert page.evaluate("window.stillTheSamePage") is True  # no reload, no navigation
        assert page.url == f"{api_url}/tasks/{task.id}"
    finally:
        first_gate.touch()
        crunch_gate.touch()


def test_an_output_is_copied_to_the_clipboard_and_downloaded_as_a_file(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    task = live_hub.tasks.submit(account.workspace_id, "tests.outputs")
    live_hub.tasks.wait(account.workspace_id, task.id, timeout_s=30)
    open_task(page, api_url, account, task.id)

    stats = page.get_by_role("tab", name="stats")
    stats.click()
    expect(stats).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel", name="stats")
    expect(panel).to_be_visible()
    panel.get_by_role("button", name="Copy").click()
    expect(panel.locator(".copied")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == '{\n  "rows": 3\n}'

    page.get_by_role("tab", name="notes.txt").click()
    notes = page.get_by_role("tabpanel", name="notes.txt")
    with page.expect_download() as downloading:
        notes.get_by_role("link", name="Download").click()
    download = downloading.value
    assert download.suggested_filename == "notes.txt"
    assert Path(download.path()).read_text() == "hello\n"


def test_a_pending_task_is_cancelled_and_a_failed_one_retried_from_its_buttons(
    page: Page, api_url: str, live_hub: TaskHub, account: Account, scratch: Path
) -> None:
    ws = account.workspace_id
    later = live_hub.tasks.submit(ws, "tests.noop", None, Submission(countdown=3600))
    failing = live_hub.tasks.submit(
        ws, "tests.fails_first", {"log_path": str(scratch / "log"), "failures": 2}
    )
    assert live_hub.tasks.wait(ws, failing.id, timeout_s=30).status == "failed"

    open_task(page, api_url, account, later.id)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".task-status .badge")).to_have_text("cancelled")
    assert live_hub.tasks.get(ws, later.id).status == "cancelled"

    page.goto(f"{api_url}/tasks/{failing.id}")
    live(page)
    expect(page.locator(".failure")).to_contain_text("ConnectionError")
    expect(page.locator(".attempts tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    page.get_by_role("button", name="Retry").click()
    expect(page.locator(".task-status .badge")).to_have_text("completed")  # followed live
    assert live_hub.tasks.get(ws, failing.id).run == 2


def test_a_new_task_run_from_the_box_at_the_bottom_lands_on_its_page(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    first = live_hub.tasks.submit(account.workspace_id, "tests.echo", {"value": 1})
    open_task(page, api_url, account, first.id)
    box = page.get_by_label("Input (JSON)")
    expect(box).to_have_value('{\n  "value": 1\n}')

    box.fill('{"value": "from the box"')
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_role("alert")).to_contain_text("input: is not valid JSON")
    page.get_by_label("Input (JSON)").fill('{"value": "from the box"}')
    page.get_by_role("button", name="Run").click()

    expect(page).to_have_url(re.compile(r"/tasks/(?!" + first.id + r")[0-9a-f-]{36}$"))
    new_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_have_text(f"{account.name} / {new_id}")
    assert live_hub.tasks.get(account.workspace_id, new_id).input == {"value": "from the box"}


def test_two_runs_compared_show_their_differences_marked(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    ws = account.workspace_id
    a = live_hub.tasks.submit(ws, "tests.echo", {"value": {"city": "Oslo", "rows": 2}})
    b = live_hub.tasks.submit(ws, "tests.echo", {"value": {"city": "Oslo", "rows": 5}})
    for record in (a, b):
        live_hub.tasks.wait(ws, record.id, timeout_s=30)
    open_task(page, api_url, account, a.id)

    page.get_by_label("Compare with…").select_option(b.id)
    page.get_by_role("button", name="Compare").click()

    expect(page).to_have_url(f"{api_url}/compare?a={a.id}&b={b.id}")
    changed = page.locator("table.diff tr.diff-changed")
    expect(changed).to_have_count(2)  # the input's line and the output's
    expect(changed.first.locator("del")).to_have_text(re.compile(r'^\s*"rows": 2$'))
    expect(changed.first.locator("ins")).to_have_text(re.compile(r'^\s*"rows": 5$'))
    expect(page.locator("table.diff tr.diff-same").first).to_contain_text("{")
