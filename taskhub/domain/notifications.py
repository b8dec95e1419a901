"""What a final outcome tells people (pure): the notification text of each outcome."""

from __future__ import annotations

from collections.abc import Callable

from taskhub.domain.records import NewNotification, TaskRecord
from taskhub.domain.states import Outcome

# what the worker side calls after an outcome is stored (the services' Notifier.announce)
Announce = Callable[[TaskRecord | None, Outcome, NewNotification | None], None]


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
