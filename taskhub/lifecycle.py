"""Worker-side transitions: where Celery's view of a task and its record meet.

Called from the Celery signal handlers (:mod:`taskhub.signals`) and from the runtime at
checkpoints. Each function is one guarded transition; a stale message changes nothing.
"""

from __future__ import annotations

import logging
import os
import traceback as tb
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import models as m
from . import worker_store
from .clock import now
from .errors import ValidationError
from .notifications import announce, describe
from .records import ErrorInfo, Output, TaskRecord
from .states import Outcome, Status

if TYPE_CHECKING:
    from .hub import TaskHub

log = logging.getLogger(__name__)

DEADLINE_EXCEEDED = ErrorInfo("DeadlineExceeded", "deadline exceeded")


class Deferred(Exception):  # not an error: "not now"
    """The task may not start yet (its workspace is at its plan's running limit)."""


def error_info(exc: BaseException, message: str | None = None) -> ErrorInfo:
    trace = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
    return ErrorInfo(type(exc).__name__, message or str(exc), trace)


class Lifecycle:
    def __init__(self, hub: TaskHub) -> None:
        self.hub = hub
        self.store = hub.store

    # -- starting --------------------------------------------------------------------------

    def claim(self, task_id: str, worker: str, pid: int) -> TaskRecord | None:
        """Move the record to ``in_progress`` for this execution, or ``None`` if it must not run.

        A record already ``in_progress`` is taken over only when its previous execution is
        gone: its process died on this node, or its heartbeat went stale.
        """
        limits = self.hub.settings.plan_max_running
        if not limits:
            at = now()
            record = worker_store.claim(self.store, task_id, worker, pid, at)
        else:
            with self.store.begin() as c:
                if self.store.running_limit_reached(c, task_id, limits):
                    raise Deferred(f"task {task_id}: its workspace runs its plan's maximum")
                at = now()  # read the clock once the lock is ours
                record = worker_store.claim(self.store, task_id, worker, pid, at, conn=c)
        if record is not None:
            return record
        current = self.store.get(task_id)
        if current.status in (Status.PENDING, Status.RETRYING):
            self.expire(task_id)  # not in time: the only reason "start" can refuse these
            return None
        if current.status is Status.IN_PROGRESS and self._is_lost(current, worker, at):
            return worker_store.take_over(self.store, current, worker, pid, at)
        return None

    def _is_lost(self, record: TaskRecord, worker: str, at: datetime) -> bool:
        stale_after = timedelta(seconds=self.hub.settings.heartbeat_timeout_s)
        if record.heartbeat_at is not None and at - record.heartbeat_at > stale_after:
            return True
        return record.worker == worker and not pid_alive(record.worker_pid)

    # -- outcomes --------------------------------------------------------------------------

    def complete(
        self, task_id: str, result: object, claimed: TaskRecord | None = None
    ) -> TaskRecord | None:
        """``claimed``: the record as this execution claimed it, when the caller has it."""
        try:
            output = None if result is None else self.hub.outputs.encode("result", result)
        except ValidationError as exc:
            return self.fail(task_id, error_info(exc))
        at = now()
        if claimed is not None and self.store.is_postgres:
            return self._complete_in_one_statement(claimed, at, output)
        values = {"finished_at": at, "worker_pid": None, "percent": 100.0}
        same = None if claimed is None else m.tasks.c.attempt == claimed.attempt
        with self.store.begin() as c:
            record = self.store.transition(
                task_id, "complete", values, where=same, conn=c, notify=describe(Outcome.COMPLETED)
            )
            if record is not None and output is not None:
                self.hub.runs.put_output(task_id, output, at, conn=c)
        announce(self.hub, record, Outcome.COMPLETED)
        return record

    def _complete_in_one_statement(
        self, claimed: TaskRecord, at: datetime, output: Output | None
    ) -> TaskRecord | None:
        note = describe(Outcome.COMPLETED)(claimed)  # name, task and attempt are as claimed
        if not worker_store.complete(self.store, claimed, at, note, output):
            return None
        record = replace(claimed, status=Status.COMPLETED, finished_at=at, worker_pid=None)
        announce(self.hub, record, Outcome.COMPLETED, note)
        return record

    def fail(self, task_id: str, error: ErrorInfo, action: str = "fail") -> TaskRecord | None:
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
                task_id, action, values, conn=c, notify=describe(Outcome.FAILED)
            )
            if record is not None and record.attempt > 0:
                self.store.record_attempt_error(c, record, error, at)
        announce(self.hub, record, Outcome.FAILED)
        return record

    def expire(self, task_id: str) -> TaskRecord | None:
        return self.fail(task_id, DEADLINE_EXCEEDED, action="expire")

    def schedule_retry(self, task_id: str, error: ErrorInfo, delay_s: float) -> TaskRecord | None:
        at = now()
        values = {
            "next_attempt_at": at + timedelta(seconds=delay_s),
            "worker_pid": None,
            "error_type": error.type,
            "error_message": error.message,
            "error_traceback": error.traceback,
        }
        with self.store.begin() as c:
            record = self.store.transition(task_id, "schedule_retry", values, conn=c)
            if record is not None:
                self.store.record_attempt_error(c, record, error, at)
        if record is not None:
            self.hub.dispatcher.publish_quietly([record], countdown_s=delay_s)
        return record

    def stop(self, task_id: str, outcome: Outcome | None) -> TaskRecord | None:
        """Honour a cancel (``CANCELLED``) or pause (``None`` outcome means paused) request."""
        if outcome is Outcome.CANCELLED:
            values = {"finished_at": now(), "worker_pid": None}
            record = self.store.transition(
                task_id, "stop_cancelled", values, notify=describe(Outcome.CANCELLED)
            )
            announce(self.hub, record, Outcome.CANCELLED)
            return record
        values = {"worker_pid": None, "pause_requested_at": None}
        return self.store.transition(task_id, "stop_paused", values)


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
