"""Celery signal handlers: the one place Celery's outcomes reach the records.

``task_success``, ``task_failure`` and ``task_retry`` run in the process that ran the body (or,
for a hard time limit, in the worker's main process); ``task_revoked`` and ``task_unknown`` (a
message naming a task this worker does not know) in the main process.
A success is handed to the process's :class:`~taskhub.worker.completions.CompletionWriter`; failures
and retries are recorded before the handler returns. Handlers act only on their hub's tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from celery import signals
from celery.exceptions import TimeLimitExceeded
from celery.utils.dispatch import Signal

from taskhub.domain.retries import plan_retry
from taskhub.worker.app import CLAIMED, KILLED_AT_HARD_LIMIT, PlannedRetry, timed_out
from taskhub.worker.lifecycle import error_info
from taskhub.worker.refusals import refuse_unknown

if TYPE_CHECKING:
    from taskhub.hub import TaskHub

log = logging.getLogger(__name__)


def connect(hub: TaskHub) -> Callable[[], None]:
    """Connect this hub's handlers (each ignores tasks that belong to another app); returns
    the function that disconnects them."""
    uid = f"taskhub-{id(hub)}"

    def ours(sender: Any) -> bool:
        return getattr(sender, "app", None) is hub.celery and sender.name in hub.definitions

    def on_success(sender: Any = None, result: Any = None, **_: Any) -> None:
        if ours(sender):
            claimed = getattr(sender.request, CLAIMED, None)
            if claimed is not None:  # the body ran only after a claim
                hub.completions.submit(sender.request.id, result, claimed)

    def on_retry(sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
        if ours(sender) and isinstance(reason, PlannedRetry):
            owner = getattr(request, CLAIMED, None)
            hub.lifecycle.schedule_retry(request.id, reason.error, reason.delay_s, owner=owner)

    def on_failure(sender: Any = None, task_id: str = "", exception: Any = None, **_: Any) -> None:
        if not ours(sender):
            return
        if isinstance(exception, TimeLimitExceeded):
            hard_time_limit(hub, task_id, exception)
        else:
            owner = getattr(sender.request, CLAIMED, None)
            if owner is not None:  # no claim, no execution: nothing ran that could fail
                hub.lifecycle.fail(task_id, error_info(exception), owner=owner)

    def on_revoked(
        sender: Any = None, request: Any = None, expired: bool = False, **_: Any
    ) -> None:
        if ours(sender) and expired:
            hub.lifecycle.expire(request.id)

    def on_unknown(sender: Any = None, name: str = "", id: str = "", **_: Any) -> None:
        if getattr(sender, "app", None) is hub.celery:  # sender: the worker's consumer
            refuse_unknown(hub, id, name)

    def on_process_init(**_: Any) -> None:
        hub.engine.dispose(close=False)  # connections are not shared across a fork
        hub.store.pin_connections()  # a pool process runs statement after statement

    def on_process_shutdown(**_: Any) -> None:
        if not hub.completions.flush():
            log.warning("pool process exits with task outcomes unwritten; the sweep will rerun")

    def on_beat_init(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is hub.celery:
            hub.sweeper.start()

    receivers: list[tuple[Signal, Callable[..., None], str]] = [
        (signals.beat_init, on_beat_init, "beat"),
        (signals.beat_embedded_init, on_beat_init, "beat-in"),
        (signals.task_success, on_success, "success"),
        (signals.task_retry, on_retry, "retry"),
        (signals.task_failure, on_failure, "failure"),
        (signals.task_revoked, on_revoked, "revoked"),
        (signals.task_unknown, on_unknown, "unknown"),
        (signals.worker_process_init, on_process_init, "init"),
        (signals.worker_process_shutdown, on_process_shutdown, "shutdown"),
    ]
    for signal, receiver, name in receivers:
        signal.connect(receiver, weak=False, dispatch_uid=f"{uid}-{name}")

    def disconnect() -> None:
        for signal, receiver, name in receivers:
            signal.disconnect(receiver, dispatch_uid=f"{uid}-{name}")

    return disconnect


def hard_time_limit(hub: TaskHub, task_id: str, exc: BaseException) -> None:
    """The body ignored its soft limit and was killed: fail it, or retry if allowed — only if
    the record still belongs to the killed execution."""
    executor = KILLED_AT_HARD_LIMIT.pop(task_id, None)
    if executor is None:
        return
    record = hub.store.get(task_id)
    failure = timed_out(record, exc)
    failure.args = (f"{failure} (killed at the hard limit)",)
    definition = hub.definitions[record.task_name]
    delay = plan_retry(
        record,
        failure,
        dont_retry=definition.dont_retry,
        now=datetime.now(UTC),
        cap_s=hub.settings.max_retry_delay_s,
    )
    if delay is None:
        hub.lifecycle.fail(task_id, error_info(failure), executor=executor)
    else:
        hub.lifecycle.schedule_retry(task_id, error_info(failure), delay, executor=executor)
