"""Postgres drops the workers' connections while tasks write steps, progress and outputs:
no task fails for it, and none runs twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from taskhub import Settings, Status, TaskHub

from .support import WORKER_APP, check_invariants, flowing, seconds_until_final
from .tasks import executions_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

TERMINATE = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE application_name = :app AND pid <> pg_backend_pid()"
)


class BackendKiller:
    """Terminates every database connection of the workers, every ``interval_s``."""

    def __init__(self, hub: TaskHub, interval_s: float) -> None:
        self.hub, self.interval_s = hub, interval_s
        self.killed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> BackendKiller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self.hub.store.engine.connect() as c:
                self.killed += int(c.execute(TERMINATE, {"app": WORKER_APP}).scalar_one())


def test_postgres_dropping_worker_connections_mid_flow_fails_no_task(
    fault_hub: TaskHub,
    fault_settings: Settings,
    worker_settings: Settings,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    executions = tmp_path / "runs.log"
    batch = fault_hub.submit_many("faults.chatty", [{"executions": str(executions)}] * 60)
    ids = [record.id for record in batch]
    with (
        flowing(fault_hub, fault_settings, worker_settings, tmp_path),
        BackendKiller(fault_hub, interval_s=0.2) as killer,
    ):
        elapsed_s = seconds_until_final(fault_hub, ids)

    verdict = check_invariants(fault_hub, ids, executions_of(executions))
    assert verdict.statuses == {Status.COMPLETED: 60}
    assert killer.killed >= 10, "the fault must really have happened"
    for task_id in ids:
        assert fault_hub.output(task_id, "summary.txt").content == "three steps"
    report(f"{killer.killed} worker connections dropped: 60 tasks completed in {elapsed_s:.1f} s")
