"""Tasks the test suite runs in real workers. Side effects go to files so tests can see them."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded

from taskhub import TaskContext, TaskRecord, on_notification, task


class PermanentError(Exception):
    pass


def mark(path: str, text: str) -> None:
    """Append one line to ``path`` (O_APPEND: safe across processes)."""
    with open(path, "a") as handle:
        handle.write(text + "\n")


def wait_file(path: str, timeout_s: float = 60.0, ctx: TaskContext | None = None) -> None:
    give_up = time.monotonic() + timeout_s
    while not Path(path).exists():
        if ctx is not None:
            ctx.checkpoint()
        if time.monotonic() > give_up:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.02)


@task(name="tests.noop")
def noop(ctx: TaskContext) -> None:
    return None


@task(name="tests.echo", description="Echo the value back")
def echo(ctx: TaskContext, value: object = None) -> object:
    return value


@task(name="tests.log", priority=0)
def log(ctx: TaskContext, path: str, label: str) -> None:
    mark(path, label)


@task(name="tests.block")
def block(ctx: TaskContext, gate: str, started: str) -> str:
    """Holds a worker slot until the gate file appears."""
    mark(started, ctx.task_id)
    wait_file(gate)
    return "released"


@task(
    name="tests.flaky",
    retries=3,
    retry_delay_s=0.05,
    retry_backoff=2.0,
    dont_retry=(PermanentError,),
)
def flaky(ctx: TaskContext, fail_times: int, permanent: bool = False) -> int:
    if permanent:
        raise PermanentError("this will never work")
    if ctx.attempt <= fail_times:
        raise ConnectionError(f"failure number {ctx.attempt}")
    return ctx.attempt


@task(name="tests.fails_first", retries=1, retry_delay_s=0.05)
def fails_first(ctx: TaskContext, log_path: str, failures: int) -> str:
    """Fails its first ``failures`` executions, counted in ``log_path`` across runs; its one
    step, "prepare", is durable."""
    ctx.step("prepare", lambda: mark(log_path, "prepare"))
    mark(log_path, f"run {ctx.record.run} attempt {ctx.attempt}")
    executions = sum(line.startswith("run ") for line in Path(log_path).read_text().splitlines())
    if executions <= failures:
        raise ConnectionError(f"execution {executions} of the first {failures} fails")
    return f"succeeded on execution {executions}"


@task(name="tests.gated_step")
def gated_step(ctx: TaskContext, gate: str, started: str) -> str:
    """Two steps it does not declare; the first waits for the gate."""

    def wait() -> None:
        mark(started, ctx.task_id)
        wait_file(gate)

    ctx.step("wait", wait)
    ctx.step("finish", lambda: None)
    return "done"


@task(name="tests.sleepy", timeout_s=60)
def sleepy(ctx: TaskContext, seconds: float, started: str = "", cooperative: bool = True) -> str:
    if started:
        mark(started, str(os.getpid()))
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        if cooperative:
            ctx.checkpoint()
        time.sleep(0.02)
    return "slept"


@task(name="tests.stubborn")
def stubborn(ctx: TaskContext, seconds: float, started: str) -> str:
    """Ignores its soft time limit; only the hard limit stops it."""
    mark(started, str(os.getpid()))
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        try:
            time.sleep(0.02)
        except SoftTimeLimitExceeded:
            continue
    return "never"


@task(name="tests.pipeline", retries=2, retry_delay_s=0.05, steps=("fetch", "crunch", "publish"))
def pipeline(
    ctx: TaskContext,
    log_path: str,
    gate: str = "",
    fail_crunch_once: bool = False,
    started: str = "",
) -> dict[str, object]:
    """Three durable steps; ``log_path`` gets a line each time a step body really runs."""

    def fetch() -> list[int]:
        mark(log_path, "fetch")
        return [1, 2, 3]

    def crunch(values: list[int]) -> int:
        mark(log_path, "crunch")
        if started:
            mark(started, str(os.getpid()))
        if gate:
            wait_file(gate)
        if fail_crunch_once and ctx.attempt == 1:
            raise ConnectionError("crunch lost its connection")
        return sum(values)

    values = ctx.step("fetch", fetch)
    total = ctx.step("crunch", crunch, values)
    ctx.step("publish", lambda: mark(log_path, "publish"))
    return {"total": total}


@task(name="tests.typed")
def typed(ctx: TaskContext, when: datetime, count: int = 1, tags: tuple[str, ...] = ()) -> object:
    """Says what Python types its input arrived as."""
    return {"when": type(when).__name__, "tags": type(tags).__name__, "count": count}


@task(name="tests.open_ended")
def open_ended(ctx: TaskContext, label: str, **extra: object) -> object:
    """Takes any other keys, as ``**extra``."""
    return {"label": label, "extra": extra}


@task(name="tests.big_output")
def big_output(ctx: TaskContext, size: int) -> str:
    return "x" * size


@task(name="tests.outputs")
def outputs(ctx: TaskContext) -> str:
    ctx.output("notes.txt", "hello\n")
    ctx.output("stats", {"rows": 3})
    ctx.progress(50, "half way")
    return "done"


@task(name="tests.notified")
def notified(ctx: TaskContext, notify_log: str, fail: bool = False) -> str:
    if fail:
        raise RuntimeError("disk full")
    return "ok"


@on_notification
def remember(notification: object, record: TaskRecord) -> None:
    """A user's callback: runs in the worker after each outcome is stored."""
    path = record.input.get("notify_log")
    if path:
        mark(str(path), f"{notification.outcome.value}: {notification.title}")  # type: ignore[attr-defined]


@task(name="tests.sum_parents")
def sum_parents(ctx: TaskContext) -> object:
    """The sum of its parents' results; a failed parent (on a continue edge) counts as 0."""
    seen = {p.name: p.status.value for p in ctx.parents}
    total = sum(ctx.parent_output(p.name) for p in ctx.parents if p.status.value == "completed")
    return {"total": total, "parents": seen}


@task(name="tests.metered", retries=2, retry_delay_s=0.05)
def metered(ctx: TaskContext, fail_times: int = 0, note: str = "") -> int:
    """Logs ``note``, then fails its first ``fail_times`` attempts (for the metrics and log
    tests: no other test runs it, so its figures are the test's own)."""
    logging.getLogger("tests.metered").warning("metered: %s", note)
    if ctx.attempt <= fail_times:
        raise ConnectionError(f"failure number {ctx.attempt}")
    return ctx.attempt
