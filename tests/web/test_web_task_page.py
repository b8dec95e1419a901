"""A task's page over real HTTP: its steps and their labels, outputs in tabs with Copy and
Download, its live fragment, running a new task from it (and from ``/definitions``), and
comparing two runs. Assertions read the HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from taskhub import Settings, TaskHub
from taskhub.domain.paging import TaskFilter
from taskhub.domain.records import NewTask, StepRecord, TaskOptions, TaskRecord
from taskhub.domain.states import StepStatus, TaskType
from taskhub.web import taskpage

from .web_support import csrf_of, new_account, sign_in

CHANGED = re.compile(r'<tr class="diff-changed">\s*<td>(.*?)</td>\s*<td>(.*?)</td>', re.S)


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    """Submissions stay pending (no worker consumes the queue)."""
    hub = TaskHub(idle_settings)
    yield hub
    hub.close()


@pytest.fixture
def live_hub(settings: Settings, worker: object) -> Iterator[TaskHub]:
    """Submissions run in the shared worker."""
    hub = TaskHub(settings)
    yield hub
    hub.close()


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def changed_rows(page: httpx.Response) -> list[tuple[str, str]]:
    """The (a, b) text of each line the compare page marks as changed."""
    return [(text_of(a).strip(), text_of(b).strip()) for a, b in CHANGED.findall(page.text)]


def run_new(
    session: httpx.Client, page: httpx.Response, task_name: str, text: str, **extra: str
) -> httpx.Response:
    data = {"csrf_token": csrf_of(page), "input": text, **extra}
    return session.post(f"/definitions/{task_name}/run", data=data)


# -- steps -----------------------------------------------------------------------------------------


def test_declared_steps_not_begun_are_queued_and_the_live_fragment_keeps_what_is_open(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    record = idle_hub.tasks.submit(account.workspace_id, "tests.pipeline", {"log_path": "x"})
    with sign_in(idle_api_url, account.key) as session:
        page = session.get(f"/tasks/{record.id}")
        fragment = session.get(f"/tasks/{record.id}/live", params={"open": ["crunch"]})
    assert page.status_code == 200, page.text
    for step in ("fetch", "crunch", "publish"):
        assert f'<details data-step="{step}">' in page.text
        assert (
            f'<span class="step-name">{step}</span> <span class="step-status">Queued' in page.text
        )
    assert "Not started: 3 steps" in page.text
    live = f'hx-get="/tasks/{record.id}/live" hx-trigger="taskhub-task[detail.id==\'{record.id}\']'
    assert live in html.unescape(page.text)
    assert '<script src="/static/task.js" defer></script>' in page.text
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert '<details data-step="crunch" open>' in fragment.text  # what the person had open
    assert '<details data-step="fetch">' in fragment.text
    assert (
        'class="badge badge-pending"' in fragment.text and "Not started: 3 steps" in fragment.text
    )


def test_steps_are_labelled_with_their_status_and_timing() -> None:
    """Pure: a completed step, a failed one and a declared one not begun; the counter."""
    start = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    fetched = StepRecord(
        "fetch", 1, StepStatus.COMPLETED, start, start + timedelta(seconds=2), None
    )
    crunch = StepRecord("crunch", 2, StepStatus.FAILED, start, start + timedelta(minutes=2), "boom")
    record = _record_with(fetched, crunch)
    steps = taskpage.step_views(record, ("fetch", "crunch", "publish"))
    assert [(s.name, s.label) for s in steps] == [
        ("fetch", "Completed"),
        ("crunch", "Failed"),
        ("publish", "Queued"),
    ]
    assert steps[0].duration == "2.0 s" and steps[1].duration == "2 min 0 s"
    assert steps[1].detail == "boom" and steps[2].started == "—"
    assert taskpage.step_counter(record, steps) == "Step 2 of 3"


def _record_with(*steps: StepRecord) -> TaskRecord:
    options = TaskOptions(5, "q", 60, 0, 1, 2)
    new = NewTask("t1", "w1", "tests.pipeline", "p", TaskType.MANUAL, None, {}, options, None,
                  datetime.now(UTC))  # fmt: skip
    return replace(new.as_record(), steps=steps)


def test_a_live_refresh_after_the_session_ended_sends_the_page_to_sign_in(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    record = idle_hub.tasks.submit(account.workspace_id, "tests.noop")
    with sign_in(idle_api_url, account.key) as session:
        session.cookies.clear()
        refresh = session.get(f"/tasks/{record.id}/live", headers={"HX-Request": "true"})
        plain = session.get(f"/tasks/{record.id}/live")
    assert refresh.status_code == 401 and refresh.headers["hx-redirect"] == "/login"
    assert 'name="api_key"' not in refresh.text  # no sign-in form swapped into the region
    assert plain.status_code == 303 and plain.headers["location"] == "/login"


# -- outputs ---------------------------------------------------------------------------------------


def test_several_outputs_are_tabs_each_with_copy_and_download(
    api_url: str, live_hub: TaskHub
) -> None:
    account = new_account(live_hub)
    record = live_hub.tasks.submit(account.workspace_id, "tests.outputs")
    live_hub.tasks.wait(account.workspace_id, record.id, timeout_s=30)
    with sign_in(api_url, account.key) as session:
        page = session.get(f"/tasks/{record.id}")
        on_stats = session.get(f"/tasks/{record.id}/live", params={"tab": "stats"})
        notes = session.get(f"/tasks/{record.id}/outputs/notes.txt", params={"download": "1"})
        stats = session.get(f"/tasks/{record.id}/outputs/stats", params={"download": "1"})
        shown = session.get(f"/tasks/{record.id}/outputs/stats")
    assert page.status_code == 200, page.text
    assert '<div class="tabs" role="tablist" aria-label="Outputs">' in page.text
    tabs = re.findall(r'<button type="button" role="tab"[^>]*>', page.text)
    assert len(tabs) == 3 and 'aria-selected="true"' in tabs[0]  # the first is shown
    assert all('aria-selected="false"' in tab for tab in tabs[1:])
    panels = re.findall(r'<div class="tab-panel" role="tabpanel"[^>]*>', page.text)
    assert len(panels) == 3 and sum(panel.endswith(" hidden>") for panel in panels) == 2
    assert page.text.count('<button type="button" class="copy" data-copy="out-o') == 3
    base = f"/tasks/{record.id}/outputs"
    for name in ("notes.txt", "result", "stats"):
        assert f'href="{base}/{name}?download=1" download>Download</a>' in page.text
    assert "&#34;rows&#34;: 3" in page.text  # JSON pretty-printed
    selected = re.findall(r'aria-selected="true" tabindex="0" data-tab="([^"]+)"', on_stats.text)
    assert selected == ["stats"]  # the tab the person chose survives a live refresh
    assert notes.text == "hello\n"
    assert notes.headers["content-disposition"].startswith('attachment; filename="notes.txt"')
    assert stats.json() == {"rows": 3}
    assert stats.headers["content-disposition"].startswith('attachment; filename="stats.json"')
    assert "content-disposition" not in shown.headers


def test_a_single_output_is_shown_directly_with_its_steps_timing(
    api_url: str, live_hub: TaskHub, scratch: Path
) -> None:
    account = new_account(live_hub)
    record = live_hub.tasks.submit(
        account.workspace_id, "tests.pipeline", {"log_path": f"{scratch}/log"}
    )
    live_hub.tasks.wait(account.workspace_id, record.id, timeout_s=30)
    with sign_in(api_url, account.key) as session:
        page = session.get(f"/tasks/{record.id}")
    assert '<pre class="output" id="out-o0">' in page.text and 'role="tab"' not in page.text
    assert 'data-copy="out-o0">Copy</button>' in page.text and "?download=1" in page.text
    assert "Step 3 of 3" in page.text
    for step in ("fetch", "crunch", "publish"):
        block = page.text.split(f'<details data-step="{step}">')[1].split("</details>")[0]
        assert "Completed" in block and block.count(" UTC</dd>") == 2  # started and finished
        duration = re.search(r"<dt>Duration</dt><dd>([^<]+)</dd>", block)
        assert duration and re.fullmatch(r"[\d.]+ (ms|s)", duration.group(1)), block


# -- running a new task ----------------------------------------------------------------------------


def test_running_a_new_task_from_a_task_page_lands_on_the_new_task(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    first = idle_hub.tasks.submit(account.workspace_id, "tests.echo", {"value": 1})
    with sign_in(idle_api_url, account.key) as session:
        page = session.get(f"/tasks/{first.id}")
        assert 'action="/definitions/tests.echo/run"' in page.text
        assert "&#34;value&#34;: 1" in page.text  # the box holds this task's input
        reply = run_new(session, page, "tests.echo", '{"value": 2}', from_task=first.id)
        assert reply.status_code == 303, reply.text
        new_id = reply.headers["location"].removeprefix("/tasks/")
        assert new_id != first.id and session.get(f"/tasks/{new_id}").status_code == 200
    made = idle_hub.tasks.get(account.workspace_id, new_id)
    assert made.task_name == "tests.echo" and made.input == {"value": 2}


def test_bad_json_or_input_the_task_refuses_re_renders_with_the_field_named(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    ws = account.workspace_id
    first = idle_hub.tasks.submit(ws, "tests.pipeline", {"log_path": "x"})
    with sign_in(idle_api_url, account.key) as session:
        page = session.get(f"/tasks/{first.id}")
        bad_json = run_new(session, page, "tests.pipeline", '{"log_path": ', from_task=first.id)
        bad_type = run_new(session, page, "tests.pipeline", '{"log_path": 5}', from_task=first.id)
        unknown = run_new(session, page, "tests.pipeline", '{"log_path": "y", "nope": 1}')
        forged = session.post(
            "/definitions/tests.pipeline/run", data={"input": "{}", "csrf_token": "forged"}
        )
    assert bad_json.status_code == 422
    assert "input: is not valid JSON" in bad_json.text and 'role="alert"' in bad_json.text
    assert f"{first.id}</h1>" in bad_json.text  # the task page again, the text as typed
    assert ">{&#34;log_path&#34;: </textarea>" in bad_json.text
    assert bad_type.status_code == 422 and "input.log_path" in bad_type.text
    assert unknown.status_code == 422 and "input.nope" in unknown.text
    assert "<h1>tests.pipeline</h1>" in unknown.text  # no task to go back to: the definition
    assert forged.status_code == 403
    assert idle_hub.tasks.list_tasks(TaskFilter(ws)).total == 1  # nothing was submitted


def test_definitions_list_every_task_and_one_starts_from_a_skeleton_of_its_input(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    manual = idle_hub.tasks.submit(account.workspace_id, "tests.echo", {"value": 1})
    with sign_in(idle_api_url, account.key) as session:
        listing = session.get("/definitions")
        task_page = session.get(f"/tasks/{manual.id}")
        page = session.get("/definitions/tests.pipeline")
        reply = run_new(session, page, "tests.pipeline", page_input(page))
        unknown = session.get("/definitions/tests.nothing")
    assert listing.status_code == 200 and '<a href="/definitions">Run a task</a>' in listing.text
    assert 'href="/definitions/tests.echo">tests.echo</a>' in listing.text
    assert "Echo the value back" in listing.text and "fetch, crunch, publish" in listing.text
    assert 'class="button source-link" href="/definitions/tests.echo"' in task_page.text
    assert page.status_code == 200
    assert '"log_path": ""' in page_input(page) and '"fail_crunch_once": false' in page_input(page)
    assert f'href="/tasks/{manual.id}"' not in page.text  # recent runs of this task only
    assert reply.status_code == 303 and reply.headers["location"].startswith("/tasks/")
    assert unknown.status_code == 404 and "tests.nothing" in unknown.text


def page_input(page: httpx.Response) -> str:
    found = re.search(
        r'<textarea id="run-input" name="input"[^>]*>(.*?)</textarea>', page.text, re.S
    )
    assert found, page.text
    return html.unescape(found.group(1))


# -- comparing two runs ----------------------------------------------------------------------------


def test_compare_two_runs_marks_the_changed_lines_of_input_and_output(
    api_url: str, live_hub: TaskHub
) -> None:
    account = new_account(live_hub)
    ws = account.workspace_id
    a = live_hub.tasks.submit(ws, "tests.echo", {"value": {"kept": 1, "size": 2}})
    b = live_hub.tasks.submit(ws, "tests.echo", {"value": {"kept": 1, "size": 3}})
    other = live_hub.tasks.submit(ws, "tests.noop")
    for record in (a, b, other):
        live_hub.tasks.wait(ws, record.id, timeout_s=30)
    with sign_in(api_url, account.key) as session:
        page = session.get(f"/tasks/{a.id}")
        compared = session.get("/compare", params={"a": a.id, "b": b.id})
        itself = session.get("/compare", params={"a": a.id, "b": a.id})
    assert '<form method="get" action="/compare"' in page.text
    assert f'<option value="{b.id}">' in page.text and f'value="{other.id}"' not in page.text
    assert compared.status_code == 200, compared.text
    assert changed_rows(compared) == [
        ('"size": 2', '"size": 3'),  # the input
        ('"size": 2', '"size": 3'),  # the output "result"
    ]
    assert "<h2>Output result" in compared.text
    assert '<tr class="diff-same">\n      <th scope="row">Status</th>' in compared.text
    assert changed_rows(itself) == [] and "differs" not in itself.text


def test_compare_refuses_another_task_and_another_workspace(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    mine, theirs = new_account(idle_hub), new_account(idle_hub)
    echo = idle_hub.tasks.submit(mine.workspace_id, "tests.echo", {"value": 1})
    noop = idle_hub.tasks.submit(mine.workspace_id, "tests.noop")
    foreign = idle_hub.tasks.submit(theirs.workspace_id, "tests.echo", {"value": 2})
    with sign_in(idle_api_url, mine.key) as session:
        other_task = session.get("/compare", params={"a": echo.id, "b": noop.id})
        other_workspace = session.get("/compare", params={"a": echo.id, "b": foreign.id})
        missing = session.get("/compare", params={"a": echo.id})
        page = session.get(f"/tasks/{echo.id}")
        fragment = session.get(f"/tasks/{foreign.id}/live")
        download = session.get(f"/tasks/{foreign.id}/outputs/result", params={"download": "1"})
        run_from_theirs = run_new(session, page, "tests.echo", "[]", from_task=foreign.id)
    assert other_task.status_code == 422 and "only runs of the same task compare" in other_task.text
    assert other_workspace.status_code == 404 and foreign.id in other_workspace.text
    assert "value&#34;: 2" not in other_workspace.text
    assert missing.status_code == 422 and "b: give the id of a task" in missing.text
    assert f'value="{foreign.id}"' not in page.text  # not offered to compare with
    assert fragment.status_code == 404 and download.status_code == 404
    assert run_from_theirs.status_code == 422 and foreign.id not in run_from_theirs.text
