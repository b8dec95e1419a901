"""Lists of tasks: which tasks (a filter), pages of them, and the opaque cursors that continue
them (pure, no I/O).

A cursor is base64url (unpadded) of ``{"c": created_at ISO 8601, "i": id}``: the last task of the
page it came from. It is opaque to clients, and validated when it comes back.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from taskhub.domain.errors import ValidationError
from taskhub.domain.records import TaskRecord
from taskhub.domain.states import Status, TaskType

MAX_CURSOR_CHARS = 200


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks of one workspace: every set field must match (:mod:`taskhub.store.queries`)."""

    workspace_id: str
    status: Status | None = None
    task_name: str | None = None
    type: TaskType | None = None
    origin: str | None = None
    q: str | None = None  # case-insensitive search in the display name
    error_type: str | None = None  # the exception's type name (failures grouped by exception)
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class Position:
    """Where a page ends in the list's order: the last task shown."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class Page:
    """One page of a list: ``total`` counts every match, unless ``total_exact`` is false: then
    more than ``total`` match (a bounded count stopped there: ``count_up_to`` of
    ``Tasks.list_tasks``); ``next_cursor`` is set when more follow."""

    items: list[TaskRecord]
    total: int
    limit: int
    skip: int
    next_cursor: str | None
    total_exact: bool = True


def encode_cursor(record: TaskRecord) -> str:
    data = json.dumps({"c": record.created_at.isoformat(), "i": record.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "after") -> Position:
    """The position ``cursor`` stands for; ``ValidationError`` on ``field`` if it is not one."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        created_at = datetime.fromisoformat(data["c"])
        ident = data["i"]
        if created_at.tzinfo is None or not isinstance(ident, str) or not ident:
            raise ValueError("incomplete")
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error):
        raise ValidationError(field, "is not a cursor this API returned (next_cursor)") from None
    return Position(created_at, ident)
