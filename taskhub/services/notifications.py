"""What a final outcome tells people: one stored notification per outcome, and callbacks."""

from __future__ import annotations

import logging
from collections.abc import Callable

from taskhub.domain.notifications import describe
from taskhub.domain.records import NewNotification, Notification, TaskRecord
from taskhub.domain.states import Outcome
from taskhub.services.webhooks import Webhooks

log = logging.getLogger(__name__)

Callback = Callable[[Notification | NewNotification, TaskRecord], None]
CALLBACKS: list[Callback] = []


def on_notification(callback: Callback) -> Callback:
    """Register ``callback(notification, record)``; called in the worker after each outcome."""
    CALLBACKS.append(callback)
    return callback


def fire(notification: NewNotification, record: TaskRecord) -> None:
    """Call every registered callback; one that raises is logged and does not stop the rest."""
    for callback in CALLBACKS:
        try:
            callback(notification, record)
        except Exception:
            log.exception("notification callback %r failed", callback)


class Notifier:
    """The one hook after an outcome's notification is stored: callbacks, webhooks, then the
    tasks waiting for this one."""

    def __init__(
        self, webhooks: Webhooks, settle: Callable[[TaskRecord], None] | None = None
    ) -> None:
        """``settle``: decides the tasks waiting for one that reached a final outcome."""
        self._webhooks = webhooks
        self._settle = settle

    def announce(
        self, record: TaskRecord | None, outcome: Outcome, note: NewNotification | None = None
    ) -> None:
        """``record`` is ``None`` when the transition did not happen (nothing was stored);
        ``note`` is the notification as stored, when the caller already built it."""
        if record is None:
            return
        fire(note or describe(outcome)(record), record)
        self._webhooks.enqueue(record, outcome)
        if record.has_dependents and self._settle is not None:
            self._settle(record)
