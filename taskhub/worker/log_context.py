"""The worker's logging: JSON lines when ``TASKHUB_LOG_FORMAT=json``, and every record logged
while a task runs naming its ``task_id`` and ``workspace_id`` (:mod:`taskhub.logs`).

Celery sets logging up in the worker's main process and again in each pool process
(``after_setup_logger``, ``after_setup_task_logger``): the handlers it made get the task fields
and, for JSON, our formatter. ``task_prerun`` binds the task's id, the claim
(:mod:`taskhub.worker.binding`) adds its workspace, ``task_postrun`` unbinds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery, signals

from taskhub.logs import bind_task, format_handlers
from taskhub.worker.signals import Receivers, connect_all


def connect(app: Celery, log_format: str) -> Callable[[], None]:
    """Connect the logging receivers for ``app``'s workers; returns what disconnects them."""
    uid = f"taskhub-logs-{id(app)}"

    def on_setup(logger: logging.Logger | None = None, **_: Any) -> None:
        if logger is not None:
            format_handlers(logger, log_format)

    def on_prerun(sender: Any = None, task_id: str = "", **_: Any) -> None:
        if getattr(sender, "app", None) is app:
            bind_task(task_id)

    def on_postrun(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is app:
            bind_task(None)

    receivers: Receivers = [
        (signals.after_setup_logger, on_setup, "setup"),
        (signals.after_setup_task_logger, on_setup, "setup-task"),
        (signals.task_prerun, on_prerun, "prerun"),
        (signals.task_postrun, on_postrun, "postrun"),
    ]
    return connect_all(receivers, uid)
