"""taskhub: durable task records for Celery. Every task is a row; its status tells the truth."""

from __future__ import annotations

from . import accounts
from .errors import (
    DuplicateTaskError,
    InputError,
    NotFoundError,
    TaskhubError,
    TaskTimeoutError,
    TransitionError,
    UnknownTaskError,
    ValidationError,
)
from .hub import TaskHub
from .notifications import on_notification
from .records import TaskRecord
from .registry import TaskDefinition, task
from .runtime import TaskContext
from .settings import Settings
from .states import Status, StepStatus, TaskType

__all__ = [
    "DuplicateTaskError",
    "InputError",
    "NotFoundError",
    "Settings",
    "Status",
    "StepStatus",
    "TaskContext",
    "TaskDefinition",
    "TaskHub",
    "TaskRecord",
    "TaskTimeoutError",
    "TaskType",
    "TaskhubError",
    "TransitionError",
    "UnknownTaskError",
    "ValidationError",
    "accounts",
    "on_notification",
    "task",
]
