"""Webhooks in and out, as records: triggers and what they received, subscriptions and the
deliveries made to them (pure; :mod:`taskhub.store.hooks` reads and writes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from taskhub.domain.records import Notification

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class Trigger:
    id: str
    workspace_id: str
    name: str
    task_name: str
    input_mapping: dict[str, str] | None
    created_at: datetime
    secret: str = field(repr=False)


@dataclass(frozen=True)
class TriggerDelivery:
    webhook_id: str
    task_id: str | None
    received_at: datetime


@dataclass(frozen=True)
class Subscription:
    id: str
    workspace_id: str
    url: str
    created_at: datetime
    secret: str = field(repr=False)


@dataclass(frozen=True)
class WebhookDelivery:
    id: int
    subscription_id: str
    notification_id: int
    status: str
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeliveryJob:
    """What one delivery attempt needs: the delivery, where it goes, and what it says."""

    delivery: WebhookDelivery
    url: str
    secret: str = field(repr=False)
    subscription_live: bool
    notification: Notification
