"""Pure webhook logic: JSON Pointers, input mappings, URLs, payloads, signatures, the cache."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from taskhub.domain import signing
from taskhub.domain.errors import PayloadError, ValidationError
from taskhub.domain.hooks import DeliveryJob, WebhookDelivery
from taskhub.domain.records import Notification
from taskhub.domain.states import Outcome
from taskhub.services import egress, webhooks
from taskhub.services.triggers import check_mapping, map_input, parse_body, resolve

DOC: dict[str, Any] = {
    "data": {"region": "EU", "items": [10, 20, {"id": "x"}], "empty": None},
    "a/b": 1,
    "m~n": 2,
    "": 3,
}


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("", DOC),
        ("/data/region", "EU"),
        ("/data/items/0", 10),
        ("/data/items/2/id", "x"),
        ("/data/empty", None),
        ("/a~1b", 1),
        ("/m~0n", 2),
        ("/", 3),
    ],
)
def test_pointers_resolve_as_rfc_6901_says(pointer: str, value: object) -> None:
    assert resolve(pointer, DOC) == value


@pytest.mark.parametrize(
    "pointer",
    [
        "/nope",
        "/data/items/3",
        "/data/items/-",
        "/data/items/01",
        "/data/region/x",
        "data",
        "/~2",
        "/~~01",
    ],
)
def test_pointers_that_do_not_resolve_raise_lookup_error(pointer: str) -> None:
    with pytest.raises(LookupError):
        resolve(pointer, DOC)


def test_a_mapping_builds_the_input_and_names_the_key_that_does_not_resolve() -> None:
    mapping = {"region": "/data/region", "first": "/data/items/0"}
    assert map_input(mapping, DOC) == {"region": "EU", "first": 10}
    assert map_input({}, DOC) == {}
    with pytest.raises(PayloadError) as refused:
        map_input({"region": "/data/region", "user": "/data/user"}, DOC)
    assert refused.value.field == "user"


def test_without_a_mapping_the_payload_is_the_input_and_must_be_an_object() -> None:
    assert map_input(None, {"x": 1}) == {"x": 1}
    for payload in ([1, 2], "text", 3, None):
        with pytest.raises(PayloadError) as refused:
            map_input(None, payload)
        assert refused.value.field == "body"


def test_mappings_are_checked_when_a_trigger_is_created() -> None:
    assert check_mapping(None) is None
    assert check_mapping({"a": "/x", "whole": ""}) == {"a": "/x", "whole": ""}
    for bad in ({"a": "x"}, {"a": "/~x"}, {"a": 3}, {"": "/x"}, ["/x"]):
        with pytest.raises(ValidationError) as refused:
            check_mapping(bad)
        assert refused.value.field.startswith("input_mapping")


def test_a_body_that_is_not_json_is_a_payload_error() -> None:
    assert parse_body(b'{"a": [1]}') == {"a": [1]}
    for body in (b"", b"{nope", b"\xff\xfe"):
        with pytest.raises(PayloadError):
            parse_body(body)


@pytest.mark.parametrize("url", ["http://example.com/hook", "https://93.184.215.14:8443/x?y=1"])
def test_subscription_urls_must_be_http_or_https(url: str) -> None:
    assert webhooks.check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[::1]:8080/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_a_subscription_to_a_private_address_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        webhooks.check_url(url)
    assert refused.value.field == "url" and "private" in str(refused.value)
    assert webhooks.check_url(url, allow_private=True) == url


def _resolving(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    def getaddrinfo(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(egress.socket, "getaddrinfo", getaddrinfo)


def test_a_webhook_goes_to_the_address_that_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving(monkeypatch, "93.184.215.14")
    target = egress.target("https://bob:pw@hooks.example.com:8443/in?x=1", allow_private=False)
    assert target.url == "https://bob:pw@93.184.215.14:8443/in?x=1"
    assert target.headers == {"host": "hooks.example.com:8443"}
    assert target.extensions == {"sni_hostname": "hooks.example.com"}  # TLS checks the name


def test_a_name_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving(monkeypatch, "93.184.215.14", "10.0.0.7")
    with pytest.raises(egress.EgressRefused, match=r"10\.0\.0\.7"):
        egress.target("http://sneaky.example.com/hook", allow_private=False)
    assert egress.target("http://localhost/x", allow_private=True).url == "http://localhost/x"


@pytest.mark.parametrize(
    "url", ["ftp://example.com", "example.com/hook", "http://", "https://h:port/", "x" * 2001, 7]
)
def test_other_urls_are_refused_on_the_url_field(url: object) -> None:
    with pytest.raises(ValidationError) as refused:
        webhooks.check_url(url)
    assert refused.value.field == "url"


def _delivery(subscription_id: str, notification_id: int) -> WebhookDelivery:
    at = datetime.now(UTC)
    return WebhookDelivery(1, subscription_id, notification_id, "pending", 0, None, None, at, None)


def test_the_webhook_id_is_stable_per_subscription_and_notification() -> None:
    first = webhooks.message_id(_delivery("s1", 7))
    assert first == webhooks.message_id(_delivery("s1", 7))
    assert first != webhooks.message_id(_delivery("s2", 7))
    assert first != webhooks.message_id(_delivery("s1", 8))


def test_the_payload_is_the_notification_signed_so_a_library_verifies_it() -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    note = Notification(9, "w", "t", Outcome.FAILED, "error", "Failed: x", "Boom", at, None)
    body = webhooks.payload(note)
    assert json.loads(body) == {
        "type": "task.failed",
        "id": 9,
        "task_id": "t",
        "kind": "error",
        "outcome": "failed",
        "title": "Failed: x",
        "description": "Boom",
        "created_at": "2030-01-02T03:04:05Z",
    }
    secret = signing.new_secret()
    headers = signing.headers(secret, "msg_1", int(datetime.now(UTC).timestamp()), body)
    assert Webhook(secret).verify(body, headers)["id"] == 9


class CountingStore:
    def __init__(self) -> None:
        self.asked = 0

    def has_subscriptions(self, workspace_id: str) -> bool:
        self.asked += 1
        return False


def test_the_subscriber_check_is_remembered_between_outcomes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting: Any = CountingStore()
    cache = webhooks.SubscriberCache()
    assert not any(cache.has(counting, 60.0, "w1") for _ in range(100))
    assert counting.asked == 1
    cache.forget("w1")
    cache.has(counting, 60.0, "w1")
    assert counting.asked == 2


def test_a_pinned_post_reaches_the_address_and_names_the_host() -> None:
    """The POST goes to the checked address while the receiver still sees its own host name."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers["host"])
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        at = datetime.now(UTC)
        note = Notification(9, "w", "t", Outcome.COMPLETED, "success", "Done", "", at, None)
        job = DeliveryJob(_delivery("s1", 9), "unused", "whsec_" + "A" * 32, True, note)
        where = egress.Target(
            f"http://127.0.0.1:{port}/hook",
            {"host": f"hooks.example.com:{port}"},
            {"sni_hostname": "hooks.example.com"},
        )
        assert webhooks._post(job, where, 2.0) == (204, None)
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [f"hooks.example.com:{port}"]
