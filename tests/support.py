"""Test helpers: real worker processes, and waiting on conditions with a deadline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from taskhub import Settings, Status, TaskHub, TaskRecord

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout_s: float = 20.0,
    poll_s: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll ``condition`` until it returns something truthy; fail loudly at the deadline."""
    give_up = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= give_up:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)


def wait_for_status(
    hub: TaskHub, task_id: str, *statuses: Status, timeout_s: float = 20.0
) -> TaskRecord:
    def reached() -> TaskRecord | None:
        record = hub.get(task_id)
        return record if record.status in statuses else None

    try:
        return wait_for(reached, timeout_s=timeout_s, what=f"{task_id} to be {statuses}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it is {hub.get(task_id)}") from None


def swept(hub: TaskHub, check: Callable[[], T]) -> T:
    """One sweep, then ``check``: ``wait_for(lambda: swept(hub, ...))`` sweeps until it holds."""
    hub.sweep()
    return check()


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process build the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}
    for key, value in settings.model_dump().items():
        if isinstance(value, list):
            value = ",".join(value)
        elif isinstance(value, dict):
            value = json.dumps(value)
        env[f"TASKHUB_{key.upper()}"] = str(value)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


class Worker:
    """A real ``celery worker`` process (prefork) consuming the settings' default queue."""

    def __init__(
        self,
        settings: Settings,
        *,
        concurrency: int = 2,
        name: str = "w1",
        extra: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.log = settings.home / f"worker-{name}-{time.monotonic_ns()}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "taskhub.app",
            "worker",
            "--pool",
            "prefork",
            "-c",
            str(concurrency),
            "-Q",
            settings.default_queue,
            "-n",
            f"{name}-{os.getpid()}@%h",
            "-l",
            "info",
            "--without-mingle",
            "--without-gossip",
            *extra,
        ]
        self.process = spawn(command, settings, self.log)
        wait_for(self._ready, timeout_s=30, what=f"worker {name} to start")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited early:\n{self.output()}")
        return b" ready." in self.log.read_bytes()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        stop_group(self.process)


def spawn(command: list[str], settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` (a Celery process) on ``settings``, in a session of its own, its
    output to ``log``."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=settings_env(settings),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_group(process: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    """SIGTERM a process started in a session of its own, and its children; SIGKILL if slow."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@contextmanager
def running_worker(settings: Settings, **kwargs: object) -> Iterator[Worker]:
    worker = Worker(settings, **kwargs)  # type: ignore[arg-type]
    try:
        yield worker
    finally:
        worker.stop()
