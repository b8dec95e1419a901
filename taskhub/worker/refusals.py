"""A message no worker can run: its task name is not registered in the worker.

Celery discards such a message ("Received unregistered task ... discarded") and sends
``task_unknown`` in the worker's main process; :mod:`taskhub.worker.signals` hands it here, and the
record ends ``failed`` (action ``refuse``) with one failure notification, instead of staying
``pending`` for ever. Only a waiting record of this hub's database with that very task name
moves: a message of another app, or a stale one, changes nothing.
"""

from __future__ import annotations

import logging

from taskhub.domain.errors import StoreError
from taskhub.domain.records import ErrorInfo, TaskRecord
from taskhub.worker.lifecycle import Lifecycle

log = logging.getLogger(__name__)

UNKNOWN_TASK = "UnknownTask"


def unknown_task(task_name: str) -> ErrorInfo:
    return ErrorInfo(
        UNKNOWN_TASK, f"no worker knows task {task_name} — is its module in TASKHUB_IMPORTS?"
    )


def refuse_unknown(lifecycle: Lifecycle, task_id: str, task_name: str) -> TaskRecord | None:
    """Fail the record of a message whose task this worker does not know; ``None`` if there is
    no such waiting record (the message is not ours, or the record has moved on)."""
    error = unknown_task(task_name)
    try:
        record = lifecycle.fail(task_id, error, action="refuse", task_name=task_name)
    except StoreError:
        log.exception(
            "task %s (%s) is unknown here and could not be marked failed", task_id, task_name
        )
        return None
    if record is not None:
        log.error("task %s failed: %s", task_id, error.message)
    return record
