"""GET /api/v1/tasks page latency with 1,000,000 task records in Postgres.

Seeds one workspace with N records (one INSERT ... SELECT generate_series), serves the API with
uvicorn in this process's thread, and times pages over real HTTP: skip=0 and skip=100000, with
and without a status filter, and the cursor walk (``after=``) at the same depth.

    python bench/api.py [--n 1000000] [--requests 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database
from taskhub import Settings, TaskHub
from tests.api.api_support import serving

BENCH_DB = "taskhub_bench_api"
SEED = """
INSERT INTO tasks (id, workspace_id, task_name, name, type, status, priority, queue, input,
                   timeout_s, max_retries, retry_delay_s, retry_backoff, attempt, run,
                   created_at, updated_at)
SELECT md5(i::text)::uuid::text, :ws, 'bench.noop', 'Nightly report #' || i, 'manual',
       (ARRAY['completed','completed','completed','failed','pending'])[1 + i % 5], 5,
       'taskhub', '{}', 60, 0, 1, 2, 1, 1,
       now() - make_interval(secs => i), now() - make_interval(secs => i)
FROM generate_series(1, :n) AS i
"""


def seed(hub: TaskHub, n: int) -> str:
    workspace = hub.accounts.create_workspace("bench", "growth")
    started = time.perf_counter()
    with hub.store.engine.begin() as conn:
        conn.execute(text(SEED), {"ws": workspace.id, "n": n})
    with hub.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE tasks"))
    print(f"seeded {n:,} records in {time.perf_counter() - started:.1f} s")
    return hub.accounts.create_key(workspace.id, "bench")[1]


def timed(client: httpx.Client, path: str, params: dict[str, object], requests: int) -> list[float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        reply = client.get(path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        reply.raise_for_status()
    return samples


def cursor_at(client: httpx.Client, depth: int, status: str | None) -> str:
    """The cursor ``depth`` records down: the ``next_cursor`` of a one-item page there."""
    params: dict[str, object] = {"limit": 1, "skip": depth - 1}
    page = client.get("/api/v1/tasks", params=params | ({"status": status} if status else {}))
    page.raise_for_status()
    return str(page.json()["next_cursor"])


def report(name: str, samples: list[float]) -> None:
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"{name:<44} p50 {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    url = fresh_database(BENCH_DB)
    hub = TaskHub(Settings(database_url=url, imports=[]))
    hub.migrate()
    key = seed(hub, args.n)
    with (
        serving(hub) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client,
    ):
        for status in (None, "failed"):
            label = f"status={status}" if status else "no filter"
            base_params: dict[str, object] = {"limit": 25} | ({"status": status} if status else {})
            for skip in (0, 100_000):
                samples = timed(
                    client, "/api/v1/tasks", base_params | {"skip": skip}, args.requests
                )
                report(f"GET /tasks skip={skip:<7} {label}", samples)
            deep = cursor_at(client, 100_000, status)
            samples = timed(client, "/api/v1/tasks", base_params | {"after": deep}, args.requests)
            report(f"GET /tasks after=<cursor @100000> {label}", samples)
    hub.close()


if __name__ == "__main__":
    main()
