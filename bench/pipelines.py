#!/usr/bin/env python
"""Fan-out/fan-in: a chord of N no-op parts and one no-op join, taskhub vs raw Celery.

One run, one Redis server (database 11), real ``celery worker --pool prefork -c 2``
subprocesses. taskhub: ``chord([sig("bench.noop")] * N, sig("bench.noop"))`` submitted with
``hub.pipelines.submit`` (1 + N records and N edges in one transaction), wall time from submit
to the join's record ``finished_at`` (the driver polls the database). Raw Celery:
``chord(group(noop.s() for _ in range(N)), noop.s())``, which needs a result backend: the
Redis result backend on the same Redis database; wall time from ``apply_async`` to the chord's
``AsyncResult.get`` returning. Raw runs with Celery's defaults and with taskhub's reliability
settings. Also, on taskhub: the same N + 1 no-ops as independent tasks (``submit_many``, no
edges), what the dependencies cost on top; where a pipeline's time goes (parts, release of
the join, the join); and what one decision of the join costs (``Dependencies.decide``: the
join's N parents read and judged), which every finishing part pays once.

    python bench/pipelines.py --nodes 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from celery import chord, group
from sqlalchemy import text

import taskhub
from bench import raw_chord_app
from bench.common import Worker, bench_settings, drop_database, wait_for
from taskhub import TaskHub
from taskhub.domain.canvas import chord as th_chord
from taskhub.domain.canvas import sig
from tests.support import settings_env

DATABASE = "taskhub_pipe_bench"
BROKER = raw_chord_app.URL  # redis://127.0.0.1:6379/11, both sides (raw: broker and backend)
WARMUP_NODES = 20  # a small chord before timing: the worker is ready, pool children warm
TIMEOUT_S = 300.0


@dataclass
class Run:
    wall_s: float
    submit_s: float


def rate(nodes: int, wall_s: float) -> float:
    return (nodes + 1) / wall_s


def median_wall(runs: list[Run]) -> float:
    return statistics.median(r.wall_s for r in runs)


def bench_raw(reliable: bool, nodes: int, repeat: int, home: Path) -> list[Run]:
    label = "raw celery (acks_late, prefetch 1)" if reliable else "raw celery (defaults)"
    app = raw_chord_app.make_app(reliable)
    noop = app.tasks[raw_chord_app.TASK]
    env = os.environ | {"BENCH_RAW_RELIABLE": "1" if reliable else "0"}
    runs: list[Run] = []
    log = home / f"raw-pipe-{int(reliable)}.log"
    with Worker("bench.raw_chord_app", raw_chord_app.QUEUE, env, log):

        def run(count: int) -> Run:
            t0 = time.perf_counter()
            result = chord(group(noop.s() for _ in range(count)), noop.s()).apply_async()
            submit_s = time.perf_counter() - t0
            result.get(timeout=TIMEOUT_S)
            wall_s = time.perf_counter() - t0
            result.forget()
            return Run(wall_s, submit_s)

        run(WARMUP_NODES)
        for _ in range(repeat):
            runs.append(run(nodes))
            r = runs[-1]
            print(
                f"  {label} run {len(runs)}: {r.wall_s:.2f} s submit->join finished "
                f"({rate(nodes, r.wall_s):.0f} tasks/s; apply_async {r.submit_s:.2f} s)",
                flush=True,
            )
    app.close()
    return runs


def reset(hub: TaskHub) -> None:
    with hub.store.engine.begin() as c:
        c.execute(text("TRUNCATE pipelines, tasks CASCADE"))  # and every table referencing them


def fan(nodes: int) -> taskhub.domain.canvas.Canvas:
    return th_chord([sig("bench.noop") for _ in range(nodes)], sig("bench.noop", name="join"))


def finished_at(hub: TaskHub, task_id: str) -> datetime | None:
    query = text("SELECT status, finished_at FROM tasks WHERE id = :id")
    with hub.store.engine.connect() as c:
        status, at = c.execute(query, {"id": task_id}).one()
    if at is not None and status != "completed":
        raise RuntimeError(f"the join ended {status}")
    return at  # type: ignore[no-any-return]


@dataclass
class Phases:
    """Where one pipeline's time went, from its records (seconds after submit began)."""

    parts_done: float  # the last part finished
    join_started: float  # the join started (released, published, picked up)
    join_done: float


def phases(hub: TaskHub, pipeline_id: str, t0: float) -> Phases:
    query = text(
        "SELECT max(finished_at) FILTER (WHERE node <> 'join'), "
        "max(started_at) FILTER (WHERE node = 'join'), "
        "max(finished_at) FILTER (WHERE node = 'join') FROM tasks WHERE pipeline_id = :p"
    )
    with hub.store.engine.connect() as c:
        parts, started, done = c.execute(query, {"p": pipeline_id}).one()
    return Phases(parts.timestamp() - t0, started.timestamp() - t0, done.timestamp() - t0)


def bench_pipeline(
    hub: TaskHub, nodes: int, repeat: int, proc: Worker
) -> tuple[list[Run], list[Phases]]:
    runs: list[Run] = []
    split: list[Phases] = []

    def run(count: int) -> tuple[Run, Phases]:
        reset(hub)
        canvas = fan(count)  # built before the clock starts: the canvas is the caller's
        t0 = time.time()
        pipeline = hub.pipelines.submit(hub.workspace_id, canvas, name=f"fan-{count}")
        submit_s = time.time() - t0
        join = next(n.id for n in pipeline.nodes if n.node == "join")
        wait_for(
            lambda: finished_at(hub, join) is not None,
            timeout_s=TIMEOUT_S,
            poll_s=0.02,
            what=f"the join of {count} parts",
            proc=proc.proc,
        )
        end = finished_at(hub, join)
        assert end is not None
        return Run(end.timestamp() - t0, submit_s), phases(hub, pipeline.id, t0)

    run(WARMUP_NODES)
    for _ in range(repeat):
        r, p = run(nodes)
        runs.append(r)
        split.append(p)
        print(
            f"  taskhub pipeline run {len(runs)}: {r.wall_s:.2f} s submit->join finished "
            f"({rate(nodes, r.wall_s):.0f} tasks/s; submit {r.submit_s:.2f} s; "
            f"last part done {p.parts_done:.2f} s, join started {p.join_started:.2f} s)",
            flush=True,
        )
    return runs, split


def completed(hub: TaskHub) -> int:
    return hub.list(status="completed", limit=1).total


def bench_flat(hub: TaskHub, nodes: int, repeat: int, proc: Worker) -> list[Run]:
    """The same N + 1 no-ops, independent (``submit_many``): no edges, nothing to decide."""
    runs: list[Run] = []
    query = text("SELECT max(finished_at) FROM tasks")
    for _ in range(repeat):
        reset(hub)
        t0 = time.time()
        hub.submit_many("bench.noop", ({} for _ in range(nodes + 1)))
        submit_s = time.time() - t0
        wait_for(
            lambda: completed(hub) >= nodes + 1,
            timeout_s=TIMEOUT_S,
            poll_s=0.02,
            what=f"{nodes + 1} independent no-ops",
            proc=proc.proc,
        )
        with hub.store.engine.connect() as c:
            last = c.execute(query).scalar_one()
        runs.append(Run(last.timestamp() - t0, submit_s))
        print(
            f"  taskhub flat run {len(runs)}: {runs[-1].wall_s:.2f} s for {nodes + 1} "
            f"independent no-ops (submit_many {submit_s:.2f} s)",
            flush=True,
        )
    return runs


def bench_decide(hub: TaskHub, nodes: int, samples: int = 50) -> float:
    """Seconds one ``decide`` of the join takes (N parents read and judged; all pending, so it
    waits and changes nothing), median of ``samples``; no worker runs."""
    reset(hub)
    pipeline = hub.pipelines.submit(hub.workspace_id, fan(nodes), name="decide")
    join = next(n.id for n in pipeline.nodes if n.node == "join")
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        hub.dependencies.decide(join)
        times.append(time.perf_counter() - t0)
    reset(hub)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000, help="parts of the chord's header")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    nodes, repeat = args.nodes, args.repeat
    home = Path(tempfile.mkdtemp(prefix="bench-pipelines-"))
    source = Path(taskhub.__file__).parent
    print(
        f"nodes={nodes} (+1 join) repeat={repeat}, taskhub from {source}, worker logs in {home}, "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    raw = bench_raw(False, nodes, repeat, home)
    broker.flushdb()
    raw_reliable = bench_raw(True, nodes, repeat, home)
    broker.flushdb()

    settings = bench_settings(home, DATABASE, BROKER)
    hub = TaskHub(settings)
    try:
        hub.migrate()
        assert hub.workspace_id
        decide_s = bench_decide(hub, nodes)  # before any worker consumes the queue
        broker.flushdb()
        env = settings_env(settings)
        log = home / "taskhub.log"
        with Worker("taskhub.app", settings.default_queue, env, log) as w:
            th, split = bench_pipeline(hub, nodes, repeat, w)
            flat = bench_flat(hub, nodes, repeat, w)
    finally:
        broker.flushdb()
        hub.close()
        drop_database(DATABASE)

    th_wall, raw_wall, rel_wall = median_wall(th), median_wall(raw), median_wall(raw_reliable)
    print(
        f"raw celery (defaults, redis result backend): {raw_wall:.2f} s, "
        f"{rate(nodes, raw_wall):.0f} tasks/s"
    )
    print(
        f"raw celery (acks_late, prefetch 1, redis result backend): {rel_wall:.2f} s, "
        f"{rate(nodes, rel_wall):.0f} tasks/s"
    )
    print(
        f"taskhub pipeline (postgres + redis): {th_wall:.2f} s, {rate(nodes, th_wall):.0f} tasks/s"
    )
    print(f"ratio (taskhub/raw throughput): {raw_wall / th_wall:.2f}")
    print(f"ratio vs same reliability settings: {rel_wall / th_wall:.2f}")
    submit = statistics.median(r.submit_s for r in th)
    print(f"taskhub submit of {nodes + 1} records + {nodes} edges: {submit:.3f} s")
    print(
        f"taskhub phases (medians, s after submit): last part done "
        f"{statistics.median(p.parts_done for p in split):.2f}, join started "
        f"{statistics.median(p.join_started for p in split):.2f}, join done "
        f"{statistics.median(p.join_done for p in split):.2f}"
    )
    flat_wall = median_wall(flat)
    print(
        f"taskhub {nodes + 1} independent no-ops (no edges): {flat_wall:.2f} s "
        f"({rate(nodes, flat_wall):.0f} tasks/s): dependencies cost x{th_wall / flat_wall:.2f}"
    )
    print(
        f"one decide() of the join ({nodes} parents): {decide_s * 1000:.1f} ms; "
        f"x{nodes} finishing parts = {decide_s * nodes:.1f} s of worker time"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
