"""taskhub's own Celery tasks: a recovery sweep run by hand, the firing of code-defined
schedules, and the delivery of outbound webhooks.

Their bodies are service operations, handed in by the composition root as callables: this
module knows the task names and Celery's options, not the services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery

from taskhub.domain.clock import now
from taskhub.domain.settings import Settings
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission
from taskhub.worker import scheduling
from taskhub.worker.scheduling import ScheduleEntry

SWEEP = "taskhub.sweep"
FIRE = "taskhub.fire_schedule"
DELIVER = "taskhub.deliver_webhook"

# submit(entry, ask) -> task id: records one firing of a code-defined schedule
SubmitScheduled = Callable[[ScheduleEntry, Submission], str]
# deliver(delivery id) -> seconds until the next attempt, or None when it is settled
Deliver = Callable[[int], float | None]


def bind_system_tasks(
    app: Celery,
    settings: Settings,
    *,
    sweep: Callable[[], object],
    submit_scheduled: SubmitScheduled,
    deliver: Deliver,
) -> None:
    entries = scheduling.load()

    @app.task(name=SWEEP, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def sweep_now() -> None:
        """Resend unpublished records, recover lost executions and messages, expire missed
        deadlines. Beat runs the sweep in its own process (:mod:`taskhub.worker.sweep`); this
        task is for running one by hand (``celery -A taskhub.app call taskhub.sweep``)."""
        sweep()

    @app.task(name=FIRE, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def fire_schedule(key: str) -> str:
        """Create the record of one firing of a code-defined schedule (once per fire time)."""
        entry = entries[key]
        fired = entry.fire_time(now())
        ask = Submission(
            name=entry.name,
            priority=entry.priority,
            idempotency_key=f"schedule:{key}:{fired.isoformat()}",
            type=TaskType.SCHEDULED,
            origin=f"schedule:{key}",
        )
        return submit_scheduled(entry, ask)

    soft_limit = settings.webhook_timeout_s * 3  # the POST has its own, tighter timeouts
    limits = {"soft_time_limit": soft_limit, "time_limit": soft_limit + 5}

    @app.task(name=DELIVER, bind=True, shared=False, **limits)  # type: ignore[untyped-decorator]
    def deliver_webhook(self: Any, delivery_id: int) -> None:
        """POST one notification to one subscriber; tried again with backoff until it lands."""
        delay = deliver(delivery_id)
        if delay is not None:
            raise self.retry(countdown=delay, max_retries=None)

    schedule = {
        key: {"task": FIRE, "schedule": e.crontab, "args": (key,)} for key, e in entries.items()
    }
    app.conf.beat_schedule = schedule
    app.conf.beat_schedule_filename = str(settings.home.resolve() / "celerybeat-schedule")
