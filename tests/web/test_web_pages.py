"""The dashboard over real HTTP, on the real API app: signing in, the task history (its
filters and paging in the URL), a task's page, and its action buttons. Assertions read the HTML.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taskhub import Settings, TaskHub
from taskhub.domain.paging import TaskFilter
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission
from taskhub.web import views

from ..support import Worker
from .web_support import browser, csrf_of, link, new_account, sign_in, task_ids


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    """Submissions stay pending (no worker consumes the queue)."""
    hub = TaskHub(idle_settings)
    yield hub
    hub.close()


# -- signing in ----------------------------------------------------------------------------------


def test_signed_out_pages_redirect_to_sign_in(idle_api_url: str) -> None:
    with browser(idle_api_url) as session:
        for path in ("/", "/tasks/some-id", "/?status=failed"):
            reply = session.get(path)
            assert reply.status_code == 303 and reply.headers["location"] == "/login", path
        form = session.get("/login")
        assert form.status_code == 200 and 'name="api_key"' in form.text
        assert 'src="/static/htmx.min.js"' in form.text and "https://" not in form.text
        assert session.get("/static/htmx.min.js").text.startswith("var htmx=")


def test_a_good_key_signs_in_with_a_signed_http_only_cookie(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    with browser(idle_api_url) as session:
        form = session.get("/login")
        reply = session.post("/login", data={"api_key": account.key, "csrf_token": csrf_of(form)})
        assert reply.status_code == 303 and reply.headers["location"] == "/"
        cookie = reply.headers["set-cookie"]
        assert cookie.startswith("taskhub_session=")
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
        assert "secure" not in flags  # plain http here; https requests get Secure
        assert account.key not in cookie and account.key.removeprefix("thk_") not in cookie
        home = session.get("/")
        assert home.status_code == 200 and account.name in home.text


def test_a_bad_key_is_refused_and_signs_nobody_in(idle_api_url: str, idle_hub: TaskHub) -> None:
    account = new_account(idle_hub)
    with browser(idle_api_url) as session:
        for key in ("thk_not-a-real-key", "", account.key + "x"):
            form = session.get("/login")
            reply = session.post("/login", data={"api_key": key, "csrf_token": csrf_of(form)})
            assert reply.status_code == 401, key
            assert "not valid" in reply.text and 'name="api_key"' in reply.text
            assert session.get("/").status_code == 303


def test_a_forged_cookie_is_not_a_session(idle_api_url: str, idle_hub: TaskHub) -> None:
    account = new_account(idle_hub)
    with sign_in(idle_api_url, account.key) as session:
        value = session.cookies["taskhub_session"]
        session.cookies.clear()
        session.cookies.set("taskhub_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
        assert session.get("/").status_code == 303


def test_signing_out_and_revoking_the_key_end_the_session(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    with sign_in(idle_api_url, account.key) as session:
        home = session.get("/")
        reply = session.post("/logout", data={"csrf_token": csrf_of(home)})
        assert reply.status_code == 303 and reply.headers["location"] == "/login"
        assert session.get("/").status_code == 303
    with sign_in(idle_api_url, account.key) as session:
        assert session.get("/").status_code == 200
        key_id = idle_hub.accounts.list_keys(account.workspace_id)[0].id
        idle_hub.accounts.revoke_key(account.workspace_id, key_id)
        assert session.get("/").status_code == 303


def test_every_post_without_the_session_csrf_token_is_refused(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    task_id = idle_hub.tasks.submit(account.workspace_id, "tests.noop").id
    with browser(idle_api_url) as session:
        session.get("/login")
        assert session.post("/login", data={"api_key": account.key}).status_code == 403
        forged = {"api_key": account.key, "csrf_token": "forged"}
        assert session.post("/login", data=forged).status_code == 403
    with browser(idle_api_url) as stranger:  # no session cookie at all
        data = {"api_key": account.key, "csrf_token": "anything"}
        assert stranger.post("/login", data=data).status_code == 403
    with sign_in(idle_api_url, account.key) as session:
        path = f"/tasks/{task_id}/cancel"
        assert session.post(path).status_code == 403
        assert session.post(path, data={"csrf_token": "forged"}).status_code == 403
        assert session.post("/logout").status_code == 403
        assert idle_hub.tasks.get(account.workspace_id, task_id).status == "pending"
        assert session.get("/").status_code == 200  # still signed in


# -- the task history ------------------------------------------------------------------------------


def test_the_history_lists_only_the_workspace_tasks_newest_first(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    mine, theirs = new_account(idle_hub), new_account(idle_hub)
    my_ids = idle_hub.tasks.submit_many(mine.workspace_id, "tests.noop", [{}] * 3)
    their_ids = idle_hub.tasks.submit_many(theirs.workspace_id, "tests.noop", [{}] * 2)
    with sign_in(idle_api_url, mine.key) as session:
        page = session.get("/")
        listed = task_ids(page)
        assert set(listed) == set(my_ids) and not set(listed) & set(their_ids)
        newest_first = [
            r.id for r in idle_hub.tasks.list_tasks(TaskFilter(mine.workspace_id), limit=10).items
        ]
        assert listed == newest_first
        assert 'class="badge badge-pending"' in page.text and "3 tasks" in page.text
        other = session.get(f"/tasks/{their_ids[0]}")
        assert other.status_code == 404 and their_ids[0] in other.text
        assert "Not found" in other.text


def test_filters_and_paging_live_in_the_url(idle_api_url: str, idle_hub: TaskHub) -> None:
    account = new_account(idle_hub)
    ws = account.workspace_id
    idle_hub.tasks.submit_many(ws, "tests.noop", [{}] * 12)
    echo = Submission(name="Nightly export", type=TaskType.SCHEDULED, origin="schedule:abc")
    special = idle_hub.tasks.submit(ws, "tests.echo", {"value": 1}, echo)
    cancelled = idle_hub.tasks.submit(ws, "tests.noop")
    idle_hub.tasks.act(ws, "cancel", cancelled.id)
    with sign_in(idle_api_url, account.key) as session:
        first = session.get("/?limit=5")
        assert len(task_ids(first)) == 5 and link(first, "prev") is None
        assert link(first, "next") == "/?limit=5&skip=5"
        second = session.get("/?limit=5&skip=5")
        assert link(second, "prev") == "/?limit=5" and link(second, "next") == "/?limit=5&skip=10"
        last = session.get("/?limit=5&skip=10")
        assert len(task_ids(last)) == 4 and link(last, "next") is None
        seen = task_ids(first) + task_ids(second) + task_ids(last)
        assert len(set(seen)) == 14

        assert task_ids(session.get("/?status=cancelled")) == [cancelled.id]
        assert task_ids(session.get("/?type=scheduled")) == [special.id]
        assert task_ids(session.get("/?origin=schedule:abc")) == [special.id]
        by_name = session.get("/?q=nightly")
        assert task_ids(by_name) == [special.id] and 'value="nightly"' in by_name.text
        assert "schedule:abc" in by_name.text and "scheduled" in by_name.text
        kept = session.get("/?status=pending&limit=5")
        assert link(kept, "next") == "/?status=pending&limit=5&skip=5"
        assert '<option value="pending" selected>' in kept.text
        bad = session.get("/?status=lost")
        assert bad.status_code == 422 and "status" in bad.text


def test_a_big_history_counts_up_to_a_bound_and_still_pages_on(
    idle_api_url: str, idle_hub: TaskHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given more matching tasks than the page counts (10,000; 5 here), the page says "5+" and
    still offers the next page, while the service's exact count stays the API's."""
    account = new_account(idle_hub)
    idle_hub.tasks.submit_many(account.workspace_id, "tests.noop", [{}] * 7)
    monkeypatch.setattr(views, "COUNT_UP_TO", 5)
    with sign_in(idle_api_url, account.key) as session:
        first = session.get("/?limit=2")
        assert len(task_ids(first)) == 2 and "5+ tasks" in first.text
        assert link(first, "next") == "/?limit=2&skip=2"
        last = session.get("/?limit=2&skip=6")
        assert len(task_ids(last)) == 1 and link(last, "next") is None
        assert "5+ tasks" in last.text
        assert '<p class="count">0 tasks</p>' in session.get("/?status=cancelled").text
    where = TaskFilter(account.workspace_id)
    bounded = idle_hub.tasks.list_tasks(where, limit=2, count_up_to=5)
    assert (bounded.total, bounded.total_exact) == (5, False)
    exact = idle_hub.tasks.list_tasks(where, limit=2, count_up_to=7)
    assert (exact.total, exact.total_exact) == (7, True)
    assert idle_hub.tasks.list_tasks(where, limit=2).total == 7


# -- a task's page ---------------------------------------------------------------------------------


def test_an_action_button_cancels_a_pending_task(idle_api_url: str, idle_hub: TaskHub) -> None:
    account = new_account(idle_hub)
    record = idle_hub.tasks.submit(account.workspace_id, "tests.echo", {"value": 1})
    with sign_in(idle_api_url, account.key) as session:
        page = session.get(f"/tasks/{record.id}")
        assert page.status_code == 200
        assert f"{account.name} / {record.id}" in page.text
        assert "Echo the value back" in page.text  # the task's description
        assert 'class="badge badge-pending"' in page.text
        assert f'action="/tasks/{record.id}/cancel"' in page.text
        assert f'action="/tasks/{record.id}/pause"' in page.text
        assert "/resume" not in page.text and "/retry" not in page.text
        reply = session.post(f"/tasks/{record.id}/cancel", data={"csrf_token": csrf_of(page)})
        assert reply.status_code == 303 and reply.headers["location"] == f"/tasks/{record.id}"
        after = session.get(f"/tasks/{record.id}")
        assert 'class="badge badge-cancelled"' in after.text
        assert f'action="/tasks/{record.id}/retry"' in after.text and "/cancel" not in after.text
        assert idle_hub.tasks.get(account.workspace_id, record.id).status == "cancelled"
        again = session.post(f"/tasks/{record.id}/cancel", data={"csrf_token": csrf_of(after)})
        assert again.status_code == 409 and "it is cancelled" in again.text


@pytest.mark.usefixtures("worker")
def test_a_completed_task_shows_its_steps_progress_and_output(
    api_url: str, settings: Settings, scratch: Path
) -> None:
    hub = TaskHub(settings)
    try:
        account = new_account(hub)
        log = f"{scratch}/log"
        record = hub.tasks.submit(account.workspace_id, "tests.pipeline", {"log_path": log})
        hub.tasks.wait(account.workspace_id, record.id, timeout_s=30)
        with sign_in(api_url, account.key) as session:
            page = session.get(f"/tasks/{record.id}")
    finally:
        hub.close()
    assert page.status_code == 200, page.text
    assert 'class="badge badge-completed"' in page.text
    assert "Step 3 of 3" in page.text and '<progress max="100" value="100">' in page.text
    for step in ("fetch", "crunch", "publish"):
        assert (
            f'<span class="step-name">{step}</span> <span class="step-status">Completed'
            in page.text
        )
    assert '<pre class="output" id="out-o0">' in page.text and "total" in page.text  # one output
    assert 'role="tab"' not in page.text
    assert "<form" in page.text and "/cancel" not in page.text and "/retry" not in page.text


def test_several_outputs_are_a_list_and_a_failure_shows_error_and_attempts(
    api_url: str, settings: Settings, worker: Worker
) -> None:
    hub = TaskHub(settings)
    try:
        account = new_account(hub)
        ws = account.workspace_id
        several = hub.tasks.submit(ws, "tests.outputs")
        failing = hub.tasks.submit(ws, "tests.flaky", {"fail_times": 0, "permanent": True})
        hub.tasks.wait(ws, several.id, timeout_s=30)
        hub.tasks.wait(ws, failing.id, timeout_s=30)
        with sign_in(api_url, account.key) as session:
            outputs = session.get(f"/tasks/{several.id}")
            failed = session.get(f"/tasks/{failing.id}")
            notes = session.get(f"/tasks/{several.id}/outputs/notes.txt")
            missing = session.get(f"/tasks/{several.id}/outputs/missing.csv")
    finally:
        hub.close()
    for name in ("notes.txt", "result", "stats"):  # one tab each
        assert f'data-tab="{name}">{name}</button>' in outputs.text
    assert outputs.text.count('role="tabpanel"') == 3
    assert notes.text == "hello\n" and notes.headers["content-type"].startswith("text/plain")
    assert missing.status_code == 404 and "missing.csv" in missing.text
    assert 'class="badge badge-failed"' in failed.text
    assert "PermanentError" in failed.text and "this will never work" in failed.text
    assert '<section class="attempts">' in failed.text and "Traceback" in failed.text
    assert f'action="/tasks/{failing.id}/retry"' in failed.text
    assert "/cancel" not in failed.text


def test_pages_render_for_an_https_request_with_a_secure_cookie(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    """Behind a TLS proxy (``X-Forwarded-Proto: https``, trusted from 127.0.0.1)."""
    with browser(idle_api_url) as session:
        reply = session.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert reply.status_code == 200
        flags = {p.strip().lower() for p in reply.headers["set-cookie"].split(";")}
        assert "secure" in flags
