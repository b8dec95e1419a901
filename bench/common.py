"""Helpers for the bench scripts: worker subprocesses, waiting with a deadline, percentiles,
a series of measured runs, and settings on a fresh database."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sqlalchemy import create_engine, text

from taskhub import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def wait_for(
    cond: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
    poll_s: float = 0.01,
) -> None:
    give_up = time.monotonic() + timeout_s
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"worker exited (rc={proc.returncode}) while waiting for {what}")
        if time.monotonic() > give_up:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)


class Worker:
    """``celery -A app worker --pool prefork -c 2`` in its own process group."""

    def __init__(
        self, app: str, queue: str, env: dict[str, str], log: Path, concurrency: int = 2
    ) -> None:
        self.log = log
        name = f"bench-{queue}-{os.getpid()}@%h"
        command = [sys.executable, "-m", "celery", "-A", app, "worker", "-c", str(concurrency)]
        command += f"--pool prefork -Q {queue} -n {name} --without-mingle --without-gossip".split()
        command += ["-l", "warning"]
        path = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env | {"PYTHONPATH": path},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def __enter__(self) -> Worker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of its group
        self.proc.wait()


def p50_p99_ms(values_s: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values_s, n=100, method="inclusive")
    return q[49] * 1000, q[98] * 1000


def fmt_ms(values_s: list[float]) -> str:
    p50, p99 = p50_p99_ms(values_s)
    return f"{p50:.1f} / {p99:.1f}"


def fresh_database(name: str) -> str:
    """Drop (closing its connections) and create the bench database ``name``: every run starts
    empty, at this version's schema. Returns its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Series:
    """One measured thing over several runs: each run's rate, and every task's wait to start."""

    label: str
    rates: list[float] = field(default_factory=list)
    to_start: list[float] = field(default_factory=list)  # seconds, all runs pooled

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def bench_settings(home: Path, database: str, broker_url: str, **overrides: object) -> Settings:
    """Settings on the fresh database ``database`` (:func:`fresh_database`) and ``broker_url``:
    2 prefork worker processes running ``bench.bench_tasks``."""
    return Settings(
        home=home,
        database_url=fresh_database(database),
        broker_url=broker_url,
        imports=["bench.bench_tasks"],
        worker_concurrency=2,
        **overrides,  # type: ignore[arg-type]
    )
