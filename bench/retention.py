"""Retention at scale: prune rate, writers during the prune, and the list API before and after.

Fills a fresh Postgres database (``bench_r_retention``) with N task records in one workspace
(``INSERT ... SELECT generate_series``, the table's indexes built after), created over the last
90 days, so about half finished more than 45 days ago; 10% pending (never pruned). Every
finished task has its notification; 20% have three steps, 10% an attempt, 10% an output. Then:

1. ``GET /api/v1/tasks?limit=25`` over real HTTP (the first page, and ``status=failed``): p50
   and p95, and the exact ``count(*)`` behind its ``total`` timed alone;
2. the prune of everything older than 45 days (``Retention.prune``, the service beat runs),
   ``--batch-size`` tasks per transaction, while a thread submits a task every 50 ms (its
   latency says whether writers wait for the prune): tasks/s and rows/s;
3. ``VACUUM ANALYZE``, then the list API again.

    python bench/retention.py [--rows 10000000] [--batch-size 1000] [--requests 20] [--keep]

The machine's load average is printed with each phase (it is shared). Check ``df -h`` first:
10,000,000 rows take about 8 GB here.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop_database, fresh_database
from taskhub import Settings, TaskHub
from taskhub.domain.retention import PrunedBatch, PruneReport
from taskhub.store import tables as m
from tests.api.api_support import serving

BENCH_DB = "bench_r_retention"
BROKER = "redis://127.0.0.1:6379/3"
CHUNK = 1_000_000  # rows per INSERT statement (each its own transaction)
OLDER_THAN_DAYS = 45
# i: 1..n, created over the last 90 days (i = n is the newest); status by i % 10
TASKS = """
INSERT INTO tasks (id, workspace_id, task_name, name, type, status, priority, queue, input,
                   timeout_s, max_retries, retry_delay_s, retry_backoff, attempt, run,
                   created_at, started_at, finished_at, updated_at)
SELECT md5(i::text)::uuid::text, :ws, 'bench.noop', 'Nightly report #' || i, 'manual',
       s.status, 5, 'taskhub', '{}', 60, 0, 1, 2, 1, 1, at, at,
       CASE WHEN s.status = 'pending' THEN NULL ELSE at + interval '1 minute' END, at
FROM generate_series(:lo, :hi) AS i,
     LATERAL (SELECT now() - (:n - i) * (interval '90 days' / :n) AS at) AS t,
     LATERAL (SELECT (ARRAY['completed','completed','completed','completed','completed',
                            'completed','failed','failed','cancelled','pending'])[1 + i % 10]
                     AS status) AS s
"""
NOTIFICATIONS = """
INSERT INTO notifications (workspace_id, task_id, run, outcome, kind, title, description,
                           created_at)
SELECT workspace_id, id, 1, status, CASE WHEN status = 'completed' THEN 'success' ELSE 'error' END,
       name || ' ' || status, '', finished_at
FROM tasks WHERE finished_at IS NOT NULL
"""
STEPS = """
INSERT INTO task_steps (task_id, name, position, status, started_at, finished_at, output)
SELECT id, step, position, 'completed', started_at, started_at, '[1, 2, 3]'
FROM tasks, (VALUES ('fetch', 0), ('crunch', 1), ('publish', 2)) AS steps (step, position)
WHERE abs(hashtext(id)) % 10 < 2
"""
ATTEMPTS = """
INSERT INTO task_attempts (task_id, run, attempt, worker, started_at, finished_at, error_type,
                           error_message)
SELECT id, 1, 1, 'bench@host', started_at, started_at, 'ConnectionError', 'lost its connection'
FROM tasks WHERE abs(hashtext(id)) % 10 = 2
"""
OUTPUTS = """
INSERT INTO task_outputs (task_id, name, content_type, content, size_bytes, created_at)
SELECT id, 'report.csv', 'text/csv', 'region,total\nUS,6\n', 16, started_at
FROM tasks WHERE abs(hashtext(id)) % 10 = 3 AND status = 'completed'
"""


def load() -> str:
    """The machine's load average over 1, 5 and 15 minutes (it is shared)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def seed(hub: TaskHub, n: int) -> tuple[str, str]:
    """N records with their rows; returns (workspace id, API key)."""
    workspace = hub.accounts.create_workspace("bench", "growth")
    engine = hub.store.engine
    started = time.perf_counter()
    indexes = list(m.tasks.indexes)  # built once, after the rows
    with engine.begin() as c:
        for index in indexes:
            index.drop(c)
    for lo in range(1, n + 1, CHUNK):
        with engine.begin() as c:
            c.execute(
                text(TASKS), {"ws": workspace.id, "lo": lo, "hi": min(n, lo + CHUNK - 1), "n": n}
            )
        print(f"  {min(n, lo + CHUNK - 1):>12,} tasks  {time.perf_counter() - started:7.1f} s")
    with engine.begin() as c:
        for index in indexes:
            index.create(c)
    print(f"  indexes            {time.perf_counter() - started:7.1f} s")
    for name, sql in (
        ("notifications", NOTIFICATIONS),
        ("steps", STEPS),
        ("attempts", ATTEMPTS),
        ("outputs", OUTPUTS),
    ):
        with engine.begin() as c:
            added = c.execute(text(sql)).rowcount
        print(f"  {added:>12,} {name:<14} {time.perf_counter() - started:7.1f} s")
    vacuum(engine)
    print(f"seeded in {time.perf_counter() - started:.0f} s; load {load()}")
    return workspace.id, hub.accounts.create_key(workspace.id, "bench")[1]


def vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))


def table_sizes(engine: Engine) -> str:
    query = """SELECT relname, n_live_tup FROM pg_stat_user_tables
               WHERE relname IN ('tasks', 'notifications', 'task_steps', 'task_attempts',
                                 'task_outputs') ORDER BY relname"""
    size = "SELECT pg_size_pretty(pg_database_size(current_database()))"
    with engine.connect() as c:
        rows = ", ".join(f"{r.relname} {r.n_live_tup:,}" for r in c.execute(text(query)))
        return f"{rows}; database {c.execute(text(size)).scalar_one()}"


def p50_p95(samples_ms: list[float]) -> str:
    p95 = statistics.quantiles(samples_ms, n=20, method="inclusive")[-1]
    return f"p50 {statistics.median(samples_ms):8.1f} ms   p95 {p95:8.1f} ms"


def list_api(hub: TaskHub, workspace_id: str, key: str, requests: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with serving(hub) as base, httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        for params in ({"limit": 25}, {"limit": 25, "status": "failed"}):
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                reply = client.get("/api/v1/tasks", params=params)
                samples.append((time.perf_counter() - started) * 1000)
                reply.raise_for_status()
            label = "&".join(f"{k}={v}" for k, v in params.items())
            total = reply.json().get("total")
            print(f"  GET /api/v1/tasks?{label:<22} {p50_p95(samples)}   total {total:,}")
    for status in (None, "failed"):
        where = "workspace_id = :ws" + (" AND status = :status" if status else "")
        samples = []
        with hub.store.engine.connect() as c:
            for _ in range(max(3, requests // 4)):
                started = time.perf_counter()
                c.execute(
                    text(f"SELECT count(*) FROM tasks WHERE {where}"),
                    {"ws": workspace_id, "status": status},
                ).scalar_one()
                samples.append((time.perf_counter() - started) * 1000)
        print(f"  its total alone: count(*) status={status or 'any':<7}  {p50_p95(samples)}")
    print(f"  load {load()}")


class Writer:
    """Submits a task every ``every_s`` on its own thread, timing each submit."""

    def __init__(self, hub: TaskHub, every_s: float = 0.05) -> None:
        self.hub, self.every_s, self.samples_ms = hub, every_s, list[float]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            started = time.perf_counter()
            self.hub.submit("bench.noop", name="written during the prune")
            self.samples_ms.append((time.perf_counter() - started) * 1000)


def prune(hub: TaskHub, batch_size: int) -> PruneReport:
    progress = {"tasks": 0, "at": time.perf_counter()}

    def each(batch: PrunedBatch) -> None:
        progress["tasks"] += batch.tasks
        if time.perf_counter() - progress["at"] > 30:
            progress["at"] = time.perf_counter()
            print(f"  ... {progress['tasks']:,} tasks pruned; load {load()}")

    with Writer(hub) as writer:
        report = hub.retention.prune(
            older_than_days=OLDER_THAN_DAYS, batch_size=batch_size, on_batch=each
        )
    rows = ", ".join(f"{name} {n:,}" for name, n in report.rows.items() if n)
    print(f"  pruned {report.tasks:,} tasks, {report.total_rows:,} rows ({rows})")
    seconds = report.seconds
    print(
        f"  in {report.batches:,} batches of {batch_size}, {seconds:.1f} s: "
        f"{report.tasks / seconds:,.0f} tasks/s, {report.total_rows / seconds:,.0f} rows/s"
    )
    submits = writer.samples_ms
    print(
        f"  a submit every 50 ms meanwhile ({len(submits):,}): {p50_p95(submits)}, "
        f"max {max(submits):.1f} ms; load {load()}"
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()
    free = shutil.disk_usage("/work").free
    print(f"{args.rows:,} rows; {free / 1e9:.0f} GB free on /work; load {load()}")
    url = fresh_database(BENCH_DB)
    settings = Settings(
        database_url=url, broker_url=BROKER, imports=["bench.bench_tasks"], retention_pause_s=0
    )
    hub = TaskHub(settings)
    try:
        hub.migrate()
        workspace_id, key = seed(hub, args.rows)
        print(f"before: {table_sizes(hub.store.engine)}")
        list_api(hub, workspace_id, key, args.requests)
        print(f"prune older than {OLDER_THAN_DAYS} days:")
        prune(hub, args.batch_size)
        started = time.perf_counter()
        vacuum(hub.store.engine)
        took_s = time.perf_counter() - started
        print(f"VACUUM ANALYZE {took_s:.0f} s; after: {table_sizes(hub.store.engine)}")
        list_api(hub, workspace_id, key, args.requests)
    finally:
        hub.close()
        if not args.keep:
            drop_database(BENCH_DB)


if __name__ == "__main__":
    main()
