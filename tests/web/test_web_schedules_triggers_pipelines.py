"""The dashboard's schedules, triggers and pipelines pages over real HTTP (HTML asserted): the
lists, a schedule's buttons (with and without the CSRF token), a trigger's webhook URL (and
never its secret), a pipeline's SVG graph, and each workspace seeing only its own records.
Tasks stay pending here (``idle_api_url``: no worker consumes their queue).
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from taskhub import Settings, TaskHub
from taskhub.domain.records import Workspace
from taskhub.domain.schedule_records import ScheduleSpec
from taskhub.domain.states import Status
from taskhub.web.views import source

from .web_support import Account, csrf_of, new_account, sign_in

DIAMOND = {
    "name": "diamond",
    "nodes": {
        "top": {"task": "tests.echo", "input": {"value": "top"}},
        "left": {"task": "tests.echo", "after": ["top"]},
        "right": {"task": "tests.echo", "after": [{"node": "top", "on_failure": "skip"}]},
        "join": {"task": "tests.echo", "after": ["left", "right"]},
    },
}
NODE = re.compile(r'<a class="node node-(\w+)" href="/tasks/([^"]+)" data-node="([^"]+)"')


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    hub = TaskHub(idle_settings)
    yield hub
    hub.close()


def workspace_of(hub: TaskHub, account: Account) -> Workspace:
    return hub.accounts.identify(account.key)[0]


def nightly(hub: TaskHub, account: Account, **changes: object) -> str:
    spec = replace(ScheduleSpec("Nightly echo", "tests.echo", "30 2 * * *"), **changes)
    return hub.schedules.create(workspace_of(hub, account), spec).id


def row_of(page: httpx.Response, marker: str) -> str:
    """The ``<tr>`` of the page that contains ``marker``."""
    assert page.status_code == 200, page.text
    rows = [row for row in page.text.split("<tr") if marker in row]
    assert len(rows) == 1, page.text
    return rows[0]


# -- schedules -----------------------------------------------------------------------------------


def test_the_schedules_list_says_the_cron_in_words_and_when_it_runs_next(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub, plan="growth")
    schedule_id = nightly(idle_hub, account, timezone="Europe/Berlin")
    schedule = idle_hub.schedules.get(account.workspace_id, schedule_id)
    with sign_in(idle_api_url, account.key) as session:
        home = session.get("/")
        assert 'href="/schedules"' in home.text and 'href="/pipelines"' in home.text
        row = row_of(session.get("/schedules"), f'href="/schedules/{schedule_id}"')
    assert "Nightly echo" in row and "tests.echo" in row
    assert "At 02:30 AM" in row and "30 2 * * *" in row and "Europe/Berlin" in row
    assert "enabled" in row and ">api<" in row
    assert schedule.next_run_at.strftime("%Y-%m-%d %H:%M:%S UTC") in row
    assert 'class="action-pause"' in row and 'class="action-run-now"' in row


def test_pause_and_resume_from_the_list_need_the_forms_csrf_token(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub, plan="enterprise")
    schedule_id = nightly(idle_hub, account)
    with sign_in(idle_api_url, account.key) as session:
        listing = session.get("/schedules")
        form = {"csrf_token": csrf_of(listing), "back": "list"}

        refused = session.post(f"/schedules/{schedule_id}/pause", data={"back": "list"})
        assert refused.status_code == 403 and "expired" in refused.text
        assert idle_hub.schedules.get(account.workspace_id, schedule_id).enabled

        paused = session.post(f"/schedules/{schedule_id}/pause", data=form)
        assert (paused.status_code, paused.headers["location"]) == (303, "/schedules")
        assert not idle_hub.schedules.get(account.workspace_id, schedule_id).enabled
        row = row_of(session.get("/schedules"), f'href="/schedules/{schedule_id}"')
        assert "paused" in row and 'class="action-resume"' in row

        resumed = session.post(f"/schedules/{schedule_id}/resume", data=form)
        assert resumed.status_code == 303
        assert idle_hub.schedules.get(account.workspace_id, schedule_id).enabled


def test_run_now_opens_the_new_task_and_the_schedule_page_shows_it(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub, plan="enterprise")
    schedule_id = nightly(idle_hub, account)
    with sign_in(idle_api_url, account.key) as session:
        token = csrf_of(session.get(f"/schedules/{schedule_id}"))
        refused = session.post(f"/schedules/{schedule_id}/run-now")
        assert refused.status_code == 403
        assert idle_hub.schedules.get(account.workspace_id, schedule_id).last_task_id is None

        ran = session.post(f"/schedules/{schedule_id}/run-now", data={"csrf_token": token})
        assert ran.status_code == 303 and ran.headers["location"].startswith("/tasks/")
        task_id = ran.headers["location"].removeprefix("/tasks/")
        record = idle_hub.tasks.get(account.workspace_id, task_id)
        assert record.origin == f"schedule:{schedule_id}"
        assert session.get(ran.headers["location"]).status_code == 200

        detail = session.get(source(record).url)  # where a scheduled task's page links to
        assert detail.status_code == 200 and "At 02:30 AM" in detail.text
        trail = row_of(detail, "run now")
        assert "fired" in trail and f'href="/tasks/{task_id}"' in trail
        runs = detail.text.split('class="runs"')[1]
        assert f'href="/tasks/{task_id}"' in runs
        history = re.search(r'class="all-runs" href="([^"]+)"', detail.text)
        assert history and html.unescape(history.group(1)).startswith("/?origin=schedule")
        listed = session.get(html.unescape(history.group(1)))
        assert f"/tasks/{task_id}" in listed.text


def test_a_starter_workspace_is_told_scheduling_needs_growth_or_enterprise(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub, plan="starter")
    with sign_in(idle_api_url, account.key) as session:
        listing = session.get("/schedules")
    assert listing.status_code == 200
    assert "Scheduled tasks need the Growth or Enterprise plan" in listing.text
    assert "No schedules yet" in listing.text


# -- triggers ------------------------------------------------------------------------------------


def test_a_trigger_shows_the_url_senders_post_to_and_never_its_secret(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    trigger, secret = idle_hub.triggers.create(account.workspace_id, "Deploys", "tests.echo")
    with sign_in(idle_api_url, account.key) as session:
        listing = session.get("/triggers")
        row = row_of(listing, f'href="/triggers/{trigger.id}"')
        url = html.unescape(re.findall(r'class="hook-url">([^<]+)<', row)[0])
        assert url == f"{idle_api_url}/hooks/{trigger.id}"
        assert "Deploys" in row and "tests.echo" in row

        body = json.dumps({"value": 7})
        at, msg_id = datetime.now(UTC), f"msg_{uuid.uuid4().hex}"
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, body),
            "content-type": "application/json",
        }
        delivered = httpx.post(url, content=body, headers=headers)  # the URL as shown works
        assert delivered.status_code == 202, delivered.text
        task_id = delivered.json()["task_id"]
        after = row_of(session.get("/triggers"), f'href="/triggers/{trigger.id}"')
        assert "<td>1</td>" in after and f'href="/tasks/{task_id}"' in after  # count, latest

        detail = session.get(f"/triggers/{trigger.id}")
        assert detail.status_code == 200 and url in detail.text
        assert msg_id in detail.text and f'href="/tasks/{task_id}"' in detail.text
        assert f"/?origin=trigger%3A{trigger.id}" in detail.text
        for page in (listing, detail, session.get("/triggers")):
            assert secret not in page.text and secret.removeprefix("whsec_") not in page.text


# -- pipelines -----------------------------------------------------------------------------------


def test_a_pipeline_graph_draws_one_node_per_node_coloured_by_its_status(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub, plan="enterprise")
    pipeline = idle_hub.pipelines.submit(account.workspace_id, DIAMOND)
    left = next(node for node in pipeline.nodes if node.node == "left")
    idle_hub.tasks.cancel(account.workspace_id, left.id)  # join follows it: cancelled too
    pipeline = idle_hub.pipelines.get(account.workspace_id, pipeline.id)
    statuses = {node.node: node.status for node in pipeline.nodes}
    assert statuses["join"] is Status.CANCELLED and statuses["top"] is Status.PENDING
    with sign_in(idle_api_url, account.key) as session:
        row = row_of(session.get("/pipelines"), f'href="/pipelines/{pipeline.id}"')
        assert "diamond" in row and "running" in row
        assert "2 pending" in row and "2 cancelled" in row
        detail = session.get(f"/pipelines/{pipeline.id}")
        fragment = session.get(f"/pipelines/{pipeline.id}/graph")

    assert detail.status_code == 200 and "<svg" in detail.text
    drawn = {name: (status, task_id) for status, task_id, name in NODE.findall(detail.text)}
    assert drawn == {
        node.node: (node.status.value, node.id) for node in pipeline.nodes
    }  # no status here is running (whose label differs from its value)
    assert detail.text.count("<line ") == 4
    assert detail.text.count('class="edge edge-dashed"') == 1  # top -> right: on_failure skip
    right = row_of(detail, 'class="pipeline-node" data-node="right"')
    assert "waiting for 1" in right
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert NODE.findall(fragment.text) == NODE.findall(detail.text)
    assert 'src="/static/follow.js"' in detail.text and "https://" not in detail.text


def test_graph_nodes_have_the_colours_of_the_status_badges(idle_api_url: str) -> None:
    css = httpx.get(f"{idle_api_url}/static/dashboard.css").text
    badges = dict(re.findall(r"\.badge-(\w+) \{ background: (#\w+); \}", css))
    nodes = dict(re.findall(r"\.node-(\w+) rect \{ fill: (#\w+); \}", css))
    assert len(badges) == 7 and nodes == badges


def test_a_bad_paging_query_is_422_naming_the_parameter(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    with sign_in(idle_api_url, account.key) as session:
        for path, field in (("/pipelines?limit=0", "limit"), ("/triggers?skip=x", "skip")):
            reply = session.get(path)
            assert reply.status_code == 422 and f"{field}:" in reply.text, path


# -- isolation -----------------------------------------------------------------------------------


def test_another_workspaces_schedule_trigger_and_pipeline_are_not_found(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    mine, theirs = new_account(idle_hub, "enterprise"), new_account(idle_hub, "enterprise")
    schedule_id = nightly(idle_hub, theirs)
    trigger, _ = idle_hub.triggers.create(theirs.workspace_id, "Theirs", "tests.echo")
    pipeline = idle_hub.pipelines.submit(theirs.workspace_id, DIAMOND)
    with sign_in(idle_api_url, mine.key) as session:
        for path in (f"/schedules/{schedule_id}", f"/triggers/{trigger.id}"):
            reply = session.get(path)
            assert reply.status_code == 404 and "Not found" in reply.text, path
        for path in (f"/pipelines/{pipeline.id}", f"/pipelines/{pipeline.id}/graph"):
            assert session.get(path).status_code == 404, path
        for area, ident in (("schedules", schedule_id), ("triggers", trigger.id)):
            assert ident not in session.get(f"/{area}").text
        assert pipeline.id not in session.get("/pipelines").text
        token = csrf_of(session.get("/schedules"))
        for action in ("pause", "run-now"):
            reply = session.post(f"/schedules/{schedule_id}/{action}", data={"csrf_token": token})
            assert reply.status_code == 404, action
    assert idle_hub.schedules.get(theirs.workspace_id, schedule_id).enabled


def test_a_hundred_node_fan_out_wraps_into_rows_instead_of_one_wide_line(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub, plan="enterprise")
    nodes: dict[str, object] = {"root": {"task": "tests.echo"}}
    nodes |= {f"n{i}": {"task": "tests.echo", "after": ["root"]} for i in range(100)}
    pipeline = idle_hub.pipelines.submit(account.workspace_id, {"name": "wide", "nodes": nodes})
    with sign_in(idle_api_url, account.key) as session:
        detail = session.get(f"/pipelines/{pipeline.id}")
    assert len(NODE.findall(detail.text)) == 101 and detail.text.count("<line ") == 100
    size = re.search(r'<svg class="graph" width="(\d+)" height="(\d+)"', detail.text)
    assert size and int(size.group(1)) <= 1600 and int(size.group(2)) <= 1200
    assert 'class="graph-scroll"' in detail.text  # wider than the page: it scrolls
