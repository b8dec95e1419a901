"""taskhub: durable task records for Celery. Every task is a row; its status tells the truth."""

from __future__ import annotations

from taskhub.domain.errors import (
    DuplicateTaskError,
    InputError,
    NotFoundError,
    TaskhubError,
    TaskTimeoutError,
    TransitionError,
    UnknownTaskError,
    ValidationError,
)
from taskhub.domain.records import TaskRecord
from taskhub.domain.registry import TaskDefinition, task
from taskhub.domain.settings import Settings
from taskhub.domain.states import Status, StepStatus, TaskType
from taskhub.hub import TaskHub
from taskhub.services.notifications import on_notification
from taskhub.worker.context import TaskContext

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
    "on_notification",
    "task",
]
