"""What a final outcome tells people: one stored notification per outcome, and callbacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from taskhub.domain.records import NewNotification, Notification, TaskRecord
from taskhub.domain.states import Outcome
from taskhub.services import webhooks

if TYPE_CHECKING:
    from taskhub.hub import TaskHub

log = logging.getLogger(__name__)

Callback = Callable[[Notification | NewNotification, TaskRecord], None]
# what the worker side calls after an outcome is stored: announce() bound to a hub
Announce = Callable[[TaskRecord | None, Outcome, NewNotification | None], None]
CALLBACKS: list[Callback] = []


def on_notification(callback: Callback) -> Callback:
    """Register ``callback(notification, record)``; called in the worker after each outcome."""
    CALLBACKS.append(callback)
    return callback


def describe(outcome: Outcome) -> Callable[[TaskRecord], NewNotification]:
    """A builder for the notification of ``outcome``, given the record as it was just written."""

    def build(record: TaskRecord) -> NewNotification:
        if outcome is Outcome.COMPLETED:
            text = f"{record.task_name} completed after {record.attempt} attempt(s)."
            return NewNotification(outcome, f"Completed: {record.name}", text)
        if outcome is Outcome.CANCELLED:
            return NewNotification(outcome, f"Cancelled: {record.name}", "The task was cancelled.")
        error = record.error
        text = f"{error.type}: {error.message}" if error else "The task failed."
        if error is None or error.type != "WorkerLost":  # that message counts its own attempts
            text += f" (attempt {record.attempt} of {record.options.max_retries + 1})"
        return NewNotification(outcome, f"Failed: {record.name}", text)

    return build


def fire(notification: NewNotification, record: TaskRecord) -> None:
    """Call every registered callback; one that raises is logged and does not stop the rest."""
    for callback in CALLBACKS:
        try:
            callback(notification, record)
        except Exception:
            log.exception("notification callback %r failed", callback)


def announce(
    hub: TaskHub,
    record: TaskRecord | None,
    outcome: Outcome,
    note: NewNotification | None = None,
) -> None:
    """The one hook after an outcome's notification is stored: callbacks, then webhooks.

    ``record`` is ``None`` when the transition did not happen (nothing was stored); ``note`` is
    the notification as stored, when the caller already built it.
    """
    if record is None:
        return
    fire(note or describe(outcome)(record), record)
    webhooks.enqueue(hub, record, outcome)
