"""Task bodies of the benches (the worker imports this module via
TASKHUB_IMPORTS=bench.bench_tasks): a no-op for bench/throughput.py, and the soak's kinds for
bench/soak.py — each kind's options are its definition's, so a soak submits input only."""

from __future__ import annotations

import time

from taskhub import TaskContext, task

SOAK_TIMEOUT_S = 0.2  # the soft time limit of bench.soak_timeout
SOAK_RETRY_DELAY_S = 0.01  # tiny: a retry is queued again at once (no backoff growth either)
SOAK_FLAKY_RETRIES = 3  # budget of bench.soak_flaky: enough for its fail_times (1 or 2)
SOAK_FAIL_RETRIES = 2  # bench.soak_fail runs 1 + 2 times, then fails for good
SOAK_TIMEOUT_RETRIES = 1  # bench.soak_timeout times out twice, then fails for good


class SoakFlaky(Exception):
    """A failure the next attempt does not have."""


class SoakFailure(Exception):
    """A failure every attempt has."""


@task(name="bench.noop")
def noop(ctx: TaskContext) -> None:
    return None


@task(
    name="bench.soak_flaky",
    retries=SOAK_FLAKY_RETRIES,
    retry_delay_s=SOAK_RETRY_DELAY_S,
    retry_backoff=1.0,
)
def soak_flaky(ctx: TaskContext, fail_times: int) -> dict[str, int]:
    """Fails its first ``fail_times`` attempts, then succeeds, saying which attempt did."""
    if ctx.attempt <= fail_times:
        raise SoakFlaky(f"attempt {ctx.attempt} of the first {fail_times} fails")
    return {"attempts": ctx.attempt}


@task(
    name="bench.soak_fail",
    retries=SOAK_FAIL_RETRIES,
    retry_delay_s=SOAK_RETRY_DELAY_S,
    retry_backoff=1.0,
)
def soak_fail(ctx: TaskContext) -> None:
    """Fails every attempt."""
    raise SoakFailure(f"attempt {ctx.attempt} fails, as every attempt does")


@task(
    name="bench.soak_timeout",
    timeout_s=SOAK_TIMEOUT_S,
    retries=SOAK_TIMEOUT_RETRIES,
    retry_delay_s=SOAK_RETRY_DELAY_S,
    retry_backoff=1.0,
)
def soak_timeout(ctx: TaskContext) -> None:
    """Runs far past its soft time limit (the limit stops it; the hard one never comes)."""
    time.sleep(30 * SOAK_TIMEOUT_S)
