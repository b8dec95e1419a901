"""Webhook triggers over real HTTP. Deliveries are signed with the independent
``standardwebhooks`` library: any sender that signs with a Standard Webhooks library must just
work. Tasks they create are run by a real worker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from taskhub import Status, TaskHub, TaskRecord, TaskType

from ..support import Worker
from .api_support import client

Api = Callable[..., httpx.Client]
ECHO = {"name": "Echo hook", "task": "tests.echo", "input_mapping": {"value": "/data/value"}}


@pytest.fixture
def sender(api_url: str) -> Iterator[httpx.Client]:
    """A client with no API key: the signature is all a sender has."""
    with client(api_url, None) as anonymous:
        yield anonymous


def signed(
    secret: str, body: str, *, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "content-type": "application/json",
    }


def create(session: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = session.post("/api/v1/triggers", json={**ECHO, **body})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def deliver(
    sender: httpx.Client, trigger: dict[str, Any], payload: object, **kw: Any
) -> httpx.Response:
    body = json.dumps(payload)
    return sender.post(
        f"/hooks/{trigger['id']}", content=body, headers=signed(trigger["secret"], body, **kw)
    )


def finished(hub: TaskHub, session: httpx.Client, task_id: str) -> TaskRecord:
    return hub.tasks.wait(session.headers["X-Test-Workspace"], task_id, timeout_s=30)


def deliveries(session: httpx.Client, trigger_id: str) -> dict[str, Any]:
    reply = session.get(f"/api/v1/triggers/{trigger_id}/deliveries")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_a_signed_delivery_submits_the_task_and_a_worker_runs_it(
    api: Api, sender: httpx.Client, hub: TaskHub, worker: Worker
) -> None:
    session = api()
    trigger = create(session)
    assert trigger["secret"].startswith("whsec_")
    assert trigger["task"] == "tests.echo"
    assert trigger["input_mapping"] == {"value": "/data/value"}

    reply = deliver(sender, trigger, {"type": "order.paid", "data": {"value": {"n": 7}}})
    assert reply.status_code == 202, reply.text
    record = finished(hub, session, reply.json()["task_id"])

    assert record.status is Status.COMPLETED
    assert record.type is TaskType.TRIGGERED
    assert record.origin == f"trigger:{trigger['id']}"
    assert record.input == {"value": {"n": 7}}
    assert json.loads(hub.runs.get_output(record.id, "result").content) == {"n": 7}


def test_a_repeated_webhook_id_returns_the_same_task_and_is_logged_once(
    api: Api, sender: httpx.Client
) -> None:
    session = api()
    trigger = create(session)
    payload = {"data": {"value": 1}}
    first = deliver(sender, trigger, payload, msg_id="msg_same")
    again = deliver(sender, trigger, payload, msg_id="msg_same")  # a sender's retry re-signs
    other = deliver(sender, trigger, payload, msg_id="msg_other")

    assert first.status_code == again.status_code == other.status_code == 202
    assert first.json()["task_id"] == again.json()["task_id"] != other.json()["task_id"]
    log = deliveries(session, trigger["id"])
    assert log["total"] == 2
    by_id = {item["webhook_id"]: item for item in log["items"]}
    assert by_id["msg_same"]["task_id"] == first.json()["task_id"]
    assert by_id["msg_other"]["task_id"] == other.json()["task_id"]
    assert by_id["msg_same"]["received_at"]


def test_without_a_mapping_the_payload_is_the_input(
    api: Api, sender: httpx.Client, hub: TaskHub
) -> None:
    session = api()
    trigger = create(session, input_mapping=None)
    reply = deliver(sender, trigger, {"value": "whole"})
    assert reply.status_code == 202
    record = hub.store.get(reply.json()["task_id"], session.headers["X-Test-Workspace"])
    assert record.input == {"value": "whole"}

    not_an_object = deliver(sender, trigger, ["value"])
    assert not_an_object.status_code == 400
    assert not_an_object.json()["field"] == "body"


def test_a_pointer_that_does_not_resolve_is_400_naming_the_input_key(
    api: Api, sender: httpx.Client
) -> None:
    session = api()
    trigger = create(session)
    reply = deliver(sender, trigger, {"data": {"other": 1}})
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["field"] == "value"
    assert "/data/value" in reply.json()["detail"]
    assert deliveries(session, trigger["id"])["total"] == 0


def test_a_delivery_whose_input_the_task_refuses_is_422_and_queues_nothing(
    api: Api, sender: httpx.Client
) -> None:
    session = api()
    report = {"task": "reports.daily_sales", "input_mapping": {"region": "/data/region"}}
    trigger = create(session, **report)
    reply = deliver(sender, trigger, {"data": {"region": 42}})

    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["field"] == "input.region"
    assert reply.json()["detail"] == "input.region: expected a string, got 42"
    assert session.get("/api/v1/tasks").json()["total"] == 0
    assert deliveries(session, trigger["id"])["total"] == 0
    unmapped = create(session, task="reports.daily_sales", input_mapping=None)
    extra = deliver(sender, unmapped, {"region": "US", "type": "order.paid"})
    assert (extra.status_code, extra.json()["field"]) == (422, "input.type")


def test_a_mapping_the_task_cannot_take_is_refused_at_creation(api: Api) -> None:
    session = api()
    cases = [
        ({"regoin": "/data/region"}, "input_mapping.regoin", "unexpected key"),
        ({"day": "/data/day"}, "input_mapping", "maps no value for the required input 'region'"),
    ]
    for mapping, field, message in cases:
        body = {**ECHO, "task": "reports.daily_sales", "input_mapping": mapping}
        reply = session.post("/api/v1/triggers", json=body)
        assert reply.status_code == 422, reply.text
        assert (reply.json()["field"], reply.json()["errors"][0]["message"]) == (field, message)
    assert session.get("/api/v1/triggers").json()["total"] == 0


def test_a_body_that_is_not_json_is_400(api: Api, sender: httpx.Client) -> None:
    trigger = create(api())
    body = "this is not json"
    reply = sender.post(
        f"/hooks/{trigger['id']}", content=body, headers=signed(trigger["secret"], body)
    )
    assert reply.status_code == 400
    assert reply.json()["field"] == "body"


def test_bad_signatures_are_401_and_create_nothing(api: Api, sender: httpx.Client) -> None:
    session = api()
    trigger = create(session)
    url = f"/hooks/{trigger['id']}"
    body = json.dumps({"data": {"value": 1}})
    wrong_secret = signed("whsec_" + "QUJD" * 8, body)
    tampered = signed(trigger["secret"], body)
    stale = signed(trigger["secret"], body, at=datetime.now(UTC) - timedelta(minutes=6))
    future = signed(trigger["secret"], body, at=datetime.now(UTC) + timedelta(minutes=6))
    attempts = [
        (body, wrong_secret),
        (body.replace("1", "2"), tampered),
        (body, stale),
        (body, future),
        (body, {"content-type": "application/json"}),
    ]
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        attempts.append((body, {k: v for k, v in tampered.items() if k != header}))

    for content, headers in attempts:
        reply = sender.post(url, content=content, headers=headers)
        assert reply.status_code == 401, (headers, reply.text)
        assert reply.headers["content-type"] == "application/problem+json"
        assert trigger["secret"] not in reply.text
        if "webhook-signature" in headers:
            assert headers["webhook-signature"] not in reply.text
    assert deliveries(session, trigger["id"])["total"] == 0


def test_a_body_over_the_limit_is_413(api: Api, sender: httpx.Client) -> None:
    trigger = create(api())
    body = json.dumps({"data": {"value": "x" * 1_100_000}})
    reply = sender.post(
        f"/hooks/{trigger['id']}", content=body, headers=signed(trigger["secret"], body)
    )
    assert reply.status_code == 413


def test_unknown_and_deleted_triggers_are_404(api: Api, sender: httpx.Client) -> None:
    session = api()
    trigger = create(session)
    for ident in (str(uuid.uuid4()), "not-a-uuid", "%00", "x" * 300):
        unknown = {**trigger, "id": ident}
        assert deliver(sender, unknown, {"data": {"value": 1}}).status_code == 404
        assert session.get(f"/api/v1/triggers/{ident}").status_code == 404

    assert session.delete(f"/api/v1/triggers/{trigger['id']}").status_code == 204
    assert deliver(sender, trigger, {"data": {"value": 1}}).status_code == 404
    assert session.get(f"/api/v1/triggers/{trigger['id']}").status_code == 404
    assert session.delete(f"/api/v1/triggers/{trigger['id']}").status_code == 404
    assert session.get("/api/v1/triggers").json()["total"] == 0


def test_the_secret_is_shown_only_at_creation(api: Api) -> None:
    session = api()
    trigger = create(session)
    one = session.get(f"/api/v1/triggers/{trigger['id']}")
    listed = session.get("/api/v1/triggers")
    assert one.status_code == listed.status_code == 200
    assert "secret" not in one.json()
    assert listed.json()["total"] == 1
    assert "secret" not in listed.json()["items"][0]
    for reply in (one, listed):
        assert trigger["secret"] not in reply.text
        assert "whsec_" not in reply.text
    assert one.json() == {k: v for k, v in trigger.items() if k != "secret"}


def test_creating_a_trigger_validates_its_fields(api: Api) -> None:
    session = api()
    cases = [
        ({**ECHO, "task": "no.such.task"}, "task"),
        ({**ECHO, "input_mapping": {"value": "data/value"}}, "input_mapping.value"),
        ({"task": "tests.echo"}, "name"),
        ({**ECHO, "name": ""}, "name"),
    ]
    for body, field in cases:
        reply = session.post("/api/v1/triggers", json=body)
        assert reply.status_code == 422, reply.text
        assert reply.json()["field"] == field


def test_another_workspace_cannot_see_or_delete_the_trigger(api: Api, sender: httpx.Client) -> None:
    owner, other = api(), api()
    trigger = create(owner)
    assert deliver(sender, trigger, {"data": {"value": 1}}).status_code == 202
    path = f"/api/v1/triggers/{trigger['id']}"

    assert other.get(path).status_code == 404
    assert other.get(f"{path}/deliveries").status_code == 404
    assert other.delete(path).status_code == 404
    assert other.get("/api/v1/triggers").json()["total"] == 0
    assert owner.get(path).status_code == 200
    assert deliveries(owner, trigger["id"])["total"] == 1


def test_management_needs_an_api_key(sender: httpx.Client) -> None:
    assert sender.get("/api/v1/triggers").status_code == 401
    assert sender.post("/api/v1/triggers", json=ECHO).status_code == 401
