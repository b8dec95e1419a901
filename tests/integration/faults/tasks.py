"""Task bodies the fault suite runs. Every execution appends ``<task id> <attempt> <pid>`` to the
file its input names, so a test counts how many times each body really ran."""

from __future__ import annotations

import os
import time
from pathlib import Path

from taskhub import TaskContext, task

from ...tasks import mark, wait_file


def ran(ctx: TaskContext, executions: str) -> None:
    mark(executions, f"{ctx.task_id} {ctx.attempt} {os.getpid()}")


@task(name="faults.work")
def work(ctx: TaskContext, executions: str, seconds: float = 0.01) -> str:
    ran(ctx, executions)
    time.sleep(seconds)
    return "done"


@task(name="faults.chatty", steps=("fetch", "shape", "store"))
def chatty(ctx: TaskContext, executions: str) -> str:
    """Writes to its record all the time: steps, progress, an output."""
    ran(ctx, executions)
    for step in ("fetch", "shape", "store"):
        ctx.step(step, time.sleep, 0.02)
        ctx.progress(message=f"{step} done")
    ctx.output("summary.txt", "three steps")
    return "done"


def _frozen(ctx: TaskContext, executions: str, first_gate: str, later_gate: str) -> str:
    """The first execution waits for ``first_gate`` then fails; later ones wait for
    ``later_gate`` and succeed. The first one's end is logged as ``end <id>``."""
    ran(ctx, executions)
    if ctx.attempt == 1:
        try:
            wait_file(first_gate)
            raise RuntimeError("the first execution fails after it wakes up")
        finally:
            mark(executions, f"end {ctx.task_id}")
    wait_file(later_gate)
    return "done by a later execution"


@task(name="faults.frozen_no_retries")
def frozen_no_retries(ctx: TaskContext, executions: str, first_gate: str, later_gate: str) -> str:
    return _frozen(ctx, executions, first_gate, later_gate)


@task(name="faults.frozen_with_retries", retries=1, retry_delay_s=0.05)
def frozen_with_retries(ctx: TaskContext, executions: str, first_gate: str, later_gate: str) -> str:
    return _frozen(ctx, executions, first_gate, later_gate)


@task(name="faults.suicide", retries=2, retry_delay_s=0.05)
def suicide(ctx: TaskContext, executions: str) -> None:
    """Kills its own process every time, as a segfault or the OOM killer would."""
    ran(ctx, executions)
    os._exit(1)


def executions_of(path: Path) -> dict[str, int]:
    """How many times each task's body ran, from the log ``ran`` writes."""
    counts: dict[str, int] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                counts[parts[0]] = counts.get(parts[0], 0) + 1
    return counts
