#!/usr/bin/env python
"""The dashboard's history page and task panel with 1,000,000 task records in Postgres (issue 11
item 12: each renders in under 200 ms).

Builds a fresh database ``bench_f_dashboard``, migrates it, and fills it with SQL (one
``INSERT ... SELECT generate_series`` per table): ``--rows`` records for the measured workspace,
spread over 30 days, mostly completed, some failed and cancelled, the newest few pending,
running, retrying or paused; manual, scheduled (one schedule origin per definition) and
triggered; 20 definitions with their display names; steps for one in ten, an output for one in
twenty (``--no-extras`` skips both); and ``--other-rows`` records of a second workspace in the
same 30 days, so every query must scope.

Then serves the real app (uvicorn in a thread), signs in through the sign-in form (a cookie
session) and times each page ``--requests`` times after ``--warmup`` requests: the server's
time (request in to last body byte, measured by an ASGI wrapper) and the round trip over
loopback, median and p95. ``/panel`` is measured when the app has it (else a note); the service
call behind it (the 100 latest changes) is timed in-process either way. ``--explain`` prints
``EXPLAIN (ANALYZE, BUFFERS)`` of every statement the slowest pages run.

    .venv/bin/python bench/dashboard.py --rows 1000000 [--requests 30] [--explain] [--keep]
    .venv/bin/python bench/dashboard.py --reuse   # the --keep database, migrated to head
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop_database, fresh_database
from taskhub import Settings, TaskHub
from taskhub.api import create_app
from taskhub.domain.clock import now
from taskhub.domain.paging import TaskFilter
from tests.api.api_support import serving
from tests.web.web_support import csrf_of

DB = "bench_f_dashboard"
PG_URL = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DB}"
BROKER = "redis://127.0.0.1:6379/6"
BUDGET_MS = 200.0
DEFINITIONS = 20  # task definitions; each has a display name and one schedule

TASKS = """
WITH base AS (
  SELECT i, md5(:prefix || i::text)::uuid::text AS id, 1 + i % :defs AS d,
         now() - (i::float8 / :n) * interval '30 days' - random() * interval '2 s' AS created,
         random() AS r, random() AS k, random() AS t
  FROM generate_series(:n, 1, -1) AS i
), shaped AS (
  SELECT *,
    CASE WHEN i <= :live THEN (ARRAY['pending','in_progress','retrying','paused'])[1 + i % 4]
         WHEN r < 0.88 THEN 'completed' WHEN r < 0.97 THEN 'failed' ELSE 'cancelled' END AS status,
    CASE WHEN k < 0.55 THEN 'manual' WHEN k < 0.9 THEN 'scheduled' ELSE 'triggered' END AS type,
    created + (0.2 + t * 3) * interval '1 s' AS started,
    created + (1 + t * 240) * interval '1 s' AS finished
  FROM base
)
INSERT INTO tasks (id, workspace_id, task_name, name, type, origin, status, priority, queue,
                   input, timeout_s, max_retries, retry_delay_s, retry_backoff, attempt, run,
                   worker, created_at, dispatched_at, started_at, finished_at, error_type,
                   error_message, percent, message, updated_at)
SELECT id, :ws, 'jobs.' || (ARRAY[:names])[d] , initcap((ARRAY[:names])[d]) || ' #' || i, type,
       CASE type WHEN 'scheduled' THEN 'schedule:' || md5('schedule' || d)::uuid::text
                 WHEN 'triggered' THEN 'trigger:' || md5('trigger' || (d % 4))::uuid::text END,
       status, 5, 'taskhub', '{"region": "eu", "batch": 100}', 300, 3, 1, 2,
       CASE WHEN status = 'pending' THEN 0 ELSE 1 END, 1,
       CASE WHEN status = 'pending' THEN NULL ELSE 'celery@worker-' || (i % 8) END,
       created, created + interval '20 ms',
       CASE WHEN status = 'pending' THEN NULL ELSE started END,
       CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN finished END,
       CASE WHEN status = 'failed' THEN (ARRAY['TimeoutError','ValueError','HTTPError'])[1 + i % 3]
       END,
       CASE WHEN status = 'failed' THEN 'upstream answered 503 after 3 attempts' END,
       CASE WHEN status = 'completed' THEN 100 WHEN status = 'in_progress' THEN 40 END,
       CASE WHEN status = 'in_progress' THEN 'crunching' END,
       CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN finished ELSE started END
FROM shaped
"""
NAMES = [
    "nightly report", "resize image", "send invoice", "sync crm", "import csv",
    "export ledger", "send newsletter", "rebuild search index", "charge subscription",
    "refresh token", "generate thumbnail", "backup database", "transcode video",
    "score leads", "reconcile payments", "compact logs", "warm cache", "crawl sitemap",
    "train model", "notify slack",
]  # fmt: skip
STEPS = """
INSERT INTO task_steps (task_id, name, position, status, started_at, finished_at)
SELECT t.id, s.name, s.position, CASE WHEN t.status = 'completed' THEN 'completed'
       WHEN t.status = 'failed' AND s.position = 3 THEN 'failed'
       WHEN t.status = 'failed' THEN 'completed' ELSE 'queued' END,
       t.started_at, t.finished_at
FROM tasks t CROSS JOIN (VALUES ('fetch', 1), ('crunch', 2), ('publish', 3)) AS s(name, position)
WHERE t.workspace_id = :ws AND t.status IN ('completed', 'failed') AND t.id LIKE '%0'
"""
OUTPUTS = """
INSERT INTO task_outputs (task_id, name, content_type, content, size_bytes, created_at)
SELECT id, 'summary.json', 'application/json', '{"rows": 1000, "ok": true}', 26, finished_at
FROM tasks WHERE workspace_id = :ws AND status = 'completed' AND id LIKE '%1_'
"""


@dataclass
class Case:
    label: str
    path: str
    server_ms: list[float] = field(default_factory=list)
    round_trip_ms: list[float] = field(default_factory=list)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Row = tuple[str, list[float], list[float]]  # label, server ms, round trip ms


class ServerTime:
    """ASGI middleware: how long the last request took inside the server, to its last byte."""

    last_ms = 0.0

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                ServerTime.last_ms = (time.perf_counter() - started) * 1000

        await self.app(scope, receive, timed)


def seed(hub: TaskHub, rows: int, other_rows: int, extras: bool) -> tuple[str, str]:
    """Fill both workspaces; returns the measured workspace's id and an API key of it."""
    mine = hub.accounts.create_workspace("bench-dashboard", "enterprise")
    other = hub.accounts.create_workspace("bench-other", "enterprise")
    names = {f"n{i}": name for i, name in enumerate(NAMES)}
    sql = TASKS.replace(":names", ", ".join(f":{key}" for key in names))
    started = time.perf_counter()
    with hub.store.engine.begin() as c:
        c.execute(text("SELECT setseed(0.42)"))
        for ws, prefix, n in ((mine.id, "a", rows), (other.id, "b", other_rows)):
            args = {"ws": ws, "prefix": prefix, "n": n, "defs": DEFINITIONS, "live": 300}
            c.execute(text(sql), args | names)
        if extras:
            c.execute(text(STEPS), {"ws": mine.id})
            c.execute(text(OUTPUTS), {"ws": mine.id})
    filled = time.perf_counter() - started
    with hub.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
        counts = c.execute(text("SELECT status, count(*) FROM tasks GROUP BY 1 ORDER BY 2 DESC"))
        print("statuses:", ", ".join(f"{s} {n:,}" for s, n in counts))
    print(f"filled {rows:,} + {other_rows:,} records in {filled:.1f} s (+ VACUUM ANALYZE "
          f"{time.perf_counter() - started - filled:.1f} s)")  # fmt: skip
    return mine.id, hub.accounts.create_key(mine.id, "bench")[1]


def reuse(hub: TaskHub) -> tuple[str, str]:
    """The measured workspace of a kept database, and a new API key of it."""
    with hub.store.engine.connect() as c:
        found = c.execute(text("SELECT id FROM workspaces WHERE name = 'bench-dashboard'"))
        workspace_id = str(found.scalar_one())
        c.execute(text("ANALYZE tasks"))
        c.commit()
    return workspace_id, hub.accounts.create_key(workspace_id, "bench")[1]


def sign_in(client: httpx.Client, key: str) -> None:
    form = client.get("/login")
    reply = client.post("/login", data={"api_key": key, "csrf_token": csrf_of(form)})
    if reply.status_code != 303 or reply.headers["location"] != "/":
        raise RuntimeError(f"sign-in failed: {reply.status_code} {reply.text[:300]}")


def cases(origin: str, panel: bool) -> list[Case]:
    found = [
        Case("history, page 1", "/"),
        Case("history, page 2", "/?skip=25"),
        Case("history, skip=10000", "/?skip=10000"),
        Case("status=failed", "/?status=failed"),
        Case("status=failed, skip=10000", "/?status=failed&skip=10000"),
        Case("status=pending (few)", "/?status=pending"),
        Case("name search q=invoice", "/?q=invoice"),
        Case("name search q=invoice #12345", "/?q=invoice+%2312345"),
        Case("name search, no match", "/?q=no-such-name"),
        Case("origin=schedule:...", f"/?origin={origin}"),
        Case("error_type=ValueError", "/?error_type=ValueError"),
        Case("type=triggered", "/?type=triggered"),
    ]
    return [*found, Case("task panel", "/panel")] if panel else found


def measure(client: httpx.Client, case: Case, warmup: int, requests: int) -> None:
    for i in range(warmup + requests):
        started = time.perf_counter()
        reply = client.get(case.path)
        elapsed = (time.perf_counter() - started) * 1000
        if reply.status_code != 200:
            raise RuntimeError(f"{case.path}: {reply.status_code} {reply.text[:300]}")
        if i >= warmup:
            case.server_ms.append(ServerTime.last_ms)
            case.round_trip_ms.append(elapsed)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def table(rows: list[Row]) -> None:
    print(f"\n{'':34} {'server ms':>18} {'round trip ms':>18}")
    print(f"{'what':34} {'p50':>8} {'p95':>9} {'p50':>8} {'p95':>9}  under {BUDGET_MS:g} ms")
    for label, server, round_trip in rows:
        ok = "yes" if p95(server) < BUDGET_MS else "NO"
        print(
            f"{label:34} {statistics.median(server):8.1f} {p95(server):9.1f} "
            f"{statistics.median(round_trip):8.1f} {p95(round_trip):9.1f}  {ok}"
        )


def panel_services(hub: TaskHub, workspace_id: str, warmup: int, requests: int) -> list[Row]:
    """What a panel of the 100 latest tasks may call (in-process, no HTTP): the changes of the
    last hour (oldest first, at most 100), and the 100 newest tasks with their count."""
    since = now() - timedelta(hours=1)
    calls: dict[str, Callable[[], object]] = {
        "service: tasks.changes(1 h, 100)": lambda: hub.tasks.changes(
            workspace_id, since, limit=100
        ),
        "service: tasks.list_tasks(100)": lambda: hub.tasks.list_tasks(
            TaskFilter(workspace_id), limit=100
        ),
    }
    rows = []
    for label, call in calls.items():
        samples = []
        for i in range(warmup + requests):
            started = time.perf_counter()
            call()
            if i >= warmup:
                samples.append((time.perf_counter() - started) * 1000)
        rows.append((label, samples, samples))
    return rows


def explain(hub: TaskHub, client: httpx.Client, case: Case) -> None:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of each statement one request of ``case`` runs."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "FROM tasks" in sql:
            statements.append((sql, params))

    event.listen(hub.store.engine, "before_cursor_execute", capture)
    try:
        client.get(case.path).raise_for_status()
    finally:
        event.remove(hub.store.engine, "before_cursor_execute", capture)
    print(f"\n==== {case.label}: {case.path}")
    raw = hub.store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for sql, params in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print(f"-- {' '.join(sql.split())[:400]}")
            print("\n".join(row[0] for row in cursor.fetchall()))
        raw.rollback()
    finally:
        raw.close()


def has_panel(client: httpx.Client) -> bool:
    if client.get("/panel").status_code == 404:
        print("note: GET /panel does not exist in this app yet: not measured over HTTP")
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--other-rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-extras", action="store_true", help="no steps or outputs rows")
    parser.add_argument("--explain", action="store_true", help="plans of the slowest pages")
    parser.add_argument("--explain-top", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="the database a --keep run left, migrated to head"
    )
    args = parser.parse_args()
    if args.requests < 20:
        parser.error("--requests must be 20 or more")
    url = PG_URL if args.reuse else fresh_database(DB)
    home = tempfile.mkdtemp(prefix="bench-dashboard-")
    hub = TaskHub(Settings(database_url=url, broker_url=BROKER, home=Path(home), imports=[]))
    try:
        started = time.perf_counter()
        hub.migrate()
        print(f"migrated in {time.perf_counter() - started:.1f} s")
        if args.reuse:
            workspace_id, key = reuse(hub)
        else:
            workspace_id, key = seed(hub, args.rows, args.other_rows, not args.no_extras)
        run(hub, workspace_id, key, args)
    finally:
        hub.close()
        if not args.keep:
            drop_database(DB)


def run(hub: TaskHub, workspace_id: str, key: str, args: argparse.Namespace) -> None:
    app = create_app(hub)
    app.add_middleware(ServerTime)
    origin = "schedule:" + _md5_uuid("schedule3")
    with (
        serving(hub, app) as base,
        httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client,
    ):
        sign_in(client, key)
        measured = cases(origin, has_panel(client))
        print(f"load average before: {_loadavg()}")
        for case in measured:
            measure(client, case, args.warmup, args.requests)
        print(f"load average after:  {_loadavg()}")
        rows = [(f"GET {c.label}", c.server_ms, c.round_trip_ms) for c in measured]
        rows += panel_services(hub, workspace_id, args.warmup, args.requests)
        table(rows)
        if args.explain:
            slowest = sorted(measured, key=lambda c: -statistics.median(c.server_ms))
            for case in slowest[: args.explain_top]:
                explain(hub, client, case)


def _md5_uuid(value: str) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(value.encode()).hexdigest()))


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


if __name__ == "__main__":
    main()
