"""Recording successes behind the task: the pool process moves on while its outcome commits.

A task body that returned is recorded ``completed`` by one statement (see
:mod:`taskhub.store.execution`). Waiting for that round trip before taking the next task cost a
pool process a third of its time on short tasks, so ``task_success`` hands the outcome to this
process's writer thread, which commits it within milliseconds.

What it changes: Celery acknowledges the message before the outcome is committed. The record
still never says more than is durable (it reads ``in_progress`` until the commit), and an
outcome lost with its process (``kill -9`` in those milliseconds) is recovered like any lost
execution: the record's heartbeat goes stale, the sweep queues it again, it runs again. A pool
process that exits normally flushes first.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from taskhub.domain.errors import StoreError
from taskhub.domain.records import TaskRecord
from taskhub.worker import tracing

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0)  # then it is left to the sweep


class CompletionWriter:
    """One daemon thread per process, started on first use, committing outcomes in order."""

    def __init__(self, complete: Callable[[str, Any, TaskRecord], object]) -> None:
        self._complete = complete  # Lifecycle.complete
        self._queue: queue.Queue[tuple[str, Any, TaskRecord, object]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, task_id: str, result: Any, claimed: TaskRecord) -> None:
        """Queue the outcome (in the trace of the run that produced it, when tracing)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="taskhub-completions", daemon=True
                )
                self._thread.start()
        self._queue.put((task_id, result, claimed, tracing.current()))

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every submitted outcome was written (or given up); ``False`` on timeout."""
        give_up = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > give_up:
                return False
            time.sleep(0.005)
        return True

    def _loop(self) -> None:
        while True:
            task_id, result, claimed, trace = self._queue.get()
            try:
                with tracing.span("taskhub.complete", parent=trace, task_id=task_id):
                    self._write(task_id, result, claimed)
            finally:
                self._queue.task_done()

    def _write(self, task_id: str, result: Any, claimed: TaskRecord) -> None:
        for delay in (*RETRY_DELAYS_S, None):
            try:
                self._complete(task_id, result, claimed)
                return
            except StoreError:
                if delay is None:
                    log.exception("could not record task %s completed; the sweep will", task_id)
                    return
                log.warning("recording task %s completed failed; again in %s s", task_id, delay)
                time.sleep(delay)
            except Exception:
                log.exception("recording task %s completed failed", task_id)
                return
