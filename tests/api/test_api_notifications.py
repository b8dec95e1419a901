"""Notifications over real HTTP, and outbound webhooks to a real local receiver. Tasks are run
by the shared worker; signatures are checked with the independent ``standardwebhooks`` library."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from taskhub import Status, TaskHub
from taskhub.services import webhooks

from ..conftest import make_settings
from ..support import Worker, running_worker, wait_for

Api = Callable[..., httpx.Client]
Request = tuple[dict[str, str], bytes]


class Receiver:
    """A local HTTP endpoint that records every POST and answers ``statuses`` in turn (then
    the last one forever)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append((headers, body))
                    index = min(len(receiver.requests), len(receiver.statuses)) - 1
                self.send_response(receiver.statuses[index])
                self.end_headers()
                self.wfile.write(b"receiver says hi")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def received(self, count: int) -> list[Request]:
        def enough() -> list[Request] | None:
            with self.lock:
                return list(self.requests) if len(self.requests) >= count else None

        return wait_for(enough, timeout_s=30, what=f"{count} webhook request(s)")


@contextmanager
def receiving(*statuses: int) -> Iterator[Receiver]:
    receiver = Receiver(list(statuses) or [200])
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def workspace(session: httpx.Client) -> str:
    return session.headers["X-Test-Workspace"]


def run(hub: TaskHub, session: httpx.Client, task: str, task_input: dict[str, Any]) -> str:
    """Submit into the session's workspace and wait until the worker finishes it."""
    record = hub.tasks.submit(workspace(session), task, task_input)
    return hub.tasks.wait(workspace(session), record.id, timeout_s=30).id


def succeed(hub: TaskHub, session: httpx.Client) -> str:
    return run(hub, session, "tests.echo", {"value": 1})


def fail(hub: TaskHub, session: httpx.Client) -> str:
    return run(hub, session, "tests.flaky", {"fail_times": 0, "permanent": True})


def notes(session: httpx.Client, **params: Any) -> dict[str, Any]:
    reply = session.get("/api/v1/notifications", params=params)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def subscribe(session: httpx.Client, url: str) -> dict[str, Any]:
    reply = session.post("/api/v1/webhooks", json={"url": url})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def settled(session: httpx.Client, subscription_id: str, count: int) -> list[dict[str, Any]]:
    """The subscription's deliveries once ``count`` of them are no longer pending."""

    def done() -> list[dict[str, Any]] | None:
        reply = session.get(f"/api/v1/webhooks/{subscription_id}/deliveries")
        items = list(reply.json()["items"])
        finished = [d for d in items if d["status"] != "pending"]
        return items if len(finished) >= count else None

    return wait_for(done, timeout_s=30, what=f"{count} settled deliveries")


# -- the inbox -------------------------------------------------------------------------------


def test_list_filter_and_mark_read(api: Api, hub: TaskHub, worker: Worker) -> None:
    session = api()
    ok, bad = succeed(hub, session), fail(hub, session)

    listed = notes(session)
    assert listed["total"] == 2
    assert (listed["limit"], listed["skip"]) == (25, 0)
    newest, oldest = listed["items"]
    assert (newest["task_id"], newest["kind"], newest["outcome"]) == (bad, "error", "failed")
    assert (oldest["task_id"], oldest["kind"], oldest["outcome"]) == (ok, "success", "completed")
    assert newest["title"].startswith("Failed: ")
    assert newest["description"].startswith("PermanentError: this will never work")
    assert newest["read_at"] is None and newest["created_at"]
    assert notes(session, limit=1, skip=1)["items"] == [oldest]

    read = session.post(f"/api/v1/notifications/{oldest['id']}/read")
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    again = session.post(f"/api/v1/notifications/{oldest['id']}/read")
    assert again.json()["read_at"] == read.json()["read_at"]
    assert [n["id"] for n in notes(session, unread="true")["items"]] == [newest["id"]]
    assert [n["id"] for n in notes(session, unread="false")["items"]] == [oldest["id"]]

    assert session.post("/api/v1/notifications/read-all").json() == {"changed": 1}
    assert session.post("/api/v1/notifications/read-all").json() == {"changed": 0}
    assert notes(session, unread="true")["total"] == 0


def test_another_workspace_cannot_see_or_mark_them(api: Api, hub: TaskHub, worker: Worker) -> None:
    owner, other = api(), api()
    succeed(hub, owner)
    note = notes(owner)["items"][0]

    assert notes(other)["total"] == 0
    assert other.post(f"/api/v1/notifications/{note['id']}/read").status_code == 404
    assert other.post("/api/v1/notifications/read-all").json() == {"changed": 0}
    assert notes(owner, unread="true")["total"] == 1
    for bad_id in ("999999999", "99999999999999999", "9" * 40, "abc", "-1", "%00"):
        assert owner.post(f"/api/v1/notifications/{bad_id}/read").status_code == 404


def test_query_parameters_are_validated(api: Api) -> None:
    session = api()
    invalid = ({"unread": "maybe"}, {"limit": 0}, {"limit": 101}, {"skip": -1}, {"skip": 10**19})
    for params in invalid:
        [field] = params
        reply = session.get("/api/v1/notifications", params=params)
        assert reply.status_code == 422
        assert reply.json()["field"].endswith(field), reply.text


# -- outbound webhooks -----------------------------------------------------------------------


def test_each_outcome_is_posted_signed_to_the_subscriber(
    api: Api, hub: TaskHub, worker: Worker
) -> None:
    session = api()
    with receiving(200) as receiver:
        subscription = subscribe(session, receiver.url)
        assert subscription["secret"].startswith("whsec_")
        listed = session.get("/api/v1/webhooks").json()
        assert [s["url"] for s in listed["items"]] == [receiver.url]
        assert "whsec_" not in json.dumps(listed)

        ok, bad = succeed(hub, session), fail(hub, session)
        requests = receiver.received(2)

    verifier = Webhook(subscription["secret"])
    payloads = {}
    for headers, body in requests:
        payload = verifier.verify(body, headers)
        payloads[payload["task_id"]] = payload
        assert headers["content-type"] == "application/json"
        assert headers["webhook-id"].startswith("msg_")
    assert (payloads[ok]["type"], payloads[ok]["kind"]) == ("task.completed", "success")
    assert (payloads[bad]["type"], payloads[bad]["kind"]) == ("task.failed", "error")
    assert {p["id"] for p in payloads.values()} == {n["id"] for n in notes(session)["items"]}
    assert len({headers["webhook-id"] for headers, _ in requests}) == 2

    for delivery in settled(session, subscription["id"], 2):
        assert delivery["status"] == "delivered"
        assert (delivery["attempts"], delivery["response_status"]) == (1, 200)
        assert delivery["delivered_at"] is not None


def test_a_cancel_by_a_person_is_posted_too(api: Api, hub: TaskHub, worker: Worker) -> None:
    session = api()
    idle = make_settings(
        hub.settings.home,
        database_url=hub.settings.database_url,
        default_queue=f"idle-{uuid.uuid4().hex[:8]}",
    )
    parked = TaskHub(idle)  # its tasks wait on a queue no worker reads
    try:
        waiting = parked.tasks.submit(workspace(session), "tests.echo", {"value": 1})
    finally:
        parked.close()
    with receiving(200) as receiver:
        subscribe(session, receiver.url)
        assert hub.tasks.cancel(workspace(session), waiting.id).status is Status.CANCELLED
        [(_, body)] = receiver.received(1)
    assert json.loads(body)["type"] == "task.cancelled"
    assert json.loads(body)["task_id"] == waiting.id


def test_a_failed_attempt_is_retried_and_delivered(api: Api, hub: TaskHub, worker: Worker) -> None:
    session = api()
    with receiving(500, 200) as receiver:
        subscription = subscribe(session, receiver.url)
        succeed(hub, session)
        first, second = receiver.received(2)

    assert first[0]["webhook-id"] == second[0]["webhook-id"]  # receivers can dedupe
    [delivery] = settled(session, subscription["id"], 1)
    assert delivery["status"] == "delivered"
    assert (delivery["attempts"], delivery["response_status"]) == (2, 200)
    assert delivery["last_error"].startswith("HTTP 500")


def test_a_receiver_that_always_fails_leaves_the_delivery_failed_and_the_task_completed(
    api: Api, hub: TaskHub, worker: Worker
) -> None:
    session = api()
    with receiving(503) as receiver:
        subscription = subscribe(session, receiver.url)
        task_id = succeed(hub, session)
        [delivery] = settled(session, subscription["id"], 1)
        assert len(receiver.requests) == hub.settings.webhook_max_attempts

    assert delivery["status"] == "failed"
    assert delivery["attempts"] == hub.settings.webhook_max_attempts == 3
    assert delivery["response_status"] == 503
    assert delivery["last_error"] == "HTTP 503: receiver says hi"
    assert hub.store.get(task_id).status is Status.COMPLETED


def test_an_unreachable_url_is_recorded_as_failed(api: Api, hub: TaskHub, worker: Worker) -> None:
    session = api()
    with receiving(200) as receiver:
        closed = receiver.url  # nothing listens here once the block ends
    subscription = subscribe(session, closed)
    succeed(hub, session)
    [delivery] = settled(session, subscription["id"], 1)
    assert delivery["status"] == "failed"
    assert delivery["response_status"] is None
    assert delivery["last_error"].startswith("ConnectError")


def _cancelled_while_the_broker_is_down(hub: TaskHub, session: httpx.Client) -> str:
    """Submit and cancel a task through a broker that is down (same database): its outcome's
    notification is stored, and no delivery of it can be queued. Returns the task id."""
    no_broker = make_settings(
        hub.settings.home,
        database_url=hub.settings.database_url,
        broker_url="redis://127.0.0.1:1/0",
    )
    cut_off = TaskHub(no_broker)
    try:
        waiting = cut_off.tasks.submit(workspace(session), "tests.echo", {"value": 1})
        cancelled = cut_off.tasks.cancel(workspace(session), waiting.id)
        assert cancelled.status is Status.CANCELLED  # the broker being down changes nothing
        return waiting.id
    finally:
        cut_off.close()


def _sweep_now(hub: TaskHub) -> int:
    """A sweep that does not wait for lost deliveries to be overdue; deliveries it queued."""
    eager = make_settings(
        hub.settings.home, database_url=hub.settings.database_url, webhook_recover_after_s=0
    )
    sweeper = TaskHub(eager)  # the shared worker's queue and broker
    try:
        return sweeper.sweep().webhooks
    finally:
        sweeper.close()


def _deliveries(session: httpx.Client, subscription_id: str) -> list[dict[str, Any]]:
    reply = session.get(f"/api/v1/webhooks/{subscription_id}/deliveries")
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def test_a_delivery_that_could_not_be_queued_is_delivered_by_the_sweep(
    api: Api, hub: TaskHub, worker: Worker
) -> None:
    session = api()
    with receiving(200) as receiver:
        subscription = subscribe(session, receiver.url)
        _cancelled_while_the_broker_is_down(hub, session)
        [stuck] = _deliveries(session, subscription["id"])
        assert (stuck["status"], stuck["attempts"]) == ("pending", 0)

        assert _sweep_now(hub) >= 1
        [(_, body)] = receiver.received(1)
    assert json.loads(body)["type"] == "task.cancelled"
    [delivery] = settled(session, subscription["id"], 1)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)


def test_a_notification_left_without_deliveries_is_delivered_by_the_sweep(
    api: Api, hub: TaskHub, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process stored the outcome's notification, then died before creating deliveries."""
    session = api()
    with receiving(200) as receiver:
        subscription = subscribe(session, receiver.url)
        with monkeypatch.context() as crash:
            crash.setattr(webhooks.Webhooks, "enqueue", lambda *_: None)  # dies after the outcome
            task_id = _cancelled_while_the_broker_is_down(hub, session)
        assert _deliveries(session, subscription["id"]) == []

        assert _sweep_now(hub) >= 1
        [(_, body)] = receiver.received(1)
        [delivery] = settled(session, subscription["id"], 1)
        _sweep_now(hub)  # a second sweep owes this subscription nothing more
        assert len(_deliveries(session, subscription["id"])) == 1
    assert json.loads(body)["task_id"] == task_id
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    assert len(receiver.requests) == 1


def test_subscriptions_validate_urls_and_are_deleted(api: Api) -> None:
    session = api()
    for body in ({"url": "ftp://example.com/x"}, {"url": "not a url"}, {}):
        reply = session.post("/api/v1/webhooks", json=body)
        assert reply.status_code == 422, reply.text
        assert reply.json()["field"] == "url"

    subscription = subscribe(session, "https://example.com/hook")
    path = f"/api/v1/webhooks/{subscription['id']}"
    assert session.get(path).json() == {k: v for k, v in subscription.items() if k != "secret"}
    assert session.delete(path).status_code == 204
    assert session.delete(path).status_code == 404
    assert session.get(path).status_code == 404
    assert session.get("/api/v1/webhooks").json()["total"] == 0


def test_another_workspace_cannot_see_or_delete_subscriptions(api: Api) -> None:
    owner, other = api(), api()
    subscription = subscribe(owner, "https://example.com/hook")
    path = f"/api/v1/webhooks/{subscription['id']}"

    assert other.get("/api/v1/webhooks").json()["total"] == 0
    assert other.get(path).status_code == 404
    assert other.get(f"{path}/deliveries").status_code == 404
    assert other.delete(path).status_code == 404
    assert owner.get(path).status_code == 200


def test_a_webhook_to_a_name_on_a_private_address_is_refused_not_posted(
    api: Api, hub: TaskHub
) -> None:
    """Workers refuse what the URL's name resolves to when it is loopback or private (SSRF)."""
    session = api()
    strict = make_settings(
        hub.settings.home,
        database_url=hub.settings.database_url,
        default_queue=f"strict-{uuid.uuid4().hex[:8]}",
        webhook_allow_private=False,
    )
    with receiving(200) as receiver:
        by_name = receiver.url.replace("127.0.0.1", "localhost")  # a name, checked on delivery
        subscription = subscribe(session, by_name)
        submitter = TaskHub(strict)
        try:
            with running_worker(strict, concurrency=1, name="strict"):
                run(submitter, session, "tests.echo", {"value": 1})
                [delivery] = settled(session, subscription["id"], 1)
        finally:
            submitter.close()
        assert receiver.requests == []
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert "localhost resolves to a non-public address" in delivery["last_error"]
