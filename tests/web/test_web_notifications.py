"""The dashboard's notifications over real HTTP: the list at ``/notifications`` (newest first,
unread marked, paged), marking read (POST with the CSRF token), the top bar's bell, the task
panel's fragment, and the live channel sending each new notification. Assertions read the
HTML and the event stream; tasks stay pending (no worker), and cancelling one writes its
notification.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from taskhub import Settings, TaskHub
from taskhub.domain.submissions import Submission

from .web_support import Account, csrf_of, link, new_account, sign_in

NOTE = re.compile(r'<li class="notification notification-(\w+)( unread)?" data-id="(\d+)">')


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    """Submissions stay pending (no worker consumes the queue)."""
    hub = TaskHub(idle_settings)
    yield hub
    hub.close()


def cancelled(hub: TaskHub, account: Account, name: str) -> str:
    """A task of ``account`` submitted and cancelled: its notification says "Cancelled"."""
    record = hub.tasks.submit(account.workspace_id, "tests.noop", None, Submission(name=name))
    hub.tasks.act(account.workspace_id, "cancel", record.id)
    return record.id


def listed(page: httpx.Response) -> list[tuple[str, bool]]:
    """(notification id, unread) for each notification the page lists, in its order."""
    assert page.status_code == 200, page.text
    return [(ident, bool(unread)) for _, unread, ident in NOTE.findall(page.text)]


def bell_count(session: httpx.Client) -> str:
    found = re.search(
        r'class="unread-count[^"]*" data-count="(\d+)"', session.get("/notifications/bell").text
    )
    assert found
    return found.group(1)


# -- the list -----------------------------------------------------------------------------------


def test_the_list_shows_the_workspace_notifications_newest_first_linking_to_their_tasks(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    first = cancelled(idle_hub, account, "first")
    second = cancelled(idle_hub, account, "second")

    with sign_in(idle_api_url, account.key) as session:
        page = session.get("/notifications")

    titles = re.findall(r'class="notification-link" href="/tasks/([^"]+)">([^<]+)<', page.text)
    assert titles == [(second, "Cancelled: second"), (first, "Cancelled: first")]
    assert [unread for _, unread in listed(page)] == [True, True]
    assert "The task was cancelled." in page.text and "2 unread" in page.text


def test_the_list_pages_with_limit_and_skip_and_refuses_a_bad_limit(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    tasks = [cancelled(idle_hub, account, f"t{n}") for n in range(3)]

    with sign_in(idle_api_url, account.key) as session:
        first = session.get("/notifications?limit=2")
        following = link(first, "next")
        assert following == "/notifications?limit=2&skip=2"
        second = session.get(following)
        bad = session.get("/notifications?limit=0")

    assert re.findall(r'href="/tasks/([^"]+)"', first.text)[-2:] == [tasks[2], tasks[1]]
    assert len(listed(first)) == 2 and len(listed(second)) == 1
    assert tasks[0] in second.text and link(second, "next") is None
    assert link(second, "prev") == "/notifications?limit=2"
    assert bad.status_code == 422 and "limit: must be between 1 and 100" in bad.text


def test_marking_one_read_needs_the_csrf_token_and_unmarks_only_it(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    cancelled(idle_hub, account, "older")
    cancelled(idle_hub, account, "newer")

    with sign_in(idle_api_url, account.key) as session:
        page = session.get("/notifications")
        (newer, _), (older, _) = listed(page)
        forged = session.post(f"/notifications/{older}/read", data={"csrf_token": "forged"})
        missing = session.post(f"/notifications/{older}/read")
        assert bell_count(session) == "2"
        marked = session.post(f"/notifications/{older}/read", data={"csrf_token": csrf_of(page)})
        after = session.get("/notifications")
        count = bell_count(session)

    assert forged.status_code == 403 and missing.status_code == 403
    assert marked.status_code == 303 and marked.headers["location"] == "/notifications"
    assert listed(after) == [(newer, True), (older, False)]
    assert count == "1" and "1 unread" in after.text


def test_mark_all_read_clears_the_bell_and_needs_the_csrf_token(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    for n in range(3):
        cancelled(idle_hub, account, f"t{n}")

    with sign_in(idle_api_url, account.key) as session:
        page = session.get("/notifications")
        refused = session.post("/notifications/read-all", data={"csrf_token": "forged"})
        assert bell_count(session) == "3"
        done = session.post("/notifications/read-all", data={"csrf_token": csrf_of(page)})
        after = session.get("/notifications")
        count = bell_count(session)

    assert refused.status_code == 403
    assert done.status_code == 303
    assert [unread for _, unread in listed(after)] == [False, False, False]
    assert count == "0" and "Mark all read" not in after.text


def test_another_workspace_notifications_are_not_listed_nor_markable(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    mine, theirs = new_account(idle_hub), new_account(idle_hub)
    cancelled(idle_hub, mine, "mine")
    their_task = cancelled(idle_hub, theirs, "theirs")
    (their_note,) = idle_hub.inbox.page(theirs.workspace_id)[0]

    with sign_in(idle_api_url, mine.key) as session:
        page = session.get("/notifications")
        reply = session.post(
            f"/notifications/{their_note.id}/read", data={"csrf_token": csrf_of(page)}
        )
        count = bell_count(session)

    assert len(listed(page)) == 1 and their_task not in page.text
    assert reply.status_code == 404 and "no notification" in reply.text
    assert count == "1"
    assert idle_hub.inbox.page(theirs.workspace_id, unread=True)[1] == 1


def test_every_signed_in_page_has_the_bell_and_the_panel_toggle(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account = new_account(idle_hub)
    with sign_in(idle_api_url, account.key) as session:
        home = session.get("/")
    assert 'class="bell" href="/notifications"' in home.text
    assert 'hx-get="/notifications/bell"' in home.text
    assert 'class="panel-toggle"' in home.text and 'id="task-panel"' in home.text
    assert '<nav class="areas">' in home.text and account.name in home.text
    assert 'src="/static/toasts.js"' in home.text and "https://" not in home.text


# -- the task panel -----------------------------------------------------------------------------


def test_the_panel_lists_the_workspace_tasks_by_their_last_change(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account, other = new_account(idle_hub), new_account(idle_hub)
    first = idle_hub.tasks.submit(account.workspace_id, "tests.noop", None, Submission(name="a"))
    second = idle_hub.tasks.submit(account.workspace_id, "tests.noop", None, Submission(name="b"))
    theirs = idle_hub.tasks.submit(other.workspace_id, "tests.noop", None, Submission())
    idle_hub.tasks.act(account.workspace_id, "cancel", first.id)  # its change is the newest

    with sign_in(idle_api_url, account.key) as session:
        panel = session.get("/panel")

    rows = re.findall(r'data-task="([^"]+)" data-status="(\w+)"', panel.text)
    assert rows == [(first.id, "cancelled"), (second.id, "pending")]
    assert f'href="/tasks/{first.id}"' in panel.text and theirs.id not in panel.text


# -- the live channel ---------------------------------------------------------------------------


def events(reply: httpx.Response, deadline_s: float = 15.0) -> Iterator[tuple[str, object]]:
    """(event, data) of each event the stream sends, until ``deadline_s``."""
    give_up = time.monotonic() + deadline_s
    kind = ""
    for line in reply.iter_lines():
        if time.monotonic() > give_up:
            raise AssertionError(f"no expected event within {deadline_s} s")
        if line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            yield kind, json.loads(line.removeprefix("data:"))


def test_the_live_channel_sends_each_new_notification_of_the_workspace_once(
    idle_api_url: str, idle_hub: TaskHub
) -> None:
    account, other = new_account(idle_hub), new_account(idle_hub)
    before = cancelled(idle_hub, account, "before the page opened")
    seen: list[tuple[str, object]] = []

    def read_until(kind: str, task_id: str) -> None:
        for event in stream:
            seen.append(event)
            data = event[1]
            if event[0] == kind and isinstance(data, dict) and task_id in data.values():
                return

    with (
        sign_in(idle_api_url, account.key) as session,
        session.stream("GET", "/live/events", timeout=httpx.Timeout(10, read=20)) as reply,
    ):
        assert reply.status_code == 200
        stream = events(reply)
        task = idle_hub.tasks.submit(account.workspace_id, "tests.noop", None, Submission())
        read_until("task", task.id)  # the stream is following
        cancelled(idle_hub, other, "theirs")
        idle_hub.tasks.act(account.workspace_id, "cancel", task.id)
        read_until("notification", task.id)
        later = cancelled(idle_hub, account, "later")  # polls after the first: not sent again
        read_until("notification", later)

    notes = [data for kind, data in seen if kind == "notification"]
    assert [n["task_id"] for n in notes if isinstance(n, dict)] == [task.id, later], seen
    note = notes[0]
    assert isinstance(note, dict)
    assert note["task_id"] == task.id and note["task_id"] != before
    assert note["outcome"] == "cancelled" and note["kind"] == "error"
    assert note["title"].startswith("Cancelled:") and isinstance(note["id"], int)
