#!/usr/bin/env python
"""Soak: many tasks of mixed outcomes through a real worker; every record final and consistent
at the end, the worker's memory flat, throughput and latency reported.

A real ``celery -A taskhub.app worker --pool prefork -c 2`` on Postgres (its own database,
``bench_s_soak``) and Redis (db 11). The tasks (bench/soak_checks.py's ``KINDS``, 88% success,
7% fail once or twice then succeed, 4% always fail, 1% overrun a 0.2 s soft time limit) are
submitted with ``submit_many`` in batches while the worker runs, at most ``--backlog`` unfinished
at a time, so latency is the queue's at that depth. The worker's RSS (main process and pool
children, from /proc) is sampled every second after a warm-up. At the end every record is
checked against what its kind must end as (status, attempts, attempt rows, errors, one
notification of its outcome, its result output); exit 1 if any is not.

    python bench/soak.py --n 100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from sqlalchemy import text

import taskhub
from bench.common import Worker, bench_settings, drop_database, fmt_ms, wait_for
from bench.soak_checks import KINDS, RssSampler, kind_of, problems, shapes, untidy
from taskhub import TaskHub
from tests.support import settings_env

DATABASE = "bench_s_soak"
BROKER = "redis://127.0.0.1:6379/11"
WARMUP = 1000  # tasks of the mix run (and then deleted) before the soak and its first sample
STALL_S = 120.0  # no task finishing for this long fails the soak
NOT_FINAL = "SELECT count(*) FROM tasks WHERE status NOT IN ('completed', 'failed', 'cancelled')"


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def count(hub: TaskHub, sql: str) -> int:
    with hub.store.engine.connect() as c:
        return int(c.execute(text(sql)).scalar_one())


def submit(hub: TaskHub, first: int, size: int) -> None:
    """Tasks ``first`` .. ``first + size - 1`` of the mix, one ``submit_many`` per kind."""
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in range(first, first + size):
        kind, payload = kind_of(i)
        by_task[kind.task].append(payload)
    for task, inputs in by_task.items():
        hub.submit_many(task, inputs)


class Progress:
    """Fails a soak that stops moving; prints a line every ``every_s``."""

    def __init__(self, n: int, sampler: RssSampler, every_s: float = 15.0) -> None:
        self.n, self.sampler, self.every_s = n, sampler, every_s
        self.t0 = self.last_print = self.last_move = time.monotonic()
        self.last_open = -1
        self.submitted = 0

    def check(self, open_now: int) -> None:
        at = time.monotonic()
        if open_now != self.last_open:
            self.last_open, self.last_move = open_now, at
        elif at - self.last_move > STALL_S:
            raise RuntimeError(f"stalled: {open_now} tasks unfinished for {STALL_S:g} s")
        if at - self.last_print >= self.every_s:
            self.last_print = at
            done = self.submitted - open_now
            rss = self.sampler.samples[-1].total_kb / 1024 if self.sampler.samples else 0.0
            print(
                f"  {at - self.t0:5.0f} s: {done}/{self.n} final, {open_now} open, "
                f"{done / (at - self.t0):.0f}/s, worker RSS {rss:.1f} MB",
                flush=True,
            )


def soak(hub: TaskHub, n: int, batch: int, backlog: int, sampler: RssSampler, w: Worker) -> float:
    """Submit ``n`` tasks in batches, keeping at most ``backlog`` open; wait until all are
    final. Returns the seconds submitting took (wall clock)."""
    progress = Progress(n, sampler)
    submitting = 0.0
    while progress.submitted < n:
        open_now = count(hub, NOT_FINAL)
        progress.check(open_now)
        if w.proc.poll() is not None:
            raise RuntimeError(f"worker exited (rc={w.proc.returncode}); log: {w.log}")
        if open_now + batch > backlog:
            time.sleep(0.05)
            continue
        size = min(batch, n - progress.submitted)
        t = time.monotonic()
        submit(hub, progress.submitted, size)
        submitting += time.monotonic() - t
        progress.submitted += size

    def finished() -> bool:
        open_now = count(hub, NOT_FINAL)
        progress.check(open_now)
        return open_now == 0

    wait_for(finished, timeout_s=3600, poll_s=0.2, what=f"{n} tasks final", proc=w.proc)
    return submitting


def warm_up(hub: TaskHub, w: Worker) -> None:
    submit(hub, 0, WARMUP)
    wait_for(
        lambda: count(hub, NOT_FINAL) == 0, timeout_s=300, what="warm-up tasks final", proc=w.proc
    )
    with hub.store.engine.begin() as c:
        c.execute(text("TRUNCATE tasks CASCADE"))  # and attempts, outputs, notifications


# -- the report ---------------------------------------------------------------------------


def verify(hub: TaskHub, n: int) -> bool:
    with hub.store.engine.connect() as c:
        found = shapes(c)
        loose = untidy(c)
        total = int(c.execute(text("SELECT count(*) FROM tasks")).scalar_one())
    ok = total == n and loose == 0
    print(f"\nrecords: {total} (want {n}); bookkeeping out of place: {loose}")
    print("end states (tasks: task, fail_times, status, attempt, attempt rows, errors, notes):")
    for shape, tasks in found:
        wrong = problems(shape)
        ok = ok and not wrong
        errors = shape.attempt_errors or "-"
        print(
            f"  {tasks:6d}: {shape.task} {shape.fail_times or ''} {shape.status} "
            f"attempt {shape.attempt}, {shape.attempt_rows} attempt rows ({errors}), "
            f"{shape.notes} notification ({shape.note_outcomes}), error {shape.error_type} "
            f"{shape.error_message or ''}" + (f"  <-- WRONG: {'; '.join(wrong)}" if wrong else "")
        )
    return ok


def throughput(hub: TaskHub, n: int, submitting_s: float) -> None:
    query = """SELECT t.task_name, extract(epoch FROM t.created_at),
      extract(epoch FROM coalesce(a.started_at, t.started_at)), extract(epoch FROM t.finished_at),
      t.attempt
    FROM tasks t LEFT JOIN task_attempts a ON a.task_id = t.id AND a.run = 1 AND a.attempt = 1"""
    with hub.store.engine.connect() as c:
        found = c.execute(text(query))
        rows = [(name, float(e), float(s), float(f), a) for name, e, s, f, a in found]
    first, last = min(r[1] for r in rows), max(r[3] for r in rows)
    executions = sum(r[4] for r in rows)
    print(
        f"\nthroughput: {n / (last - first):.0f} tasks/s, {executions / (last - first):.0f} "
        f"executions/s ({executions} executions of {n} tasks in {last - first:.1f} s, first "
        f"enqueue to last finish); submitting took {submitting_s:.1f} s of it"
    )
    starts = [s - e for _, e, s, _, _ in rows]
    print(f"enqueue->first start p50/p99 ms, all tasks: {fmt_ms(starts)}")
    for kind in KINDS:
        mine = [r for r in rows if r[0] == kind.task]
        if len(mine) < 2:
            continue
        print(
            f"enqueue->finish p50/p99 ms, {kind.label} ({len(mine)}): "
            f"{fmt_ms([f - e for _, e, _, f, _ in mine])}"
        )


def memory(sampler: RssSampler) -> None:
    samples = sampler.samples
    start, end = samples[0], samples[-1]
    middle = min(samples, key=lambda s: abs(s.at - (start.at + end.at) / 2))

    def mb(kb: float) -> str:
        return f"{kb / 1024:.1f} MB"

    def line(label: str, pick: Any) -> str:
        values = [pick(s) for s in (start, middle, end)]
        growth = values[2] - values[0]
        peak = max(pick(s) for s in samples)
        return (
            f"  {label}: start {mb(values[0])}, middle {mb(values[1])}, end {mb(values[2])}; "
            f"growth {growth / 1024:+.1f} MB ({100 * growth / values[0]:+.1f}%), "
            f"second half {(values[2] - values[1]) / 1024:+.1f} MB, peak {mb(peak)}"
        )

    def child(pid: int) -> Any:
        return lambda s: s.children_kb.get(pid, 0)

    print(f"\nworker RSS ({len(samples)} samples over {end.at - start.at:.0f} s):")
    print(line("main process", lambda s: s.main_kb))
    pids = list(sampler.pool_pids())
    for pid in pids:
        print(line(f"pool child {pid}", child(pid)))
    print(line("total", lambda s: s.total_kb))
    if len(pids) != len(end.children_kb):
        print(f"  pool children seen: {pids} (some were replaced during the run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="tasks in the soak")
    parser.add_argument("--batch", type=int, default=500, help="tasks per submit round")
    parser.add_argument("--backlog", type=int, default=2000, help="most tasks open at once")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    print(
        f"n={args.n} batch={args.batch} backlog={args.backlog}, taskhub from "
        f"{Path(taskhub.__file__).parent}, worker log in {home}; loadavg {loadavg()}",
        flush=True,
    )
    settings = bench_settings(home, DATABASE, BROKER)
    hub = TaskHub(settings)
    broker = redis.Redis.from_url(BROKER)
    ok = False
    try:
        hub.migrate()
        broker.flushdb()
        assert hub.workspace_id
        with Worker(
            "taskhub.app", settings.default_queue, settings_env(settings), home / "worker.log"
        ) as w:
            warm_up(hub, w)
            sampler = RssSampler(w.proc.pid)
            sampler.sample()
            with sampler:
                submitting = soak(hub, args.n, args.batch, args.backlog, sampler, w)
            sampler.sample()
        print(f"loadavg at the end: {loadavg()}")
        ok = verify(hub, args.n)
        throughput(hub, args.n, submitting)
        memory(sampler)
    finally:
        hub.close()
        broker.flushdb()
        if not args.keep:
            drop_database(DATABASE)
    print("\nsoak: every record final and consistent" if ok else "\nsoak: INCONSISTENT records")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
