#!/usr/bin/env python
"""Beat with many schedules: the tick's cost (idle and with all due) and how late firings are.

One run, real Postgres and Redis, a Growth workspace with ``--schedules`` enabled schedules,
every one ``* * * * *`` (the worst case: all of them due at every minute boundary), task
``bench.noop``, default policies (missed ``run_once``, overlap ``allow``). No worker: nothing
runs, the figures are beat's alone (each firing is a task record plus a Redis message).

1. Tick in this process: ``hub.schedules.tick(now)`` with nothing due (what beat pays every
   ``schedule_tick_s``), then with ``--due`` of them due at one minute boundary (default 2000:
   all 10,000 take over a minute per repeat), ticked back to back (no sleep) until nothing is
   due: the time until every firing's record exists, and firings/s. Medians of ``--repeat``.
   One tick with due schedules is profiled (cProfile) and its top costs printed.
2. A real ``celery -A taskhub.app beat -S taskhub.worker.beat:DatabaseScheduler`` process:
   its CPU while nothing is due, then two minute boundaries with every schedule due at each:
   lateness = the record's ``created_at`` - its ``scheduled_for``, p50/p99/max per boundary,
   and how many of the fire times got a record (``run_once`` skips a fire time not reached
   before the next one is due).

    python bench/schedules.py --schedules 10000 --repeat 3 [--due 2000] [--no-beat]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from sqlalchemy import text

import taskhub
from bench.common import ROOT, drop_database, fresh_database, wait_for
from taskhub import Settings, TaskHub
from taskhub.domain.clock import now as utcnow
from taskhub.domain.records import Workspace
from taskhub.domain.schedule_records import ScheduleSpec
from tests.support import settings_env

DB = "taskhub_sched_bench"
PG_URL = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DB}"
BROKER = "redis://127.0.0.1:6379/14"
SCHEDULER = "taskhub.worker.beat:DatabaseScheduler"
IDLE_TICKS = 20  # idle ticks timed per repeat
IDLE_CPU_S = 10.0  # beat's CPU is measured over this long with nothing due
TICKS = 1000  # per tick loop: more than enough ticks of 100 to fire 10k


def minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def make_schedules(hub: TaskHub, ws: Workspace, n: int) -> float:
    """``n`` every-minute schedules through the service; returns how long that took."""
    t0 = time.perf_counter()
    for i in range(n):
        spec = ScheduleSpec(name=f"bench-{i:06d}", task="bench.noop", cron="* * * * *")
        hub.schedules.create(ws, spec)
    return time.perf_counter() - t0


def due_all_at(hub: TaskHub, at: datetime, due: int | None = None) -> None:
    """The tasks table emptied; ``due`` schedules (default: all) next fire at ``at``, the
    others an hour later."""
    with hub.store.engine.begin() as c:
        c.execute(text("TRUNCATE tasks CASCADE"))
        c.execute(text("UPDATE schedules SET next_run_at = :at"), {"at": at})
        if due is not None:
            later = "UPDATE schedules SET next_run_at = :later WHERE id NOT IN "
            later += "(SELECT id FROM schedules ORDER BY name LIMIT :due)"
            c.execute(text(later), {"later": at + timedelta(hours=1), "due": due})
    with hub.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE schedules"))


def sql(hub: TaskHub, query: str, **params: object) -> list[tuple[object, ...]]:
    with hub.store.engine.connect() as c:
        return [tuple(row) for row in c.execute(text(query), params)]


def count_due(hub: TaskHub, at: datetime) -> int:
    rows = sql(hub, "SELECT count(*) FROM schedules WHERE enabled AND next_run_at <= :at", at=at)
    return int(rows[0][0])  # type: ignore[call-overload]


def records_for(hub: TaskHub, fire: datetime) -> int:
    rows = sql(hub, "SELECT count(*) FROM tasks WHERE scheduled_for = :f", f=fire)
    return int(rows[0][0])  # type: ignore[call-overload]


def bench_idle(hub: TaskHub, repeat: int) -> tuple[float, list[float]]:
    """Median ms of a tick with nothing due (every schedule's next fire time is ahead)."""
    due_all_at(hub, minute(utcnow()) + timedelta(hours=1))
    medians = []
    for _ in range(repeat):
        times = []
        for _ in range(IDLE_TICKS):
            t0 = time.perf_counter()
            report = hub.schedules.tick()
            times.append(time.perf_counter() - t0)
            assert report.fired == 0, report
        medians.append(statistics.median(times) * 1000)
        print(f"  idle tick run {len(medians)}: median {medians[-1]:.2f} ms", flush=True)
    return statistics.median(medians), medians


def fire_all(hub: TaskHub, n: int) -> tuple[float, list[float]]:
    """``n`` due at the last minute boundary, ticked back to back until none is due:
    seconds until every record exists, and each tick's seconds."""
    fire = minute(utcnow())
    due_all_at(hub, fire, n)
    ticks: list[float] = []
    t0 = time.perf_counter()
    for _ in range(TICKS):
        start = time.perf_counter()
        report = hub.schedules.tick(fire + timedelta(seconds=1))  # minutes later, still this
        ticks.append(time.perf_counter() - start)
        assert not report.errors, report.errors[:3]
        if report.fired == 0:
            break
    total = time.perf_counter() - t0
    made = records_for(hub, fire)
    assert made == n, f"{made} records for {n} schedules due"
    return total, ticks[:-1]  # the last tick found nothing due


def bench_due(hub: TaskHub, n: int, repeat: int) -> tuple[float, float, float, list[float]]:
    totals, per_tick = [], []
    for _ in range(repeat):
        total, ticks = fire_all(hub, n)
        totals.append(total)
        per_tick.append(statistics.median(ticks))
        print(
            f"  all due run {len(totals)}: {n} firings in {total:.2f} s ({n / total:.0f}/s), "
            f"{len(ticks)} ticks, median tick {per_tick[-1] * 1000:.0f} ms",
            flush=True,
        )
    total = statistics.median(totals)
    return total, n / total, statistics.median(per_tick) * 1000, totals


PROFILED = 200  # schedules due in the profiled tick


def profile_tick(hub: TaskHub) -> tuple[str, float]:
    """One tick of 200 schedules due at a boundary, under cProfile: the top costs."""
    fire = minute(utcnow())
    due_all_at(hub, fire, PROFILED)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    report = hub.schedules.tick(fire + timedelta(seconds=1))
    profiler.disable()
    took = time.perf_counter() - t0
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    return f"profiled tick fired {report.fired} in {took * 1000:.0f} ms\n{out.getvalue()}", took


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_beat(settings: Settings, home: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = home / "beat.log"
    command = [sys.executable, "-m", "celery", "-A", "taskhub.app", "beat", "-S", SCHEDULER]
    command += ["--schedule", str(home / "beat-schedule"), "-l", "info"]
    env = settings_env(settings)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    wait_for(lambda: b"beat: Starting" in log.read_bytes(), timeout_s=30, what="beat", proc=proc)
    return proc, log


def stop_beat(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def sleep_until(at: datetime) -> None:
    time.sleep(max(0.0, (at - utcnow()).total_seconds()))


def lateness(hub: TaskHub, fire: datetime) -> list[float]:
    query = "SELECT created_at, scheduled_for FROM tasks WHERE scheduled_for = :f"
    return [(c - s).total_seconds() for c, s in sql(hub, query, f=fire)]  # type: ignore[operator]


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def bench_beat(
    hub: TaskHub, n: int, home: Path
) -> tuple[float, list[tuple[datetime, int, list[float]]], int]:
    """Beat's CPU with nothing due, then two boundaries with all ``n`` due at each."""
    at = utcnow()
    first = minute(at) + timedelta(minutes=1)
    if (first - at).total_seconds() < IDLE_CPU_S + 15:  # room for start-up and the idle window
        first += timedelta(minutes=1)
    due_all_at(hub, first)
    redis.Redis.from_url(BROKER).flushdb()
    proc, log = start_beat(hub.settings, home)
    try:
        time.sleep(3)  # start-up done (beat_schedule.py synced, first ticks)
        c0, t0 = cpu_s(proc.pid), time.monotonic()
        time.sleep(IDLE_CPU_S)
        idle_cpu = (cpu_s(proc.pid) - c0) / (time.monotonic() - t0) * 100
        print(f"  beat idle CPU with {n} schedules none due: {idle_cpu:.1f}% of a core", flush=True)
        boundaries = [first, first + timedelta(minutes=1)]
        print(f"  waiting for {boundaries[0]:%H:%M} and {boundaries[1]:%H:%M} (UTC)", flush=True)
        sleep_until(boundaries[1] + timedelta(seconds=59))  # stopped before the third one
        left = count_due(hub, boundaries[1])
    finally:
        stop_beat(proc)
    if b"Traceback" in log.read_bytes():
        print(f"  beat logged tracebacks: see {log}", flush=True)
    results = [(b, records_for(hub, b), lateness(hub, b)) for b in boundaries]
    return idle_cpu, results, left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--due", type=int, default=2000, help="schedules due in the in-process tick runs"
    )
    parser.add_argument("--no-beat", action="store_true", help="skip the real beat process part")
    args = parser.parse_args()
    n, due = args.schedules, min(args.due, args.schedules)
    home = Path(tempfile.mkdtemp(prefix="bench-schedules-"))
    print(f"schedules={n} repeat={args.repeat}, taskhub from {Path(taskhub.__file__).parent}")
    print(f"load average at start: {os.getloadavg()}, {os.cpu_count()} CPUs, logs in {home}")

    fresh_database(DB)
    settings = Settings(
        home=home, database_url=PG_URL, broker_url=BROKER, imports=["bench.bench_tasks"]
    )
    hub = TaskHub(settings)
    broker = redis.Redis.from_url(BROKER)
    try:
        hub.migrate()
        broker.flushdb()
        ws = hub.accounts.create_workspace("sched-bench", "growth")
        made_s = make_schedules(hub, ws, n)
        print(f"  {n} schedules created through the service in {made_s:.1f} s", flush=True)

        idle_ms, idle_runs = bench_idle(hub, args.repeat)
        total_s, rate, tick_ms, totals = bench_due(hub, due, args.repeat)
        broker.flushdb()
        profile, _ = profile_tick(hub)
        broker.flushdb()
        beat = None if args.no_beat else bench_beat(hub, n, home)
    finally:
        broker.flushdb()
        hub.close()
        drop_database(DB)

    print("\n" + profile)
    print("=" * 78)
    print(f"schedules: {n} enabled, all '* * * * *', bench.noop, run_once / allow, no worker")
    print(f"load average at end: {os.getloadavg()}")
    print(f"tick, nothing due: {idle_ms:.2f} ms (runs: {', '.join(f'{v:.2f}' for v in idle_runs)})")
    print(
        f"tick, {due} of {n} due, ticked back to back: {total_s:.2f} s until every record exists "
        f"(runs: {', '.join(f'{v:.2f}' for v in totals)}), {rate:.0f} firings/s, "
        f"median tick {tick_ms:.0f} ms (a tick fires batch after batch, up to its budget)"
    )
    if beat is not None:
        idle_cpu, results, left = beat
        print(f"beat idle CPU, {n} schedules none due: {idle_cpu:.1f}% of one core")
        for fire, made, late in results:
            if late:
                print(
                    f"beat, fire time {fire:%H:%M}: {made}/{n} fired; lateness p50 "
                    f"{pct(late, 50):.2f} s, p99 {pct(late, 99):.2f} s, max {max(late):.2f} s"
                )
            else:
                print(f"beat, fire time {fire:%H:%M}: 0/{n} fired")
        print(f"beat, still due 59 s after the second boundary: {left}")


if __name__ == "__main__":
    main()
