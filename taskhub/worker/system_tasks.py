"""taskhub's own Celery tasks: the recovery sweep, the firing of code-defined schedules, and
the delivery of outbound webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskhub.domain.clock import now
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission
from taskhub.services import tasks as service
from taskhub.services import webhooks
from taskhub.worker import scheduling

if TYPE_CHECKING:
    from taskhub.hub import TaskHub

SWEEP = "taskhub.sweep"
FIRE = "taskhub.fire_schedule"


def bind_system_tasks(hub: TaskHub) -> None:
    app = hub.celery
    entries = scheduling.load()

    @app.task(name=SWEEP, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def sweep() -> None:
        """Resend unpublished records, recover lost executions and messages, expire missed
        deadlines. Beat runs the sweep in its own process (:mod:`taskhub.worker.sweep`); this task
        is for running one by hand (``celery -A taskhub.app call taskhub.sweep``)."""
        hub.sweep()

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
        return service.submit(hub, hub.workspace_id, entry.task, entry.input, ask).id

    soft_limit = hub.settings.webhook_timeout_s * 3  # the POST has its own, tighter timeouts
    limits = {"soft_time_limit": soft_limit, "time_limit": soft_limit + 5}

    @app.task(name=webhooks.DELIVER, bind=True, shared=False, **limits)  # type: ignore[untyped-decorator]
    def deliver_webhook(self: Any, delivery_id: int) -> None:
        """POST one notification to one subscriber; tried again with backoff until it lands."""
        delay = webhooks.deliver(hub, delivery_id)
        if delay is not None:
            raise self.retry(countdown=delay, max_retries=None)

    schedule = {
        key: {"task": FIRE, "schedule": e.crontab, "args": (key,)} for key, e in entries.items()
    }
    app.conf.beat_schedule = schedule
    app.conf.beat_schedule_filename = str(hub.settings.home.resolve() / "celerybeat-schedule")
