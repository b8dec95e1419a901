"""taskhub's own Celery tasks: the recovery sweep and the firing of code-defined schedules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import scheduling, service
from .clock import now
from .states import TaskType
from .submissions import Submission

if TYPE_CHECKING:
    from .hub import TaskHub

SWEEP = "taskhub.sweep"
FIRE = "taskhub.fire_schedule"


def bind_system_tasks(hub: TaskHub) -> None:
    app = hub.celery
    entries = scheduling.load()

    @app.task(name=SWEEP, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def sweep() -> None:
        """Resend unpublished records, recover lost executions, expire missed deadlines."""
        hub.dispatcher.sweep()

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

    schedule = {
        key: {"task": FIRE, "schedule": e.crontab, "args": (key,)} for key, e in entries.items()
    }
    schedule[SWEEP] = {"task": SWEEP, "schedule": hub.settings.sweep_interval_s}
    app.conf.beat_schedule = schedule
    app.conf.beat_schedule_filename = str(hub.settings.home.resolve() / "celerybeat-schedule")
