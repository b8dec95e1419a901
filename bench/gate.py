#!/usr/bin/env python
"""CI's benchmark gate: end-to-end throughput must stay above 70% of the recorded figure.

The figure is a ratio, taskhub's end-to-end rate over raw Celery's (defaults) in the same run
(bench/throughput.py's two measurements, no-op tasks, a real prefork worker with 2 processes
each, taken in pairs one right after the other; the median of the pairs), so the machine's
speed and load cancel out. The recorded ratio is in bench/baseline.json; the gate fails (exit
1) when the measured one is below 0.7 x it twice in a row (a second measurement confirms a
first failure), and prints both either way. A missing or malformed baseline is exit 2.

    python bench/gate.py                         # the gate (CI runs this)
    python bench/gate.py --record --runs 3       # measure 3 times, record the median
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BASELINE = Path(__file__).resolve().parent / "baseline.json"
FLOOR = 0.7  # the share of the recorded ratio below which the gate fails
N, REPEAT = 1000, 3  # the gate's configuration: tasks per timed run, runs per side


class GateError(Exception):
    """The gate cannot decide (no baseline, or one it cannot read)."""


@dataclass(frozen=True)
class Baseline:
    ratio: float  # taskhub's end-to-end rate / raw Celery defaults', recorded
    measured: str  # when and where (machine load)
    how: str  # the command that measured it


@dataclass(frozen=True)
class Verdict:
    measured: float
    recorded: float
    floor: float

    @property
    def threshold(self) -> float:
        return self.floor * self.recorded

    @property
    def passed(self) -> bool:
        return self.measured >= self.threshold

    def message(self) -> str:
        figures = (
            f"end-to-end ratio to raw Celery {self.measured:.2f}, recorded {self.recorded:.2f}, "
            f"threshold {self.threshold:.2f} ({self.floor:.0%} of recorded)"
        )
        if self.passed:
            return f"benchmark gate passed: {figures}"
        return (
            f"benchmark gate FAILED: {figures} — taskhub's end-to-end throughput fell below "
            f"{self.floor:.0%} of the figure recorded in the repo"
        )


def load_baseline(path: Path) -> Baseline:
    """The recorded figure; :class:`GateError` saying what is wrong if there is none."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GateError(
            f"no recorded baseline at {path}: record one with `python bench/gate.py --record`"
        ) from None
    except (OSError, ValueError) as exc:
        raise GateError(f"cannot read the baseline {path}: {exc}") from None
    ratio = data.get("end_to_end_ratio") if isinstance(data, dict) else None
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not ratio > 0:
        raise GateError(f"{path}: end_to_end_ratio must be a number above 0, got {ratio!r}")
    return Baseline(float(ratio), str(data.get("measured", "")), str(data.get("how", "")))


def decide(measured: float, baseline: Baseline, floor: float = FLOOR) -> Verdict:
    return Verdict(measured, baseline.ratio, floor)


# -- measuring ----------------------------------------------------------------------------


def measure(database: str, redis_url: str, n: int, repeat: int) -> float:
    """One gate run: ``repeat`` pairs of timed runs of ``n`` no-op tasks, raw Celery (defaults)
    then taskhub (Postgres + Redis) right after it; the median of the pairs' ratios (taskhub's
    rate over raw Celery's), so a change of load between pairs cancels too."""
    import redis

    from bench import raw_app, throughput
    from bench.common import bench_settings, drop_database
    from taskhub import TaskHub

    home = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    raw_app.use_broker(redis_url)
    settings = bench_settings(home, database, redis_url)
    hub = TaskHub(settings)
    broker = redis.Redis.from_url(redis_url)
    ratios = []
    try:
        hub.migrate()
        assert hub.workspace_id
        for _ in range(repeat):
            raw = throughput.bench_raw(False, n, 1, home)
            broker.flushdb()  # before anything is declared or published on it
            th = throughput.bench_taskhub(hub, n, 1, home)
            ratios.append(th.median / raw.median)
    finally:
        hub.close()
        broker.flushdb()
        drop_database(database)
    print(f"pair ratios: {', '.join(f'{r:.3f}' for r in ratios)}")
    return statistics.median(ratios)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def record(path: Path, ratios: list[float], args: argparse.Namespace) -> None:
    baseline = {
        "end_to_end_ratio": round(statistics.median(ratios), 3),
        "measured": (
            f"{time.strftime('%Y-%m-%d')}, median of {len(ratios)} gate runs "
            f"({', '.join(f'{r:.3f}' for r in ratios)}) on the 2-core dev machine, "
            f"loadavg {loadavg()} (shared)"
        ),
        "how": f"python bench/gate.py --record --runs {len(ratios)} --n {args.n} "
        f"--repeat {args.repeat}",
    }
    path.write_text(json.dumps(baseline, indent=2) + "\n")
    print(f"recorded {baseline['end_to_end_ratio']} in {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--n", type=int, default=N, help="tasks per timed run")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timed runs per side")
    parser.add_argument("--database", default="bench_gate", help="Postgres database (dropped)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="flushed")
    parser.add_argument("--record", action="store_true", help="record the median ratio")
    parser.add_argument("--runs", type=int, default=3, help="gate runs when recording")
    args = parser.parse_args()
    if args.record:
        ratios = []
        for i in range(args.runs):
            ratios.append(measure(args.database, args.redis_url, args.n, args.repeat))
            print(f"gate run {i + 1}: ratio {ratios[-1]:.3f} (loadavg {loadavg()})", flush=True)
        record(args.baseline, ratios, args)
        return
    try:
        baseline = load_baseline(args.baseline)  # before measuring: fail fast
    except GateError as exc:
        print(f"benchmark gate: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"loadavg {loadavg()}; recorded: {baseline.measured}", flush=True)
    verdict = decide(measure(args.database, args.redis_url, args.n, args.repeat), baseline)
    print(verdict.message(), flush=True)
    if not verdict.passed:  # a burst of load on a shared machine fails once; a regression twice
        print("measuring once more to confirm", flush=True)
        verdict = decide(measure(args.database, args.redis_url, args.n, args.repeat), baseline)
        print(verdict.message(), flush=True)
    sys.exit(0 if verdict.passed else 1)


if __name__ == "__main__":
    main()
