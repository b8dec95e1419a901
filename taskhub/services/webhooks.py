"""Outbound webhooks: each stored notification POSTed, signed, to the workspace's subscribers.

After an outcome's notification is stored, :func:`enqueue` writes one pending delivery per live
subscription and queues the ``taskhub.deliver_webhook`` Celery task for each. :func:`deliver`
makes one attempt, signed as Standard Webhooks define (the ``webhook-id`` is stable per
subscription and notification, so receivers can dedupe), and says when to try again.

The sweep (:func:`recover`) queues again what a crash or a broker outage left behind.
The hot path stays cheap: whether a workspace has subscriptions is remembered per process for
``webhook_cache_s``, so a workspace without any costs one indexed query per that interval.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from taskhub.domain import signing
from taskhub.domain.clock import now
from taskhub.domain.errors import ValidationError
from taskhub.domain.hooks import DELIVERED, FAILED, PENDING, DeliveryJob, Subscription
from taskhub.domain.hooks import WebhookDelivery as Delivery
from taskhub.domain.records import Notification, TaskRecord
from taskhub.domain.retries import backoff_s
from taskhub.domain.settings import Settings
from taskhub.domain.states import Outcome
from taskhub.services import egress
from taskhub.store.hooks import HookStore
from taskhub.worker.publisher import Dispatcher
from taskhub.worker.system_tasks import DELIVER

log = logging.getLogger(__name__)

DELIVERY_PRIORITY = 5
USER_AGENT = "taskhub-webhooks/1"
MAX_URL_CHARS = 2000
MAX_ERROR_CHARS = 500
# how far back the sweep looks for notifications whose deliveries were never created
RECOVER_WINDOW = timedelta(hours=1)
IDS = uuid.UUID("5b0f4d1e-7a54-4c5e-9a55-2f1d3c9e8b71")  # namespace of stable webhook-ids


# -- subscriptions -------------------------------------------------------------------------------


class Webhooks:
    """Outbound webhooks: subscriptions, and the deliveries of each outcome to them."""

    def __init__(self, settings: Settings, hooks: HookStore, publisher: Dispatcher) -> None:
        self._settings = settings
        self._hooks = hooks
        self._publisher = publisher

    def subscribe(self, workspace_id: str, url: str) -> tuple[Subscription, str]:
        """A new subscription; its signing secret is returned here and never again."""
        secret = signing.new_secret()
        url = check_url(url, allow_private=self._settings.webhook_allow_private)
        subscription = Subscription(str(uuid.uuid4()), workspace_id, url, now(), secret)
        self._hooks.insert_subscription(subscription)
        SUBSCRIBERS.forget(workspace_id)
        return subscription, secret

    def get(self, workspace_id: str, subscription_id: str) -> Subscription:
        return self._hooks.subscription(workspace_id, subscription_id)

    def page(
        self, workspace_id: str, *, limit: int = 25, skip: int = 0
    ) -> tuple[list[Subscription], int]:
        return self._hooks.subscriptions(workspace_id, limit=limit, skip=skip)

    def unsubscribe(self, workspace_id: str, subscription_id: str) -> None:
        """Soft delete: its deliveries stay readable; pending ones are not sent."""
        self._hooks.delete_subscription(workspace_id, subscription_id, now())
        SUBSCRIBERS.forget(workspace_id)

    def deliveries(
        self, workspace_id: str, subscription_id: str, *, limit: int = 25, skip: int = 0
    ) -> tuple[list[Delivery], int]:
        hooks = self._hooks
        hooks.subscription(workspace_id, subscription_id)  # scope check
        return hooks.webhook_deliveries(subscription_id, limit=limit, skip=skip)

    def enqueue(self, record: TaskRecord, outcome: Outcome) -> None:
        """Queue the deliveries of ``record``'s ``outcome`` notification. Never raises."""
        try:
            if not SUBSCRIBERS.has(
                self._hooks, self._settings.webhook_cache_s, record.workspace_id
            ):
                return
            ids = self._hooks.create_deliveries(
                record.workspace_id, record.id, record.run, outcome.value, now()
            )
            self._publish(ids)
        except Exception:
            log.exception("could not queue the webhook deliveries of task %s", record.id)

    def _publish(self, ids: list[int]) -> None:
        self._publisher.publish_deliveries(ids, task_name=DELIVER, priority=DELIVERY_PRIORITY)

    def recover(self) -> int:
        """Queue again what a crash or a broker outage left behind; how many deliveries.

        Notifications stored without their deliveries (in the last ``RECOVER_WINDOW``), and pending
        deliveries overdue by more than ``webhook_recover_after_s`` (their message was lost). A
        delivery queued twice is still made once or, at worst, POSTed twice with the same
        ``webhook-id`` for the receiver to dedupe.
        """
        at, hooks = now(), self._hooks
        settled = at - timedelta(seconds=self._settings.webhook_recover_after_s)
        ids = hooks.missing_deliveries(at - RECOVER_WINDOW, settled, at)
        ids += hooks.overdue_deliveries(settled, at)
        self._publish(ids)
        return len(ids)

    def deliver(self, delivery_id: int) -> float | None:
        """One attempt at one delivery; returns seconds until the next attempt, or ``None``."""
        hooks, settings = self._hooks, self._settings
        job = hooks.delivery_job(delivery_id)
        if job is None or job.delivery.status != PENDING:
            return None
        before = job.delivery.attempts
        if not job.subscription_live:
            gone = {"status": FAILED, "last_error": "unsubscribed", "next_attempt_at": None}
            hooks.record_attempt(delivery_id, before, gone)
            return None
        attempts = before + 1
        try:
            status, error = _attempt(
                job, settings.webhook_allow_private, settings.webhook_timeout_s
            )
        except egress.EgressRefused as exc:  # the address will not become public by trying again
            refused = {"status": FAILED, "attempts": attempts, "next_attempt_at": None}
            hooks.record_attempt(delivery_id, before, refused | {"last_error": _short(str(exc))})
            log.warning("webhook delivery %d refused: %s", delivery_id, exc)
            return None
        values: dict[str, Any] = {"attempts": attempts, "response_status": status}
        delay = None
        if error is None:
            values.update(status=DELIVERED, delivered_at=now(), next_attempt_at=None)
        elif attempts >= settings.webhook_max_attempts:
            values.update(status=FAILED, last_error=error, next_attempt_at=None)
        else:
            delay = backoff_s(
                attempts, settings.webhook_retry_delay_s, 2.0, settings.max_retry_delay_s
            )
            values.update(last_error=error, next_attempt_at=now() + timedelta(seconds=delay))
        log.info("webhook delivery %d, attempt %d: %s", delivery_id, attempts, error or status)
        recorded = hooks.record_attempt(delivery_id, before, values)
        return delay if recorded else None


def check_url(url: object, *, allow_private: bool = False) -> str:
    """An absolute http(s) URL with a host (not a private IP address unless allowed), or
    ``ValidationError`` on ``url``. A host name is checked when each delivery resolves it."""
    problem = "must be an absolute http:// or https:// URL"
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        raise ValidationError("url", f"{problem} of at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError("url", problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("url", problem)
    if not allow_private and not egress.literal_is_public(parts.hostname):
        raise ValidationError("url", "must not point to a private or reserved address")
    return url.strip()


class SubscriberCache:
    """Per process: whether a workspace has live subscriptions, remembered for a few seconds."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, bool]] = {}  # workspace id → (valid until, has any)

    def has(self, hooks: HookStore, ttl_s: float, workspace_id: str) -> bool:
        at = time.monotonic()
        cached = self._known.get(workspace_id)
        if cached is not None and cached[0] > at:
            return cached[1]
        has = hooks.has_subscriptions(workspace_id)
        if len(self._known) >= self.MAX_ENTRIES:
            self._known.clear()
        self._known[workspace_id] = (at + ttl_s, has)
        return has

    def forget(self, workspace_id: str) -> None:
        self._known.pop(workspace_id, None)


SUBSCRIBERS = SubscriberCache()


# -- after an outcome --------------------------------------------------------------------------


# -- one attempt -------------------------------------------------------------------------------


def _attempt(
    job: DeliveryJob, allow_private: bool, timeout_s: float
) -> tuple[int | None, str | None]:
    """Resolve, check and POST; (response status, error or ``None``). ``EgressRefused``."""
    try:
        where = egress.target(job.url, allow_private=allow_private)
    except OSError as exc:  # the name did not resolve (now): an attempt that failed
        return None, _short(f"{type(exc).__name__}: {exc}")
    return _post(job, where, timeout_s)


def _post(
    job: DeliveryJob, where: egress.Target, timeout_s: float
) -> tuple[int | None, str | None]:
    """POST the signed notification; returns (response status, error or ``None`` on 2xx)."""
    body = payload(job.notification)
    headers = signing.headers(job.secret, message_id(job.delivery), int(time.time()), body)
    headers.update({"content-type": "application/json", "user-agent": USER_AGENT})
    headers.update(where.headers)
    try:
        with (
            httpx.Client(timeout=timeout_s, follow_redirects=False) as client,
            client.stream(
                "POST", where.url, content=body, headers=headers, extensions=where.extensions
            ) as response,
        ):
            if response.is_success:
                return response.status_code, None
            return response.status_code, _short(f"HTTP {response.status_code}: {_some(response)}")
    except Exception as exc:  # whatever the URL or the network did is this attempt's error
        return None, _short(f"{type(exc).__name__}: {exc}")


def _some(response: httpx.Response, limit: int = 200) -> str:
    """The start of a response body, without reading more of it than that."""
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= limit:
            break
    return head[:limit].decode(errors="replace").strip()


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def message_id(delivery: Delivery) -> str:
    """The ``webhook-id``: the same for every attempt of one notification to one subscriber."""
    return "msg_" + uuid.uuid5(IDS, f"{delivery.subscription_id}/{delivery.notification_id}").hex


def payload(notification: Notification) -> bytes:
    """The body: the notification as the API shows it (without ``read_at``), and its type."""
    body = {
        "type": f"task.{notification.outcome.value}",
        "id": notification.id,
        "task_id": notification.task_id,
        "kind": notification.kind,
        "outcome": notification.outcome.value,
        "title": notification.title,
        "description": notification.description,
        "created_at": notification.created_at.isoformat().replace("+00:00", "Z"),
    }
    return json.dumps(body, separators=(",", ":")).encode()
