"""Worker-side transitions: where Celery's view of a task and its record meet.

Called from the Celery signal handlers (:mod:`taskhub.worker.signals`) and from the runtime at
checkpoints. Each function is one guarded transition; a stale message changes nothing.
"""

from __future__ import annotations

import logging
import os
import traceback as tb
from dataclasses import replace
from datetime import datetime, timedelta

from taskhub.domain.clock import now
from taskhub.domain.errors import ValidationError
from taskhub.domain.notifications import Announce, describe
from taskhub.domain.outputs import OutputCodec
from taskhub.domain.records import ErrorInfo, TaskRecord
from taskhub.domain.settings import Settings
from taskhub.domain.states import Outcome, Status
from taskhub.store import execution as worker_store
from taskhub.store.tasks import Store
from taskhub.worker.publisher import Dispatcher

log = logging.getLogger(__name__)

DEADLINE_EXCEEDED = ErrorInfo("DeadlineExceeded", "deadline exceeded")


class Deferred(Exception):  # not an error: "not now"
    """The task may not start yet (its workspace is at its plan's running limit)."""


def error_info(exc: BaseException, message: str | None = None) -> ErrorInfo:
    trace = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
    return ErrorInfo(type(exc).__name__, message or str(exc), trace)


class Lifecycle:
    """Worker-side transitions on ``store``; ``announce`` tells people of a final outcome
    (the services' ``Notifier.announce``), ``dispatcher`` queues a retry."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        outputs: OutputCodec,
        dispatcher: Dispatcher,
        announce: Announce,
    ) -> None:
        self.settings = settings
        self.store = store
        self._outputs = outputs
        self._dispatcher = dispatcher
        self._announce = announce

    # -- starting --------------------------------------------------------------------------

    def claim(self, task_id: str, worker: str, pid: int) -> TaskRecord | None:
        """Move the record to ``in_progress`` for this execution, or ``None`` if it must not run.

        A record already ``in_progress`` is taken over only when its previous execution is
        gone: its process died on this node, or its heartbeat went stale.
        """
        record, at = self.store.idempotent(lambda: self._start(task_id, worker, pid))
        if record is not None:
            return record
        current = self.store.get(task_id)
        if current.status in (Status.PENDING, Status.RETRYING):
            self.expire(task_id)  # not in time: the only reason "start" can refuse these
            return None
        if current.status is Status.IN_PROGRESS and self._is_lost(current, worker, at):
            return self._take_over(current, worker, pid, at)
        return None

    def _start(self, task_id: str, worker: str, pid: int) -> tuple[TaskRecord | None, datetime]:
        limits = self.settings.plan_max_running
        if not limits:
            at = now()
            return worker_store.claim(self.store, task_id, worker, pid, at), at
        with self.store.begin() as c:
            if worker_store.running_limit_reached(c, task_id, limits):
                raise Deferred(f"task {task_id}: its workspace runs its plan's maximum")
            at = now()  # read the clock once the lock is ours
            return worker_store.claim(self.store, task_id, worker, pid, at, conn=c), at

    def _is_lost(self, record: TaskRecord, worker: str, at: datetime) -> bool:
        stale_after = timedelta(seconds=self.settings.heartbeat_timeout_s)
        if record.heartbeat_at is not None and at - record.heartbeat_at > stale_after:
            return True
        return record.worker == worker and not pid_alive(record.worker_pid)

    def _take_over(
        self, lost: TaskRecord, worker: str, pid: int, at: datetime
    ) -> TaskRecord | None:
        """Run the task again after its execution ``lost`` vanished, within its attempts: a
        body that kills its own process (or is OOM-killed) every time ends ``failed``."""
        allowed = attempts_when_lost(lost, self.settings.worker_lost_min_attempts)
        error = ErrorInfo("WorkerLost", f"worker lost (attempt {lost.attempt} of {allowed})")
        if lost.attempt >= allowed:
            self.fail(lost.id, error, owner=lost)
            return None
        record = worker_store.take_over(self.store, lost, worker, pid, at)
        if record is not None:
            with self.store.begin() as c:
                worker_store.record_attempt_error(c, lost, error, at)
        return record

    # -- outcomes --------------------------------------------------------------------------

    def complete(self, task_id: str, result: object, claimed: TaskRecord) -> TaskRecord | None:
        """Record the success of the execution ``claimed``: the outcome, its result output and
        the notification commit together (:func:`worker_store.complete`); ``None`` if that
        execution no longer owns the record."""
        try:
            output = None if result is None else self._outputs.encode("result", result)
        except ValidationError as exc:
            return self.fail(task_id, error_info(exc), owner=claimed)
        at = now()
        note = describe(Outcome.COMPLETED)(claimed)  # name, task and attempt are as claimed
        done = worker_store.complete(self.store, claimed, at, note, output)
        if done is None:
            return None
        record = replace(
            claimed,
            status=Status.COMPLETED,
            finished_at=at,
            worker_pid=None,
            pause_requested_at=None,
            has_dependents=done.has_dependents,
        )
        self._announce(record, Outcome.COMPLETED, note)
        return record

    def fail(
        self,
        task_id: str,
        error: ErrorInfo,
        action: str = "fail",
        *,
        owner: TaskRecord | None = None,
        executor: tuple[str, int] | None = None,
        task_name: str | None = None,
    ) -> TaskRecord | None:
        """Fail the record for good; from a worker, only while ``owner`` (or ``executor``)
        still holds it; with ``task_name``, only a record of that task."""
        at = now()
        values = {
            "finished_at": at,
            "worker_pid": None,
            "error_type": error.type,
            "error_message": error.message,
            "error_traceback": error.traceback,
        }
        with self.store.begin() as c:
            record = self.store.transition(
                task_id,
                action,
                values,
                owner=owner,
                executor=executor,
                task_name=task_name,
                conn=c,
                notify=describe(Outcome.FAILED),
            )
            if record is not None and action == "fail":  # an execution ended: keep its error
                worker_store.record_attempt_error(c, record, error, at)
        self._announce(record, Outcome.FAILED, None)
        return record

    def expire(self, task_id: str) -> TaskRecord | None:
        return self.fail(task_id, DEADLINE_EXCEEDED, action="expire")

    def schedule_retry(
        self,
        task_id: str,
        error: ErrorInfo,
        delay_s: float,
        *,
        owner: TaskRecord | None = None,
        executor: tuple[str, int] | None = None,
    ) -> TaskRecord | None:
        at = now()
        values = {
            "next_attempt_at": at + timedelta(seconds=delay_s),
            "worker_pid": None,
            "error_type": error.type,
            "error_message": error.message,
            "error_traceback": error.traceback,
        }
        with self.store.begin() as c:
            record = self.store.transition(
                task_id, "schedule_retry", values, owner=owner, executor=executor, conn=c
            )
            if record is not None:
                worker_store.record_attempt_error(c, record, error, at)
        if record is not None:
            self._dispatcher.publish_quietly([record], countdown_s=delay_s)
        return record

    def stop(self, execution: TaskRecord, outcome: Outcome | None) -> TaskRecord | None:
        """Honour a cancel (``CANCELLED``) or pause (``None`` outcome means paused) request
        made of the running ``execution``."""
        if outcome is Outcome.CANCELLED:
            values = {"finished_at": now(), "worker_pid": None}
            record = self.store.transition(
                execution.id,
                "stop_cancelled",
                values,
                owner=execution,
                notify=describe(Outcome.CANCELLED),
            )
            self._announce(record, Outcome.CANCELLED, None)
            return record
        values = {"worker_pid": None, "pause_requested_at": None}
        return self.store.transition(execution.id, "stop_paused", values, owner=execution)


def attempts_when_lost(record: TaskRecord, min_attempts: int) -> int:
    """How many executions a task gets when its workers keep vanishing: its retry budget,
    and at least ``min_attempts`` so that a restarted worker does not fail a task that allows
    no retries."""
    return max(record.options.max_retries + 1, min_attempts)


def pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` runs on this machine (a zombie counts as dead)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
