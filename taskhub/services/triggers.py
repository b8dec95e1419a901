"""Webhook triggers: a signed POST to ``/hooks/{trigger id}`` submits a task.

A trigger names a task and, optionally, an ``input_mapping`` from the task's input keys to JSON
Pointers (RFC 6901) into the payload; without one, the payload (a JSON object) is the input.
Deliveries are verified as Standard Webhooks define; a repeated ``webhook-id`` returns the task
its first delivery created.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from taskhub.domain import signing
from taskhub.domain.clock import now
from taskhub.domain.errors import AuthError, PayloadError, ValidationError
from taskhub.domain.hooks import Trigger, TriggerDelivery
from taskhub.domain.registry import lookup
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission
from taskhub.services.tasks import Tasks
from taskhub.store.hooks import HookStore

MAX_NAME_CHARS = 200
MAX_WEBHOOK_ID_CHARS = 150  # the idempotency key "webhook:<trigger id>:<webhook id>" fits 200
POINTER = re.compile(r"(/([^~/]|~[01])*)*")  # RFC 6901: "~" only as "~0" or "~1"


class Triggers:
    """Webhook triggers: signed requests that submit a task."""

    def __init__(self, hooks: HookStore, tasks: Tasks) -> None:
        self._hooks = hooks
        self._tasks = tasks

    def create(
        self,
        workspace_id: str,
        name: str,
        task: str,
        input_mapping: Mapping[str, object] | None = None,
    ) -> tuple[Trigger, str]:
        """A new trigger; its signing secret is returned here and never again."""
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            raise ValidationError("name", f"must be 1-{MAX_NAME_CHARS} characters")
        definition = lookup(task)
        mapping = check_mapping(input_mapping)
        if mapping is not None:  # the input is always these keys: each must be one the task takes
            definition.inputs.check_keys(mapping, "input_mapping")
        secret = signing.new_secret()
        trigger = Trigger(
            id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            name=name.strip(),
            task_name=definition.name,
            input_mapping=mapping,
            created_at=now(),
            secret=secret,
        )
        self._hooks.insert_trigger(trigger)
        return trigger, secret

    def get(self, workspace_id: str, trigger_id: str) -> Trigger:
        return self._hooks.trigger(trigger_id, workspace_id)

    def page(
        self, workspace_id: str, *, limit: int = 25, skip: int = 0
    ) -> tuple[list[Trigger], int]:
        return self._hooks.triggers(workspace_id, limit=limit, skip=skip)

    def delete(self, workspace_id: str, trigger_id: str) -> None:
        """Soft delete: the trigger and its log stay, its hook answers 404 from now on."""
        self._hooks.delete_trigger(workspace_id, trigger_id, now())

    def deliveries(
        self, workspace_id: str, trigger_id: str, *, limit: int = 25, skip: int = 0
    ) -> tuple[list[TriggerDelivery], int]:
        hooks = self._hooks
        hooks.trigger(trigger_id, workspace_id)  # scope check: another workspace's is not found
        return hooks.trigger_deliveries(trigger_id, limit=limit, skip=skip)

    def delivery_summaries(
        self, triggers: Sequence[Trigger]
    ) -> dict[str, tuple[TriggerDelivery | None, int]]:
        """For a page of the workspace's triggers (as :meth:`page` returns them): each one's
        latest delivery and how many it received."""
        return self._hooks.delivery_summaries([trigger.id for trigger in triggers])

    def receive(self, trigger_id: str, headers: Mapping[str, str], body: bytes) -> str:
        """Verify one delivery, submit its task and log it; returns the task id.

        The task and the log row are written in one transaction, and the task is published after
        it commits. A repeated ``webhook-id`` finds the same task and adds no row. A mapped input
        the task's signature refuses raises ``InputError`` (422): nothing is written or queued.
        """
        hooks = self._hooks
        trigger = hooks.trigger(trigger_id)
        try:
            webhook_id = signing.verify(trigger.secret, headers, body, now())
        except signing.SignatureError as exc:
            raise AuthError(f"the webhook signature was refused: {exc}") from None
        if len(webhook_id) > MAX_WEBHOOK_ID_CHARS:
            raise PayloadError("webhook-id", f"is longer than {MAX_WEBHOOK_ID_CHARS} characters")
        task_input = map_input(trigger.input_mapping, parse_body(body))
        ask = Submission(
            type=TaskType.TRIGGERED,
            origin=f"trigger:{trigger.id}",
            idempotency_key=f"webhook:{trigger.id}:{webhook_id}",
        )
        with hooks.session() as session:
            record = self._tasks.submit(
                trigger.workspace_id, trigger.task_name, task_input, ask, session=session
            )
            hooks.log_delivery(session.connection(), trigger, webhook_id, record.id, now())
        return record.id


# -- payloads and JSON Pointers (pure) ---------------------------------------------------------


def parse_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("body", "is not valid JSON") from None


def check_mapping(mapping: object) -> dict[str, str] | None:
    """``None``, or a mapping of input keys to well-formed JSON Pointers."""
    if mapping is None:
        return None
    if not isinstance(mapping, Mapping):
        raise ValidationError("input_mapping", "must be an object of input keys to JSON Pointers")
    for key, pointer in mapping.items():
        if not isinstance(key, str) or not key:
            raise ValidationError("input_mapping", "keys must be non-empty strings")
        if not isinstance(pointer, str) or not is_pointer(pointer):
            raise ValidationError(
                f"input_mapping.{key}", f"is not a JSON Pointer (like '/data/id'): {pointer!r}"
            )
    return dict(mapping)


def map_input(mapping: Mapping[str, str] | None, payload: object) -> dict[str, Any]:
    """The task input for ``payload``: the payload itself, or each key's pointer resolved."""
    if mapping is None:
        if not isinstance(payload, dict):
            raise PayloadError("body", "must be a JSON object (the trigger maps no input)")
        return payload
    task_input: dict[str, Any] = {}
    for key, pointer in mapping.items():
        try:
            task_input[key] = resolve(pointer, payload)
        except LookupError:
            raise PayloadError(
                key, f"the pointer {pointer!r} does not resolve in the payload"
            ) from None
    return task_input


def is_pointer(pointer: str) -> bool:
    return POINTER.fullmatch(pointer) is not None


def resolve(pointer: str, document: object) -> Any:
    """RFC 6901: the value ``pointer`` refers to in ``document``; ``LookupError`` if none."""
    if not is_pointer(pointer):
        raise LookupError(pointer)
    value = document
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            value = value[token]
        elif isinstance(value, list) and _is_index(token) and int(token) < len(value):
            value = value[int(token)]
        else:
            raise LookupError(pointer)
    return value


def _is_index(token: str) -> bool:
    return token.isascii() and token.isdigit() and (token == "0" or not token.startswith("0"))
