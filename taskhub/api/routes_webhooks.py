"""Outbound webhook subscriptions: taskhub POSTs each notification, signed, to every URL."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from taskhub.api.deps import HubDep, WorkspaceDep
from taskhub.api.pages import BAD_BODY, BAD_QUERY, NEEDS_KEY, Limit, Page, Skip
from taskhub.api.problems import problems
from taskhub.domain.hooks import Subscription, WebhookDelivery

router = APIRouter(tags=["webhooks"], responses=problems(NEEDS_KEY))
NOT_FOUND = {404: "No such subscription in this workspace (or it was deleted)."}


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        pattern=r"^https?://",
        max_length=2000,
        description="An http:// or https:// URL that receives the POSTs.",
    )


class SubscriptionOut(BaseModel):
    id: str
    url: str
    created_at: datetime

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(id=s.id, url=s.url, created_at=s.created_at)


class NewSubscriptionOut(SubscriptionOut):
    secret: str = Field(description="Verifies our signatures (whsec_...): shown only this once.")


class DeliveryOut(BaseModel):
    id: int
    notification_id: int
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeliveryOut:
        return cls.model_validate(d, from_attributes=True)


@router.post("/webhooks", status_code=201, responses=problems(BAD_BODY))
def subscribe(body: SubscriptionIn, hub: HubDep, workspace: WorkspaceDep) -> NewSubscriptionOut:
    """Subscribe a URL to the workspace's notifications. The secret is in this response only."""
    subscription, secret = hub.webhooks.subscribe(workspace.id, body.url)
    return NewSubscriptionOut(**SubscriptionOut.of(subscription).model_dump(), secret=secret)


@router.get("/webhooks", responses=problems(BAD_QUERY))
def list_subscriptions(
    hub: HubDep, workspace: WorkspaceDep, limit: Limit = 25, skip: Skip = 0
) -> Page[SubscriptionOut]:
    """The workspace's subscriptions, newest first (no secrets)."""
    items, total = hub.webhooks.page(workspace.id, limit=limit, skip=skip)
    return Page(items=[SubscriptionOut.of(s) for s in items], total=total, limit=limit, skip=skip)


@router.get("/webhooks/{subscription_id}", responses=problems(NOT_FOUND))
def get_subscription(subscription_id: str, hub: HubDep, workspace: WorkspaceDep) -> SubscriptionOut:
    return SubscriptionOut.of(hub.webhooks.get(workspace.id, subscription_id))


@router.delete(
    "/webhooks/{subscription_id}",
    status_code=204,
    response_class=Response,
    responses=problems(NOT_FOUND),
)
def unsubscribe(subscription_id: str, hub: HubDep, workspace: WorkspaceDep) -> Response:
    """Stop sending to this URL (deliveries still pending are not sent)."""
    hub.webhooks.unsubscribe(workspace.id, subscription_id)
    return Response(status_code=204)


@router.get("/webhooks/{subscription_id}/deliveries", responses=problems(NOT_FOUND, BAD_QUERY))
def list_deliveries(
    subscription_id: str, hub: HubDep, workspace: WorkspaceDep, limit: Limit = 25, skip: Skip = 0
) -> Page[DeliveryOut]:
    """Each notification sent to this URL: pending, delivered or failed, with its attempts."""
    items, total = hub.webhooks.deliveries(workspace.id, subscription_id, limit=limit, skip=skip)
    return Page(items=[DeliveryOut.of(d) for d in items], total=total, limit=limit, skip=skip)
