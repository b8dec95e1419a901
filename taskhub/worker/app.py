"""The Celery app: its factory and configuration, the task class, time limits, priorities.

How a definition becomes a Celery task is :mod:`taskhub.worker.binding`; this module imports
nothing of taskhub's worker, so the publisher and the sweep can use it without a cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task
from celery.worker.request import Request

from taskhub.domain.registry import PRIORITY_MAX
from taskhub.domain.settings import Settings
from taskhub.worker import timers

# (worker, pool pid) of each task killed at its hard time limit, until task_failure reads it:
# Celery's main process sends that signal without the request, and only the killed execution
# may be failed by it (another may have taken the record over meanwhile).
KILLED_AT_HARD_LIMIT: dict[str, tuple[str, int]] = {}

# How a publish retries a broker that fails. In the background (the sweep, a worker scheduling a
# retry) nobody waits: three tries over ~0.9 s. When someone waits for the answer (submit,
# resume, retry) a blip gets one more try 0.1 s later, and then the record is returned not
# dispatched (the sweep publishes it): ~0.1 s with the broker refusing connections, at most
# ~2 x ``broker_connect_timeout_s`` + 0.1 s with a broker host that does not answer.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
INTERACTIVE_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.1,
    "interval_step": 0.1,
    "interval_max": 0.1,
}


def create_celery(settings: Settings) -> Celery:
    app = Celery("taskhub", set_as_current=False)
    app.conf.update(
        broker_url=settings.resolved_broker_url,
        broker_transport=transport_class(settings),
        broker_transport_options=transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.default_queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        worker_send_task_events=settings.task_events,
        task_send_sent_event=settings.sent_events,
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        broker_connection_timeout=5,
    )
    timers.install(app)
    return app


def transport_class(settings: Settings) -> str | None:
    """Ours for the embedded broker and plain Redis; kombu's own for anything else."""
    if settings.is_embedded_broker:
        return "taskhub.worker.embedded_transport:Transport"
    if settings.resolved_broker_url.startswith("redis://"):
        return "taskhub.worker.redis_transport:Transport"
    return None


def transport_options(settings: Settings) -> dict[str, Any]:
    if settings.is_embedded_broker:
        folder = settings.broker_folder
        for sub in ("queue", "control", "processed"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "processed_folder": str(folder / "processed"),
            "store_processed": True,  # our Channel claims into it, then deletes
            "polling_interval": settings.filesystem_polling_interval_s,
        }
    options: dict[str, Any] = {"visibility_timeout": 3600}
    if settings.resolved_broker_url.startswith(("redis://", "rediss://")):
        options.update(priority_steps=list(range(10)), sep=":", queue_order_strategy="priority")
        # without it a host that does not answer holds a publish for the OS's TCP timeout (~2 min)
        options["socket_connect_timeout"] = settings.broker_connect_timeout_s
    return options


def broker_priority(settings: Settings, priority: int) -> int:
    """Our priority is 0-9, higher first; Redis runs lower numbers first, AMQP higher."""
    url = settings.resolved_broker_url
    return PRIORITY_MAX - priority if url.startswith(("redis://", "rediss://")) else priority


class DeadlineRequest(Request):  # type: ignore[misc]
    """Caps a task's time limits at what is left before its deadline, read when it starts.

    Celery's worker reads ``time_limits`` as it hands the request to the pool, so the cap is a
    property: ``min(timeout, deadline - now)`` at that moment, the hard limit keeping its grace.
    """

    _limits: tuple[float | None, float | None] = (None, None)

    @property
    def time_limits(self) -> tuple[float | None, float | None]:
        hard, soft = self._limits
        if self.expires is None or soft is None or hard is None:
            return hard, soft
        left = max((self.expires - datetime.now(UTC)).total_seconds(), 0.1)
        return (left + hard - soft, left) if left < soft else (hard, soft)

    @time_limits.setter
    def time_limits(self, value: tuple[float | None, float | None]) -> None:
        self._limits = value

    def on_timeout(self, soft: bool, timeout: float) -> None:
        if not soft and self.worker_pid is not None:
            KILLED_AT_HARD_LIMIT[self.id] = (self.hostname or "unknown", self.worker_pid)
        super().on_timeout(soft, timeout)


class TaskhubTask(Task):  # type: ignore[misc]
    Request = DeadlineRequest
    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True
    typing = False
