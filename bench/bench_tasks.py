"""The taskhub side of bench/throughput.py: a no-op (the worker imports this module via
TASKHUB_IMPORTS=bench.bench_tasks)."""

from __future__ import annotations

from taskhub import TaskContext, task


@task(name="bench.noop")
def noop(ctx: TaskContext) -> None:
    return None
