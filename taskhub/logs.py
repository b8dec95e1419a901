"""Log lines as text or JSON (``TASKHUB_LOG_FORMAT``), each carrying the task it was logged for.

Stdlib logging only. The worker marks the task a pool process runs (:func:`bind_task`, from its
claim and Celery's ``task_prerun``/``task_postrun`` signals), and :class:`TaskFields` copies
``task_id`` and ``workspace_id`` onto every record logged meanwhile, whichever logger logs it:
the task body's own, taskhub's, Celery's. :class:`JsonFormatter` writes one JSON object per line.
This module imports nothing of taskhub's: every layer may use it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(message)s"
FIELDS = ("task_id", "workspace_id")
_TASK: ContextVar[dict[str, str] | None] = ContextVar("taskhub_log_task", default=None)
_INSTALLED = "_taskhub_fields"  # marks a handler this module already set up


def bind_task(task_id: str | None, workspace_id: str | None = None) -> None:
    """Log records from now on (in this thread) name ``task_id`` and ``workspace_id``;
    ``bind_task(None)`` ends that."""
    fields = {"task_id": task_id} if task_id else {}
    if task_id and workspace_id:
        fields["workspace_id"] = workspace_id
    _TASK.set(fields)


class TaskFields(logging.Filter):
    """Adds ``task_id`` and ``workspace_id`` (those bound, else ``None``) to each record. A
    Celery record about a task outside one (the worker's main process: "received") names its
    ``task_id`` from the ``data`` Celery attaches to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _TASK.get() or {}
        data = getattr(record, "data", None)
        if not bound and isinstance(data, dict) and isinstance(data.get("id"), str):
            bound = {"task_id": data["id"]}
        for name in FIELDS:
            setattr(record, name, bound.get(name) or getattr(record, name, None))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, process, the
    task fields, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def format_handlers(logger: logging.Logger, log_format: str) -> None:
    """Give each of ``logger``'s handlers the task fields, and JSON lines when ``log_format``
    is ``json`` (text keeps the handler's own format)."""
    for handler in logger.handlers:
        if not getattr(handler, _INSTALLED, False):
            handler.addFilter(TaskFields())
            setattr(handler, _INSTALLED, True)
        if log_format == "json":
            handler.setFormatter(JsonFormatter())


def configure(log_format: str, loggers: tuple[str, ...] = ("uvicorn", "uvicorn.access")) -> None:
    """For a process other than a worker (the API): JSON lines on the root logger and
    ``loggers`` when ``log_format`` is ``json``; text leaves logging as it is."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.setLevel(logging.INFO)
    for name in ("", *loggers):
        format_handlers(logging.getLogger(name), log_format)
