"""taskhub's own Celery tasks: a recovery sweep run by hand, and the delivery of outbound
webhooks. (Schedules fire in beat's own process: :mod:`taskhub.worker.beat`.)

Their bodies are service operations, handed in by the composition root as callables: this
module knows the task names and Celery's options, not the services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery

from taskhub.domain.settings import Settings

SWEEP = "taskhub.sweep"
DELIVER = "taskhub.deliver_webhook"

# deliver(delivery id) -> seconds until the next attempt, or None when it is settled
Deliver = Callable[[int], float | None]


def bind_system_tasks(
    app: Celery,
    settings: Settings,
    *,
    sweep: Callable[[], object],
    deliver: Deliver,
) -> None:
    @app.task(name=SWEEP, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def sweep_now() -> None:
        """Resend unpublished records, recover lost executions and messages, expire missed
        deadlines. Beat runs the sweep in its own process (:mod:`taskhub.worker.sweep`); this
        task is for running one by hand (``celery -A taskhub.app call taskhub.sweep``)."""
        sweep()

    soft_limit = settings.webhook_timeout_s * 3  # the POST has its own, tighter timeouts
    limits = {"soft_time_limit": soft_limit, "time_limit": soft_limit + 5}

    @app.task(name=DELIVER, bind=True, shared=False, **limits)  # type: ignore[untyped-decorator]
    def deliver_webhook(self: Any, delivery_id: int) -> None:
        """POST one notification to one subscriber; tried again with backoff until it lands."""
        delay = deliver(delivery_id)
        if delay is not None:
            raise self.retry(countdown=delay, max_retries=None)
