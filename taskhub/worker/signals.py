"""Celery signal handlers: the one place Celery's outcomes reach the records.

``task_success``, ``task_failure`` and ``task_retry`` run in the process that ran the body (or,
for a hard time limit, in the worker's main process); ``task_revoked`` and ``task_unknown`` (a
message naming a task this worker does not know) in the main process.
A success is handed to the process's :class:`~taskhub.worker.completions.CompletionWriter`; failures
and retries are recorded before the handler returns. Handlers act only on their app's tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from celery import signals
from celery.exceptions import TimeLimitExceeded
from celery.utils.dispatch import Signal

from taskhub.store.tasks import Store
from taskhub.worker import tracing
from taskhub.worker.binding import CLAIMED, Executor, PlannedRetry
from taskhub.worker.completions import CompletionWriter
from taskhub.worker.lifecycle import Lifecycle, error_info
from taskhub.worker.refusals import refuse_unknown
from taskhub.worker.sweep import Sweeper

log = logging.getLogger(__name__)


def connect(
    executor: Executor,
    lifecycle: Lifecycle,
    completions: CompletionWriter,
    store: Store,
    sweepers: Sequence[Sweeper],
) -> Callable[[], None]:
    """Connect the handlers of ``executor``'s app (each ignores tasks of another app); returns
    the function that disconnects them."""
    app, definitions = executor.app, executor.definitions
    uid = f"taskhub-{id(executor)}"

    def ours(sender: Any) -> bool:
        return getattr(sender, "app", None) is app and sender.name in definitions

    def on_success(sender: Any = None, result: Any = None, **_: Any) -> None:
        if ours(sender):
            claimed = getattr(sender.request, CLAIMED, None)
            if claimed is not None:  # the body ran only after a claim
                completions.submit(sender.request.id, result, claimed)

    def on_retry(sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
        if ours(sender) and isinstance(reason, PlannedRetry):
            owner = getattr(request, CLAIMED, None)
            lifecycle.schedule_retry(request.id, reason.error, reason.delay_s, owner=owner)

    def on_failure(sender: Any = None, task_id: str = "", exception: Any = None, **_: Any) -> None:
        if not ours(sender):
            return
        if isinstance(exception, TimeLimitExceeded):
            executor.hard_time_limit(task_id, exception)
        else:
            owner = getattr(sender.request, CLAIMED, None)
            if owner is not None:  # no claim, no execution: nothing ran that could fail
                lifecycle.fail(task_id, error_info(exception), owner=owner)

    def on_revoked(
        sender: Any = None, request: Any = None, expired: bool = False, **_: Any
    ) -> None:
        if ours(sender) and expired:
            lifecycle.expire(request.id)

    def on_unknown(sender: Any = None, name: str = "", id: str = "", **_: Any) -> None:
        if getattr(sender, "app", None) is app:  # sender: the worker's consumer
            refuse_unknown(lifecycle, id, name)

    def on_process_init(**_: Any) -> None:
        store.after_fork()  # connections are not shared across a fork
        store.pin_connections()  # a pool process runs statement after statement

    def on_process_shutdown(**_: Any) -> None:
        if not completions.flush():
            log.warning("pool process exits with task outcomes unwritten; the sweep will rerun")
        tracing.flush()

    def on_beat_init(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is app:
            for sweeper in sweepers:  # the recovery sweep, retention
                sweeper.start()

    receivers: Receivers = [
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
    return connect_all(receivers, uid)


Receivers = list[tuple[Signal, Callable[..., None], str]]


def connect_all(receivers: Receivers, uid: str) -> Callable[[], None]:
    """Connect each ``(signal, receiver, name)`` (strongly, keyed by ``uid`` and its name);
    returns what disconnects them all."""
    for signal, receiver, name in receivers:
        signal.connect(receiver, weak=False, dispatch_uid=f"{uid}-{name}")

    def disconnect() -> None:
        for signal, receiver, name in receivers:
            signal.disconnect(receiver, dispatch_uid=f"{uid}-{name}")

    return disconnect
