#!/usr/bin/env python
"""No-op tasks on the embedded default (SQLite file + filesystem broker, as ``taskhub dev``).

A fresh temporary home per invocation, a real ``celery -A taskhub.app worker --pool prefork
-c 2``, no server. Three measures, each repeated (medians printed):

* end to end with ``submit_many``: first submit to last finish, from the records;
* end to end with ``submit`` one by one, the same way;
* start latency while idle: single tasks submitted one at a time, paced (a jittered gap, so
  the pace cannot lock onto the broker's polling), ``started_at - created_at`` p50/p99.

The load average is printed beside the figures: the machine may be shared.

    python bench/embedded.py --n 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

import taskhub
from bench import common
from bench.common import Worker, p50_p99_ms, wait_for
from taskhub import Settings, TaskHub
from tests.support import settings_env

TASK = "bench.noop"
WARMUP = 20  # tasks run before timing: the worker is ready, pool children warm
TIMEOUT_S = 600.0


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Series(common.Series):
    loads: list[str] = field(default_factory=list)  # the load average after each run


def completed(hub: TaskHub) -> int:
    query = "SELECT count(*) FROM tasks WHERE status = 'completed'"
    with hub.store.engine.connect() as c:
        return int(c.execute(text(query)).scalar_one())


def times_of(hub: TaskHub, ids: list[str]) -> list[tuple[float, float, float]]:
    """(created, started, finished) of each of ``ids``, epoch seconds."""
    records = [hub.get(task_id) for task_id in ids]
    return [
        (r.created_at.timestamp(), r.started_at.timestamp(), r.finished_at.timestamp())
        for r in records
        if r.started_at is not None and r.finished_at is not None
    ]


def wait_done(hub: TaskHub, total: int, w: Worker) -> None:
    wait_for(
        lambda: completed(hub) >= total,
        timeout_s=TIMEOUT_S,
        poll_s=0.02,
        what=f"{total} records completed",
        proc=w.proc,
    )


class Bench:
    def __init__(self, hub: TaskHub, worker: Worker) -> None:
        self.hub, self.worker, self.done = hub, worker, 0

    def run_batch(self, n: int, one_by_one: bool) -> tuple[float, list[float]]:
        t0 = time.time()
        if one_by_one:
            ids = [self.hub.submit(TASK).id for _ in range(n)]
        else:
            ids = [r.id for r in self.hub.submit_many(TASK, ({} for _ in range(n)))]
        self.done += n
        wait_done(self.hub, self.done, self.worker)
        times = times_of(self.hub, ids)
        first = min(c for c, _, _ in times)
        last = max(f for _, _, f in times)
        assert first >= t0 - 1, "records from another run"
        return n / (last - first), [s - c for c, s, _ in times]

    def run_paced(self, n: int, gap_s: float) -> list[float]:
        ids: list[str] = []
        for _ in range(n):
            ids.append(self.hub.submit(TASK).id)
            self.done += 1
            wait_done(self.hub, self.done, self.worker)  # idle before the next one
            time.sleep(random.uniform(0.5 * gap_s, 1.5 * gap_s))
        return [s - c for c, s, _ in times_of(self.hub, ids)]


def measure(args: argparse.Namespace, hub: TaskHub, home: Path) -> list[Series]:
    many, single = Series("submit_many, end to end"), Series("submit one by one, end to end")
    idle = Series(f"idle single tasks (gap ~{args.gap_ms:g} ms)")
    queue = hub.settings.default_queue
    log = home / "worker.log"
    with Worker("taskhub.app", queue, settings_env(hub.settings), log) as w:
        bench = Bench(hub, w)
        bench.run_batch(WARMUP, one_by_one=False)
        for run in range(args.repeat):
            for series, one in ((many, False), (single, True)):
                rate, starts = bench.run_batch(args.n, one_by_one=one)
                series.rates.append(rate)
                series.to_start += starts
                series.loads.append(loadavg())
                p50, p99 = p50_p99_ms(starts)
                print(
                    f"  run {run + 1} {series.label}: {rate:.0f} tasks/s, created->started "
                    f"p50/p99 {p50:.1f} / {p99:.1f} ms (load {series.loads[-1]})",
                    flush=True,
                )
            starts = bench.run_paced(args.idle_n, args.gap_ms / 1000)
            idle.to_start += starts
            idle.rates.append(statistics.median(starts) * 1000)  # the run's p50, ms
            idle.loads.append(loadavg())
            p50, p99 = p50_p99_ms(starts)
            print(
                f"  run {run + 1} {idle.label}: created->started p50/p99 {p50:.1f} / {p99:.1f} "
                f"ms (load {idle.loads[-1]})",
                flush=True,
            )
    return [many, single, idle]


def table(series: list[Series]) -> str:
    many, single, idle = series

    def cells(s: Series, median: str, digits: int) -> tuple[str, ...]:
        runs = ", ".join(f"{r:.{digits}f}" for r in s.rates)
        starts = "{:.1f} / {:.1f}".format(*p50_p99_ms(s.to_start))
        return (s.label, median, runs, starts, "; ".join(s.loads))

    rows = [("what", "median", "runs", "created->started p50 / p99 ms", "load avg (1/5/15)")]
    rows += [cells(s, f"{s.median:.0f} tasks/s", 0) for s in (many, single)]
    rows.append(cells(idle, f"p50 {idle.median:.1f} ms", 1))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="tasks per end-to-end run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--idle-n", type=int, default=50, help="paced single tasks per run")
    parser.add_argument("--gap-ms", type=float, default=50.0, help="mean gap between them")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    source = Path(taskhub.__file__).parent
    print(f"n={args.n} repeat={args.repeat}, taskhub from {source}, home {home}", flush=True)
    settings = Settings(home=home, imports=["bench.bench_tasks"], worker_concurrency=2)
    assert settings.is_embedded_broker and settings.resolved_database_url.startswith("sqlite")
    hub = TaskHub(settings)
    try:
        hub.migrate()
        assert hub.workspace_id
        print(f"load average before: {loadavg()}", flush=True)
        series = measure(args, hub, home)
    finally:
        hub.close()
    print(table(series))
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()
