"""The fault suite's own services and its checker.

Each test gets a Redis server of its own (it kills it, restarts it empty, fills its memory),
a Postgres database of its own in which a trigger keeps every status change of every task,
and real worker and beat processes. The checker reads the records afterwards.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from taskhub import Settings, Status, TaskHub
from taskhub.domain.states import FINAL_STATUSES, TRANSITIONS

from ...support import running_worker, spawn, stop_group, wait_for

HISTORY_DDL = (
    """CREATE TABLE IF NOT EXISTS fault_history (
        seq bigserial PRIMARY KEY, task_id text NOT NULL,
        old_status text NOT NULL, new_status text NOT NULL)""",
    """CREATE OR REPLACE FUNCTION fault_history_log() RETURNS trigger AS $$
       BEGIN
         INSERT INTO fault_history (task_id, old_status, new_status)
         VALUES (NEW.id, OLD.status, NEW.status);
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS fault_history_t ON tasks",
    """CREATE TRIGGER fault_history_t AFTER UPDATE OF status ON tasks FOR EACH ROW
       WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION fault_history_log()""",
)
WORKER_APP = "taskhub-fault-worker"  # application_name of the workers' database connections


def database_url_for(base_url: str, name: str) -> str:
    """``base_url`` naming database ``name`` instead; created on the same server if missing."""
    url = make_url(base_url)
    from sqlalchemy import create_engine

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.scalar() is None:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def install_history(engine: Engine) -> None:
    with engine.begin() as c:
        for statement in HISTORY_DDL:
            c.execute(text(statement))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A ``redis-server`` of the test's own, keeping nothing on disk (as the shared one)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        log = (self.folder / f"redis-{time.monotonic_ns()}.log").open("wb")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout_s=10, what="redis-server to answer")

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: every message it held is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart_empty(self) -> None:
        self.kill()
        self.start()


class Beat:
    """A real ``celery beat`` process: it runs the recovery sweep."""

    def __init__(self, settings: Settings, home: Path) -> None:
        self.log = home / f"beat-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "celery", "-A", "taskhub.app", "beat", "-l", "info"]
        command += ["--schedule", str(home / "beat-schedule")]
        self.process = spawn(command, settings, self.log)
        wait_for(self._ready, timeout_s=30, what="beat to start")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"beat exited early:\n{self.log.read_text()}")
        return b"beat: Starting" in self.log.read_bytes()

    def stop(self) -> None:
        stop_group(self.process, timeout_s=10)


@contextmanager
def flowing(
    hub: TaskHub, settings: Settings, worker_settings: Settings, home: Path
) -> Iterator[None]:
    """Beat and a worker run ``hub``'s tasks; the block starts once the first ones finished."""
    beat = Beat(settings, home)
    try:
        with running_worker(worker_settings, concurrency=2, name="flowing"):
            wait_for(lambda: hub.list(status=Status.COMPLETED, limit=1).total >= 10, what="a start")
            yield
    finally:
        beat.stop()


def seconds_until_final(hub: TaskHub, ids: list[str], timeout_s: float = 90) -> float:
    """Wait until every task of ``ids`` is final; how long that took."""
    began = time.monotonic()
    wait_for(
        lambda: all(hub.get(task_id).status.is_final for task_id in ids),
        timeout_s=timeout_s,
        poll_s=0.5,
        what="every task to finish",
    )
    return time.monotonic() - began


# -- the checker -----------------------------------------------------------------------------

ALLOWED_MOVES = {(source, t.target) for t in TRANSITIONS.values() for source in t.sources}
PEOPLE_RETRY = {(s, Status.PENDING) for s in TRANSITIONS["retry"].sources}


@dataclass(frozen=True)
class Verdict:
    statuses: dict[Status, int]
    executions: int
    moves: int


def check_invariants(
    hub: TaskHub,
    ids: Iterable[str],
    executions: dict[str, int],
    *,
    final: Status | None = Status.COMPLETED,
    max_executions: int = 1,
) -> Verdict:
    """What must hold on the records after any fault, for the tasks ``ids``:

    - every one is final (and ``final`` when given);
    - its history only moved as the state machine allows, and never out of a final status;
    - its body ran at least once and at most ``max_executions`` times;
    - exactly one notification per run's outcome.
    """
    ids = list(ids)
    records = {task_id: hub.get(task_id) for task_id in ids}
    not_final = {i: r.status for i, r in records.items() if not r.status.is_final}
    assert not not_final, f"{len(not_final)} task(s) not final: {list(not_final.items())[:5]}"
    if final is not None:
        other = {i: (r.status, r.error) for i, r in records.items() if r.status is not final}
        assert not other, f"{len(other)} task(s) not {final}: {list(other.items())[:5]}"
    moves = _history(hub.store.engine, ids)
    for task_id, old, new in moves:
        assert old not in FINAL_STATUSES, f"{task_id} moved backwards: {old} -> {new}"
        assert (old, new) in ALLOWED_MOVES - PEOPLE_RETRY, f"{task_id}: {old} -> {new}"
    too_many = {i: n for i, n in executions.items() if i in records and n > max_executions}
    assert not too_many, f"bodies ran more than {max_executions} time(s): {too_many}"
    never = [i for i in ids if executions.get(i, 0) == 0 and records[i].attempt > 0]
    assert not never, f"claimed but never ran: {never[:5]}"
    notes = _notifications(hub.store.engine, ids)
    wrong = {i: notes.get(i, 0) for i in ids if notes.get(i, 0) != 1}
    assert not wrong, f"notifications per outcome must be 1: {list(wrong.items())[:5]}"
    counted: dict[Status, int] = {}
    for record in records.values():
        counted[record.status] = counted.get(record.status, 0) + 1
    return Verdict(counted, sum(executions.get(i, 0) for i in ids), len(moves))


def _history(engine: Engine, ids: list[str]) -> list[tuple[str, Status, Status]]:
    query = text(
        "SELECT task_id, old_status, new_status FROM fault_history"
        " WHERE task_id = ANY(:ids) ORDER BY seq"
    )
    with engine.connect() as c:
        rows = c.execute(query, {"ids": ids}).all()
    return [(row[0], Status(row[1]), Status(row[2])) for row in rows]


def _notifications(engine: Engine, ids: list[str]) -> dict[str, int]:
    query = text(
        "SELECT task_id, count(*) FROM notifications WHERE task_id = ANY(:ids) GROUP BY task_id"
    )
    with engine.connect() as c:
        return {row[0]: int(row[1]) for row in c.execute(query, {"ids": ids})}
