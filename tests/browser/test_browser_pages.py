"""In a real browser: a schedule paused and resumed from its list, run now (the new task's page
opens), and a pipeline's graph whose nodes turn completed live while the worker runs them."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from taskhub import TaskHub
from taskhub.domain.schedule_records import ScheduleSpec

from ..web.web_support import Account
from .browser_support import live, sign_in
from .conftest import snap


def test_a_person_pauses_resumes_and_runs_a_schedule_from_its_list(
    page: Page, api_url: str, live_hub: TaskHub, account: Account
) -> None:
    workspace = live_hub.accounts.identify(account.key)[0]
    spec = ScheduleSpec("Nightly echo", "tests.echo", "30 2 * * *", input={"value": "hi"})
    schedule = live_hub.schedules.create(workspace, spec)
    sign_in(page, api_url, account.key)

    page.click("nav.areas >> text=Schedules")
    row = page.locator(f"tr[data-schedule='{schedule.id}']")
    expect(row.locator(".cron-words")).to_have_text("At 02:30 AM")
    row.locator("button.action-pause").click()
    expect(row.locator(".state")).to_have_text("paused")
    expect(row.locator(".next-run")).to_have_text("—")
    row.locator("button.action-resume").click()
    expect(row.locator(".state")).to_have_text("enabled")

    row.locator("button.action-run-now").click()
    expect(page).to_have_url(re.compile(r"/tasks/[^/]+$"))
    task_id = page.url.rsplit("/", 1)[1]
    assert live_hub.schedules.get(workspace.id, schedule.id).last_task_id == task_id
    expect(page.locator("h1")).to_contain_text(task_id)
    expect(page.locator(".facts")).to_contain_text(f"schedule:{schedule.id}")


def test_a_pipeline_graph_turns_completed_live_as_the_worker_runs_it(
    page: Page, api_url: str, live_hub: TaskHub, account: Account, tmp_path: Path
) -> None:
    gate, started = tmp_path / "gate", tmp_path / "started"
    nodes = {
        "extract": {"task": "tests.block", "input": {"gate": str(gate), "started": str(started)}},
        **{f"transform-{i}": {"task": "tests.echo", "after": ["extract"]} for i in range(6)},
        "load": {
            "task": "tests.echo",
            "after": [{"node": f"transform-{i}", "on_failure": "continue"} for i in range(6)],
        },
    }
    pipeline = live_hub.pipelines.submit(account.workspace_id, {"name": "etl", "nodes": nodes})
    sign_in(page, api_url, account.key)

    page.goto(f"{api_url}/pipelines/{pipeline.id}")
    live(page)
    graph = page.locator("svg.graph")
    expect(graph.locator("a.node")).to_have_count(8)
    expect(graph.locator("a.node[data-node='load']")).to_have_attribute("data-status", "pending")
    expect(page.locator("tr[data-node='load']")).to_contain_text("waiting for 6")
    snap(page, "pipeline_graph_waiting")

    gate.write_text("open")  # extract ends; the worker runs the rest; the page follows live
    expect(graph.locator("a.node[data-status='completed']")).to_have_count(8)
    expect(page.locator(".pipeline-status .badge")).to_have_text("completed")
