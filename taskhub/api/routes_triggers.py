"""Webhook triggers: manage them under ``/api/v1/triggers``; senders POST to ``/hooks/{id}``.

The hook takes no API key: the Standard Webhooks signature (made with the trigger's secret,
shown once when it is created) authenticates the sender.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from taskhub.api.deps import HubDep, WorkspaceDep
from taskhub.api.pages import BAD_BODY, BAD_QUERY, NEEDS_KEY, Limit, Page, Skip
from taskhub.api.problems import problems
from taskhub.domain.hooks import Trigger, TriggerDelivery

router = APIRouter(tags=["triggers"], responses=problems(NEEDS_KEY))
hooks = APIRouter(tags=["triggers"])
NOT_FOUND = {404: "No such trigger in this workspace (or it was deleted)."}


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    task: str = Field(min_length=1, max_length=200, description="The registered task to submit.")
    input_mapping: dict[str, str] | None = Field(
        None,
        description="Task input keys to JSON Pointers (RFC 6901) into the payload, e.g. "
        '{"region": "/data/region"}. Absent: the payload (a JSON object) is the input.',
    )


class TriggerOut(BaseModel):
    id: str
    name: str
    task: str
    input_mapping: dict[str, str] | None
    created_at: datetime
    hook_path: str = Field(description="Where senders POST: /hooks/{id}.")

    @classmethod
    def of(cls, t: Trigger) -> TriggerOut:
        return cls(
            id=t.id,
            name=t.name,
            task=t.task_name,
            input_mapping=t.input_mapping,
            created_at=t.created_at,
            hook_path=f"/hooks/{t.id}",
        )


class NewTriggerOut(TriggerOut):
    secret: str = Field(description="The signing secret (whsec_...): shown only this once.")


class DeliveryOut(BaseModel):
    webhook_id: str
    received_at: datetime
    task_id: str | None

    @classmethod
    def of(cls, d: TriggerDelivery) -> DeliveryOut:
        return cls(webhook_id=d.webhook_id, received_at=d.received_at, task_id=d.task_id)


class Accepted(BaseModel):
    task_id: str


@router.post("/triggers", status_code=201, responses=problems(BAD_BODY))
def create_trigger(body: TriggerIn, hub: HubDep, workspace: WorkspaceDep) -> NewTriggerOut:
    """Create a trigger. Its secret is in this response only: keep it."""
    trigger, secret = hub.triggers.create(workspace.id, body.name, body.task, body.input_mapping)
    return NewTriggerOut(**TriggerOut.of(trigger).model_dump(), secret=secret)


@router.get("/triggers", responses=problems(BAD_QUERY))
def list_triggers(
    hub: HubDep, workspace: WorkspaceDep, limit: Limit = 25, skip: Skip = 0
) -> Page[TriggerOut]:
    """The workspace's triggers, newest first (no secrets)."""
    items, total = hub.triggers.page(workspace.id, limit=limit, skip=skip)
    return Page(items=[TriggerOut.of(t) for t in items], total=total, limit=limit, skip=skip)


@router.get("/triggers/{trigger_id}", responses=problems(NOT_FOUND))
def get_trigger(trigger_id: str, hub: HubDep, workspace: WorkspaceDep) -> TriggerOut:
    return TriggerOut.of(hub.triggers.get(workspace.id, trigger_id))


@router.delete(
    "/triggers/{trigger_id}",
    status_code=204,
    response_class=Response,
    responses=problems(NOT_FOUND),
)
def delete_trigger(trigger_id: str, hub: HubDep, workspace: WorkspaceDep) -> Response:
    """Delete a trigger: its hook answers 404 from now on."""
    hub.triggers.delete(workspace.id, trigger_id)
    return Response(status_code=204)


@router.get("/triggers/{trigger_id}/deliveries", responses=problems(NOT_FOUND, BAD_QUERY))
def list_deliveries(
    trigger_id: str, hub: HubDep, workspace: WorkspaceDep, limit: Limit = 25, skip: Skip = 0
) -> Page[DeliveryOut]:
    """The deliveries the trigger accepted, newest first, with the task each created."""
    items, total = hub.triggers.deliveries(workspace.id, trigger_id, limit=limit, skip=skip)
    return Page(items=[DeliveryOut.of(d) for d in items], total=total, limit=limit, skip=skip)


@hooks.post(
    "/hooks/{trigger_id}",
    status_code=202,
    responses=problems(
        {
            400: "The body is not JSON, or a mapped pointer does not resolve; `field` names it.",
            401: "The webhook signature is missing, stale (over 5 minutes) or wrong.",
            404: "No such trigger (or it was deleted).",
            413: "The body is over the size limit.",
            422: "The trigger's task is no longer registered.",
        }
    ),
)
async def receive(trigger_id: str, request: Request, hub: HubDep) -> Accepted:
    """Receive a delivery signed as Standard Webhooks define (``webhook-id``,
    ``webhook-timestamp``, ``webhook-signature``); submits the trigger's task. A repeated
    ``webhook-id`` answers with the task its first delivery created."""
    body = await request.body()
    task_id = await run_in_threadpool(hub.triggers.receive, trigger_id, request.headers, body)
    return Accepted(task_id=task_id)
