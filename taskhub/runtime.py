"""Inside a worker: the context a task body receives, and the code that runs the body.

The body is ``fn(ctx, **input)``. ``ctx.step`` makes a step durable (a completed step's output is
saved and not run again), ``ctx.progress`` and ``ctx.output`` record what a person reads, and
``ctx.checkpoint`` is where a cancel request is honoured (a pause waits for a step boundary).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .clock import now
from .errors import ValidationError
from .records import Control, JSONValue, StepRecord, TaskRecord
from .registry import TaskDefinition
from .states import Outcome, StepStatus

if TYPE_CHECKING:
    from .hub import TaskHub

log = logging.getLogger(__name__)
R = TypeVar("R")

CHECKPOINT_INTERVAL_S = 0.2  # ctx.checkpoint() reads the record at most this often


class Stop(BaseException):
    """Raised inside the body to end it at a checkpoint; the runtime records why."""

    def __init__(self, outcome: Outcome | None) -> None:
        super().__init__("cancelled" if outcome is Outcome.CANCELLED else "paused")
        self.outcome = outcome


class TaskContext:
    """What a running task can do with its own record."""

    def __init__(self, hub: TaskHub, record: TaskRecord, definition: TaskDefinition) -> None:
        self._hub = hub
        self.record = record
        self.task_id = record.id
        self.attempt = record.attempt
        self.input = record.input
        self._declared = list(definition.steps)
        rerun = record.attempt > 1 or record.run > 1  # only these can find steps already done
        self._steps: dict[str, StepRecord] = hub.runs.steps(record.id) if rerun else {}
        self._last_check = 0.0
        if self._declared:
            hub.runs.declare_steps(record.id, self._declared)

    def step(self, name: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run ``fn`` as the durable step ``name``, or return its saved output if it completed."""
        done = self._steps.get(name)
        if done is not None and done.status is StepStatus.COMPLETED:
            return done.output  # type: ignore[no-any-return]
        self._boundary()
        position = self._position(name)
        runs = self._hub.runs
        runs.begin_step(self.task_id, name, position, now())
        self._progress_step(position)
        try:
            output = fn(*args, **kwargs)
            runs.end_step(self.task_id, name, StepStatus.COMPLETED, now(), output=output)
        except Stop:
            runs.end_step(self.task_id, name, StepStatus.QUEUED, now())
            raise
        except BaseException as exc:
            runs.end_step(self.task_id, name, StepStatus.FAILED, now(), detail=repr(exc))
            raise
        self._steps[name] = StepRecord(
            name, position, StepStatus.COMPLETED, None, None, None, output
        )
        self._boundary()
        return output

    def progress(self, percent: float | None = None, message: str | None = None) -> None:
        if percent is not None and not 0 <= percent <= 100:
            raise ValidationError("percent", f"must be between 0 and 100, got {percent}")
        values: dict[str, Any] = {"message": message}
        if percent is not None:
            values["percent"] = percent
        self._hub.runs.set_progress(self.task_id, **values)

    def output(self, name: str, value: JSONValue) -> None:
        """Save a named output: a ``str`` as text, anything else as JSON."""
        if not name or name == "result":
            raise ValidationError("name", "an output needs a name other than 'result'")
        encoded = self._hub.outputs.encode(name, value)
        self._hub.runs.put_output(self.task_id, encoded, now())

    def checkpoint(self, *, force: bool = False) -> None:
        """Stop here if the task was cancelled; call it often in long loops."""
        control = self._control(force)
        if control is not None and control.cancel_requested:
            raise Stop(Outcome.CANCELLED)

    def _boundary(self) -> None:
        control = self._control(force=True)
        if control is None:
            return
        if control.cancel_requested:
            raise Stop(Outcome.CANCELLED)
        if control.pause_requested:
            raise Stop(None)

    def _control(self, force: bool) -> Control | None:
        if not force and time.monotonic() - self._last_check < CHECKPOINT_INTERVAL_S:
            return None
        self._last_check = time.monotonic()
        return self._hub.store.control(self.task_id)

    def _position(self, name: str) -> int:
        if name in self._declared:
            return self._declared.index(name) + 1
        known = self._steps.get(name)
        return known.position if known else len(self._steps) + 1

    def _progress_step(self, position: int) -> None:
        total = len(self._declared) or None
        values: dict[str, Any] = {"current_step": position}
        if total:
            values["percent"] = round(100.0 * (position - 1) / total, 1)
        self._hub.runs.set_progress(self.task_id, **values)


class Heartbeat:
    """One daemon thread per worker process, touching the record of the task it runs."""

    def __init__(self, hub: TaskHub) -> None:
        self._hub = hub
        self._current: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def track(self, task_id: str | None) -> None:
        with self._lock:
            self._current = task_id
            if task_id is not None and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._loop, name="taskhub-heartbeat", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        interval = self._hub.settings.heartbeat_interval_s
        while True:
            time.sleep(interval)
            with self._lock:
                task_id = self._current
            if task_id is None:
                continue
            try:
                self._beat(task_id)
            except Exception:
                log.exception("heartbeat for task %s failed", task_id)

    def _beat(self, task_id: str) -> None:
        control = self._hub.runs.heartbeat(task_id, os.getpid(), now())
        if control is None or not control.cancel_requested:
            return
        record = self._hub.store.get(task_id)
        grace = self._hub.settings.cancel_grace_s
        asked = record.cancel_requested_at
        if asked is not None and (now() - asked).total_seconds() >= grace:
            self._terminate(task_id)

    def _terminate(self, task_id: str) -> None:
        """The body ignored the cancel past its grace period: record it, end this process."""
        with self._lock:
            if self._current != task_id:
                return
        if self._hub.lifecycle.stop(task_id, Outcome.CANCELLED) is not None:
            log.warning("task %s ignored its cancel request; terminating its process", task_id)
            self._hub.completions.flush(timeout_s=2.0)  # earlier tasks' outcomes first
            os.kill(os.getpid(), 9)


def run_body(
    hub: TaskHub, definition: TaskDefinition, record: TaskRecord, kwargs: dict[str, Any]
) -> Any:
    """Run the task body for a claimed record; ``Stop`` ends it at a checkpoint."""
    ctx = TaskContext(hub, record, definition)
    hub.heartbeat.track(record.id)
    try:
        return definition.fn(ctx, **kwargs)
    finally:
        hub.heartbeat.track(None)
