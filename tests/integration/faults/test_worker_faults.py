"""Workers that freeze past their heartbeat and wake up, and bodies that kill their own
process: the record decides, a superseded execution changes nothing, and nothing loops."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from taskhub import Settings, Status, TaskHub

from ...support import running_worker, wait_for, wait_for_status
from .support import Beat, check_invariants
from .tasks import executions_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def woke_and_failed(log: str) -> bool:
    """Celery logged both of A's outcomes: after the signal handlers tried to record them."""
    return "frozen_no_retries" in log and "raised unexpected" in log and "] retry: " in log


def test_a_worker_frozen_past_its_heartbeat_timeout_changes_nothing_when_it_wakes(
    fault_hub: TaskHub,
    fault_settings: Settings,
    worker_settings: Settings,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    """Worker A freezes (SIGSTOP) mid-task; the sweep sees its heartbeat go stale and worker B
    takes both tasks over. A wakes up and its executions fail — one would be final, one would
    be retried — while B's run: neither may touch the records B now owns."""
    executions, first_gate, later_gate = (tmp_path / n for n in ("runs.log", "a", "b"))
    gates = {"executions": str(executions)}
    gates |= {"first_gate": str(first_gate), "later_gate": str(later_gate)}
    final = fault_hub.submit("faults.frozen_no_retries", gates)
    retried = fault_hub.submit("faults.frozen_with_retries", gates)
    ids = [final.id, retried.id]

    beat = Beat(fault_settings, tmp_path)
    try:
        with running_worker(worker_settings, concurrency=2, name="frozen") as frozen:
            wait_for(lambda: len(executions_of(executions)) == 2, what="A to start both")
            os.killpg(frozen.process.pid, signal.SIGSTOP)
            stopped = time.monotonic()
            with running_worker(worker_settings, concurrency=2, name="rescuer"):
                for task_id in ids:
                    wait_for(lambda i=task_id: fault_hub.get(i).attempt == 2, timeout_s=30)
                taken_over_s = time.monotonic() - stopped
                os.killpg(frozen.process.pid, signal.SIGCONT)
                first_gate.touch()
                wait_for(lambda: executions.read_text().count("end ") == 2, what="A to wake")
                wait_for(lambda: woke_and_failed(frozen.output()), what="A's outcomes")
                assert [fault_hub.get(i).status for i in ids] == [Status.IN_PROGRESS] * 2
                later_gate.touch()
                for task_id in ids:
                    wait_for_status(fault_hub, task_id, Status.COMPLETED)
    finally:
        beat.stop()

    check_invariants(fault_hub, ids, executions_of(executions), max_executions=2)
    for task_id in ids:
        record = fault_hub.get(task_id)
        assert record.attempt == 2
        assert fault_hub.output(task_id).content == "done by a later execution"
    report(f"frozen worker: its tasks taken over {taken_over_s:.1f} s after it froze")


def test_a_task_that_kills_its_own_process_fails_once_its_attempts_are_spent(
    fault_hub: TaskHub, worker_settings: Settings, tmp_path: Path, report: Callable[[str], None]
) -> None:
    executions = tmp_path / "runs.log"
    started = time.monotonic()
    with running_worker(worker_settings, concurrency=1, name="victim"):
        poison = fault_hub.submit("faults.suicide", {"executions": str(executions)})
        failed = wait_for_status(fault_hub, poison.id, Status.FAILED, timeout_s=60)
        failed_s = time.monotonic() - started
        healthy = fault_hub.submit("faults.work", {"executions": str(executions)})
        wait_for_status(fault_hub, healthy.id, Status.COMPLETED)

    assert failed.error is not None
    assert (failed.error.type, failed.error.message) == (
        "WorkerLost",
        "worker lost (attempt 3 of 3)",
    )
    assert [a.error.message for a in failed.attempts if a.error] == [
        f"worker lost (attempt {n} of 3)" for n in (1, 2, 3)
    ]
    check_invariants(
        fault_hub, [poison.id], executions_of(executions), final=Status.FAILED, max_executions=3
    )
    assert executions_of(executions)[poison.id] == 3
    report(f"poison task: failed after 3 lost executions, {failed_s:.1f} s")
