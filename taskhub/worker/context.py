"""Inside a worker: the context a task body receives, and the code that runs the body.

The body is ``fn(ctx, **input)``. ``ctx.step`` makes a step durable (a completed step's output is
saved and not run again), ``ctx.progress`` and ``ctx.output`` record what a person reads, and
``ctx.checkpoint`` is where a cancel request is honoured (a pause waits for a step boundary).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from taskhub.domain.clock import now
from taskhub.domain.errors import NotFoundError, ValidationError
from taskhub.domain.outputs import OutputCodec
from taskhub.domain.records import Control, JSONValue, StepRecord, TaskRecord
from taskhub.domain.registry import TaskDefinition
from taskhub.domain.settings import Settings
from taskhub.domain.states import Outcome, StepStatus
from taskhub.store.edges import EdgeStore, Parent
from taskhub.store.runs import RunStore

log = logging.getLogger(__name__)
R = TypeVar("R")

CHECKPOINT_INTERVAL_S = 0.2  # ctx.checkpoint() reads the record at most this often


class Stop(BaseException):
    """Raised inside the body to end it at a checkpoint; the runtime records why."""

    def __init__(self, outcome: Outcome | None) -> None:
        super().__init__("cancelled" if outcome is Outcome.CANCELLED else "paused")
        self.outcome = outcome


class Superseded(BaseException):
    """Raised inside the body once its execution no longer owns the record: it was taken over
    (this process looked lost: frozen, partitioned) or the task was retried. Nothing this
    execution does is recorded any more; the runtime ends it quietly."""

    def __init__(self, execution: TaskRecord) -> None:
        super().__init__(f"task {execution.id}: attempt {execution.attempt} was superseded")


class TaskContext:
    """What a running task can do with its own record."""

    def __init__(
        self,
        runs: RunStore,
        outputs: OutputCodec,
        record: TaskRecord,
        definition: TaskDefinition,
        edges: EdgeStore | None = None,
    ) -> None:
        self._runs = runs
        self._outputs = outputs
        self._edges = edges
        self._parents: tuple[Parent, ...] | None = None
        self.record = record
        self.task_id = record.id
        self.attempt = record.attempt
        self.input = record.input
        self._declared = list(definition.steps)
        rerun = record.attempt > 1 or record.run > 1  # only these can find steps already done
        self._steps: dict[str, StepRecord] = runs.steps(record.id) if rerun else {}
        self._last_check = 0.0
        if self._declared:
            self._owned(runs.declare_steps(record, self._declared))

    @property
    def parents(self) -> tuple[Parent, ...]:
        """The tasks this one waited for (``depends_on``, a pipeline's edges), each with its
        node name (or display name), task id, status and edge policy: a node on a
        ``continue`` edge sees which of them failed. Read once: they were all final when
        this task was released."""
        if self._parents is None:
            found = self._edges.parents(self.task_id) if self._edges is not None else []
            self._parents = tuple(found)
        return self._parents

    def parent_output(self, parent: str, name: str = "result") -> Any:
        """The output ``name`` of a parent, named by its node (or task id): JSON outputs
        decoded, text as ``str``. ``NotFoundError`` if it is not a parent or has no such
        output (a failed parent on a ``continue`` edge has none)."""
        for found in self.parents:
            if parent in (found.name, found.task_id):
                output = self._runs.get_output(found.task_id, name)
                if output.content_type == "application/json":
                    return json.loads(output.content)
                return output.content
        raise NotFoundError("parent", parent)

    def step(self, name: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run ``fn`` as the durable step ``name``, or return its saved output if it completed."""
        done = self._steps.get(name)
        if done is not None and done.status is StepStatus.COMPLETED:
            return done.output  # type: ignore[no-any-return]
        self._boundary()
        position = self._position(name)
        runs, me = self._runs, self.record
        self._owned(runs.begin_step(me, name, position, now()))
        self._progress_step(position)
        try:
            output = fn(*args, **kwargs)
        except Superseded:
            raise
        except Stop:
            self._owned(runs.end_step(me, name, StepStatus.QUEUED, now()))
            raise
        except BaseException as exc:
            runs.end_step(me, name, StepStatus.FAILED, now(), detail=repr(exc))
            raise
        self._owned(runs.end_step(me, name, StepStatus.COMPLETED, now(), output=output))
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
        self._owned(self._runs.set_progress(self.record, **values))

    def output(self, name: str, value: JSONValue) -> None:
        """Save a named output: a ``str`` as text, anything else as JSON."""
        if not name or name == "result":
            raise ValidationError("name", "an output needs a name other than 'result'")
        encoded = self._outputs.encode(name, value)
        self._owned(self._runs.put_own_output(self.record, encoded, now()))

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
        control = self._runs.control(self.record)
        if control is None:
            raise Superseded(self.record)
        return control

    def _owned(self, still_owned: bool) -> None:
        if not still_owned:
            raise Superseded(self.record)

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
        self._owned(self._runs.set_progress(self.record, **values))


class Heartbeat:
    """One daemon thread per worker process, touching the record of the execution it runs."""

    def __init__(
        self,
        settings: Settings,
        runs: RunStore,
        stop: Callable[[TaskRecord, Outcome | None], TaskRecord | None],
        flush: Callable[[float], bool],
    ) -> None:
        """``stop``: Lifecycle.stop; ``flush``: the process's CompletionWriter.flush."""
        self._settings = settings
        self._runs = runs
        self._stop = stop
        self._flush = flush
        self._current: TaskRecord | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def track(self, execution: TaskRecord | None) -> None:
        with self._lock:
            self._current = execution
            if execution is not None and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._loop, name="taskhub-heartbeat", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        interval = self._settings.heartbeat_interval_s
        while True:
            time.sleep(interval)
            with self._lock:
                execution = self._current
            if execution is None:
                continue
            try:
                self._beat(execution)
            except Exception:
                log.exception("heartbeat for task %s failed", execution.id)

    def _beat(self, execution: TaskRecord) -> None:
        control = self._runs.heartbeat(execution, now())
        if control is None or control.cancel_requested_at is None:
            return  # None: superseded; the body learns it at its next step or checkpoint
        if (now() - control.cancel_requested_at).total_seconds() >= self._settings.cancel_grace_s:
            self._terminate(execution)

    def _terminate(self, execution: TaskRecord) -> None:
        """The body ignored the cancel past its grace period: record it, end this process."""
        with self._lock:
            if self._current is not execution:
                return
        if self._stop(execution, Outcome.CANCELLED) is not None:
            log.warning("task %s ignored its cancel request; terminating its process", execution.id)
            self._flush(2.0)  # earlier tasks' outcomes first
            os.kill(os.getpid(), 9)
