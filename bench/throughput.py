#!/usr/bin/env python
"""No-op task throughput and latency: raw Celery vs taskhub (Postgres records, Redis broker).

One run, one Redis server, real ``celery worker --pool prefork -c 2`` subprocesses, no result
backend. Raw Celery runs three times: Celery defaults, taskhub's reliability settings
(acks_late, prefetch 1, reject_on_worker_lost), and defaults on taskhub's Redis transport
(kombu's, with one client per pool: that gain is not taskhub's alone). Throughput is end to
end, first enqueue to last finish (wall clock). Then the enqueue-only rate of ``submit_many``
vs ``submit``. ``--task-events``: taskhub's workers send task events (as while Flower watches).

    python bench/throughput.py --n 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from sqlalchemy import text

import taskhub
from bench import common, raw_app
from bench.common import Worker, bench_settings, fmt_ms, wait_for
from taskhub import TaskHub
from tests.support import settings_env

TASKHUB_BROKER = "redis://127.0.0.1:6379/14"
REDIS_TRANSPORT = (
    "taskhub.worker.redis_transport:Transport"  # kombu's, one client per pool (see there)
)
PACED_N = 100  # single tasks, paced, for the idle latency
PACED_RATE = 20.0  # per second
WARMUP = 20  # tasks run before timing: the worker is ready, pool children and connections warm
TIMEOUT_S = 300.0

Times = list[tuple[float, float, float]]  # per task: enqueued, started, finished (epoch s)


@dataclass
class Series(common.Series):
    to_finish: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)  # enqueue->start, paced single tasks

    def add(self, t0: float, enqueue_s: float, times: Times) -> None:
        rate = len(times) / (max(f for _, _, f in times) - t0)
        starts = [s - e for e, s, _ in times]
        finishes = [f - e for e, _, f in times]
        self.rates.append(rate)
        self.to_start += starts
        self.to_finish += finishes
        print(
            f"  {self.label} run {len(self.rates)}: {rate:.0f} tasks/s "
            f"(enqueue alone {len(times) / enqueue_s:.0f}/s); p50/p99 ms: "
            f"enqueue->start {fmt_ms(starts)}, enqueue->finish {fmt_ms(finishes)}",
            flush=True,
        )


def bench_raw(
    reliable: bool, n: int, repeat: int, home: Path, transport: str | None = None
) -> Series:
    label = "raw celery (acks_late, prefetch 1)" if reliable else "raw celery (defaults)"
    series = Series(f"{label} on taskhub's Redis transport" if transport else label)
    app = raw_app.make_app(reliable, transport)
    noop, client = app.tasks[raw_app.TASK], redis.Redis.from_url(raw_app.BROKER_URL)
    client.flushdb()
    env = os.environ | {"BENCH_RAW_RELIABLE": "1" if reliable else "0"}
    env["BENCH_RAW_TRANSPORT"] = transport or ""
    with Worker("bench.raw_app", raw_app.QUEUE, env, home / f"raw-{int(reliable)}.log") as w:

        def run(count: int) -> tuple[float, float, Times]:
            client.delete(raw_app.DONE_KEY)
            t0 = time.time()
            with app.producer_or_acquire() as producer:
                for _ in range(count):
                    noop.apply_async((time.time(),), producer=producer)
            enqueue_s = time.time() - t0
            wait_for(
                lambda: client.llen(raw_app.DONE_KEY) >= count,
                timeout_s=TIMEOUT_S,
                what=f"{count} raw tasks",
                proc=w.proc,
            )
            rows = client.lrange(raw_app.DONE_KEY, 0, -1)
            return t0, enqueue_s, [tuple(map(float, row.split())) for row in rows]  # type: ignore[misc]

        run(WARMUP)
        for _ in range(repeat):
            series.add(*run(n))
        if not reliable and transport is None:

            def one() -> Times:
                client.delete(raw_app.DONE_KEY)
                noop.apply_async((time.time(),))
                wait_for(lambda: client.llen(raw_app.DONE_KEY) >= 1, timeout_s=10, what="one")
                row = client.lrange(raw_app.DONE_KEY, 0, -1)[0]
                return [tuple(map(float, row.split()))]  # type: ignore[list-item]

            series.idle = paced(one)
    app.close()
    client.flushdb()
    return series


def reset(hub: TaskHub) -> None:
    with hub.store.engine.begin() as c:
        c.execute(text("TRUNCATE tasks CASCADE"))  # and every table referencing it


def completed(hub: TaskHub) -> int:
    return hub.list(status="completed", limit=1).total


def record_times(hub: TaskHub) -> Times:
    query = "SELECT created_at, started_at, finished_at FROM tasks WHERE status = 'completed'"
    with hub.store.engine.connect() as c:
        return [(a.timestamp(), b.timestamp(), f.timestamp()) for a, b, f in c.execute(text(query))]


def bench_taskhub(hub: TaskHub, n: int, repeat: int, home: Path) -> Series:
    series = Series("taskhub (postgres + redis)")
    queue = hub.settings.default_queue
    with Worker("taskhub.app", queue, settings_env(hub.settings), home / "taskhub.log") as w:

        def run(count: int) -> tuple[float, float, Times]:
            reset(hub)
            t0 = time.time()
            hub.submit_many("bench.noop", ({} for _ in range(count)))
            enqueue_s = time.time() - t0
            wait_for(
                lambda: completed(hub) >= count,
                timeout_s=TIMEOUT_S,
                poll_s=0.05,
                what=f"{count} taskhub records completed",
                proc=w.proc,
            )
            return t0, enqueue_s, record_times(hub)

        run(WARMUP)
        for _ in range(repeat):
            series.add(*run(n))

        def one() -> Times:
            reset(hub)
            hub.submit("bench.noop")
            wait_for(lambda: completed(hub) >= 1, timeout_s=10, poll_s=0.002, what="one task")
            return record_times(hub)

        series.idle = paced(one)
    return series


def paced(one: Callable[[], Times]) -> list[float]:
    """Idle latency: :data:`PACED_N` single tasks, one every 1/:data:`PACED_RATE` s (each
    finished before the next), enqueue->start of each, in seconds."""
    starts: list[float] = []
    for _ in range(PACED_N):
        due = time.monotonic() + 1 / PACED_RATE
        starts += [s - e for e, s, _ in one()]
        time.sleep(max(0.0, due - time.monotonic()))  # pacing the load, not waiting on it
    return starts


def bench_apply_async(n: int, repeat: int) -> float:
    """Raw Celery's ``apply_async`` one by one on the same Redis (nothing consumes its queue;
    each call acquires its producer, as each ``submit`` does): median tasks/s."""
    app = raw_app.make_app(False)
    noop, client = app.tasks[raw_app.TASK], redis.Redis.from_url(raw_app.BROKER_URL)
    rates = []
    for _ in range(repeat):
        client.flushdb()
        t0 = time.perf_counter()
        for _ in range(n):
            noop.apply_async((time.time(),), queue="raw-enqueue-only")
        rates.append(n / (time.perf_counter() - t0))
    client.flushdb()
    app.close()
    return statistics.median(rates)


def bench_enqueue(hub: TaskHub, n: int, repeat: int) -> tuple[float, float]:
    """Enqueue only (no worker running): records plus messages, tasks/s, medians."""
    many: list[float] = []
    single: list[float] = []
    for _ in range(repeat):
        reset(hub)
        t0 = time.perf_counter()
        hub.submit_many("bench.noop", ({} for _ in range(n)))
        many.append(n / (time.perf_counter() - t0))
        reset(hub)
        t0 = time.perf_counter()
        for _ in range(n):
            hub.submit("bench.noop")
        single.append(n / (time.perf_counter() - t0))
        print(
            f"  enqueue run {len(many)}: submit_many {many[-1]:.0f}/s, "
            f"submit one-by-one {single[-1]:.0f}/s",
            flush=True,
        )
    return statistics.median(many), statistics.median(single)


def latency_lines(label: str, s: Series) -> list[str]:
    return [
        f"{label} enqueue->start p50/p99 ms: {fmt_ms(s.to_start)}",
        f"{label} enqueue->finish p50/p99 ms: {fmt_ms(s.to_finish)}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="tasks per timed run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--enqueue-n", type=int, default=1000, help="tasks per enqueue-only run")
    parser.add_argument(
        "--task-events",
        action="store_true",
        help="taskhub workers send task events from the start (as while Flower watches)",
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    source = Path(taskhub.__file__).parent
    print(
        f"n={args.n} repeat={args.repeat}, taskhub from {source}, worker logs in {home}", flush=True
    )

    raw = bench_raw(False, args.n, args.repeat, home)
    raw_reliable = bench_raw(True, args.n, args.repeat, home)
    raw_ours = bench_raw(False, args.n, args.repeat, home, transport=REDIS_TRANSPORT)

    settings = bench_settings(home, "taskhub_bench", TASKHUB_BROKER, task_events=args.task_events)
    hub = TaskHub(settings)
    broker = redis.Redis.from_url(TASKHUB_BROKER)
    try:
        hub.migrate()
        broker.flushdb()  # before anything is declared or published on it
        assert hub.workspace_id
        th = bench_taskhub(hub, args.n, args.repeat, home)
        many, single = bench_enqueue(hub, args.enqueue_n, args.repeat)  # no worker: nothing runs
        applied = bench_apply_async(args.enqueue_n, args.repeat)
    finally:
        reset(hub)
        broker.flushdb()
        hub.close()

    for s in (raw, raw_reliable, raw_ours, th):
        print(f"{s.label} runs: " + ", ".join(f"{r:.0f}" for r in s.rates))
    print(f"raw celery (defaults): {raw.median:.0f} tasks/s")
    print(f"raw celery (acks_late, prefetch 1): {raw_reliable.median:.0f} tasks/s")
    print(f"taskhub (postgres + redis): {th.median:.0f} tasks/s")
    print(f"ratio: {th.median / raw.median:.2f}")
    print(f"raw celery (defaults) on taskhub's Redis transport: {raw_ours.median:.0f} tasks/s")
    print(f"ratio vs same reliability settings: {th.median / raw_reliable.median:.2f}")
    print(f"ratio vs raw celery on taskhub's Redis transport: {th.median / raw_ours.median:.2f}")
    lines = latency_lines("taskhub", th) + latency_lines("raw celery (defaults)", raw)
    print("\n".join(lines + latency_lines("raw celery (acks_late, prefetch 1)", raw_reliable)))
    for label, series in (("taskhub", th), ("raw celery (defaults)", raw)):
        print(
            f"{label} idle ({PACED_RATE:.0f}/s paced) enqueue->start p50/p99 ms: "
            + fmt_ms(series.idle)
        )
    print(f"submit_many: {many:.0f}/s, submit one-by-one: {single:.0f}/s")
    print(
        f"raw apply_async one-by-one: {applied:.0f}/s; submit / apply_async: {single / applied:.2f}"
    )


if __name__ == "__main__":
    main()
