"""What bench/soak.py expects of every record at the end, the query that checks it, and the
worker's memory read from /proc.

The soak's kinds: a success (``bench.noop``), a flaky body that fails its first ``fail_times``
attempts then succeeds, one that always fails, and one that always overruns its soft time
limit (bench/bench_tasks.py holds them and their retry budgets).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from bench import bench_tasks as bt


@dataclass(frozen=True)
class Kind:
    label: str
    task: str
    per_mille: int  # its share of the tasks


KINDS = (
    Kind("success", "bench.noop", 880),
    Kind("retry then succeed", "bench.soak_flaky", 70),
    Kind("always fails", "bench.soak_fail", 40),
    Kind("times out", "bench.soak_timeout", 10),
)
assert sum(k.per_mille for k in KINDS) == 1000


def kind_of(i: int) -> tuple[Kind, dict[str, Any]]:
    """Task number ``i``'s kind and input: the mix repeats every 1,000 tasks; a flaky task
    fails once or twice, alternately."""
    bucket = i % 1000
    for kind in KINDS:
        if bucket < kind.per_mille:
            return kind, ({"fail_times": 1 + i % 2} if kind.task == "bench.soak_flaky" else {})
        bucket -= kind.per_mille
    raise AssertionError("unreachable: the shares add up to 1,000")


@dataclass(frozen=True)
class Shape:
    """A record at the end, as the check query groups them (one row per distinct shape)."""

    task: str
    fail_times: int | None
    status: str
    run: int
    attempt: int
    error_type: str | None
    error_message: str | None
    attempt_rows: int  # rows in task_attempts (one per failed execution)
    last_attempt_row: int  # their highest attempt number (= attempt_rows: numbered 1..n)
    attempt_errors: str | None  # their distinct error types, comma-separated
    notes: int  # notifications
    note_outcomes: str | None
    result: Any  # the "result" output, decoded


def expected(task: str, fail_times: int | None) -> dict[str, Any]:
    """The fields a final record of ``task`` must have (beyond ``run`` 1 and one notification
    of its outcome). ``error_message`` is checked for the timeout only (the others name their
    attempt)."""
    if task == "bench.noop":
        return {"status": "completed", "attempt": 1, "attempt_rows": 0, "result": None}
    if task == "bench.soak_flaky":
        assert fail_times is not None
        return {
            "status": "completed",
            "attempt": fail_times + 1,
            "attempt_rows": fail_times,
            "attempt_errors": "SoakFlaky",
            "result": {"attempts": fail_times + 1},
        }
    if task == "bench.soak_fail":
        runs = bt.SOAK_FAIL_RETRIES + 1
        return {"status": "failed", "attempt": runs, "attempt_rows": runs}
    if task == "bench.soak_timeout":
        runs = bt.SOAK_TIMEOUT_RETRIES + 1
        return {
            "status": "failed",
            "attempt": runs,
            "attempt_rows": runs,
            "attempt_errors": "TimedOut",
            "error_type": "TimedOut",
            "error_message": f"timed out after {bt.SOAK_TIMEOUT_S:g} s",
        }
    raise AssertionError(f"not a soak task: {task}")


def problems(shape: Shape) -> list[str]:
    """How ``shape`` differs from what its task must end as (empty: consistent)."""
    want = expected(shape.task, shape.fail_times)
    outcome = want["status"]
    want |= {"run": 1, "notes": 1, "note_outcomes": outcome}
    want["last_attempt_row"] = want["attempt_rows"]  # attempts numbered 1..n, none missing
    if outcome == "failed":
        error = {"bench.soak_fail": "SoakFailure"}.get(shape.task, "TimedOut")
        want.setdefault("error_type", error)
        want.setdefault("attempt_errors", error)
    else:
        want |= {"error_type": None, "error_message": None}
    got = vars(shape)
    return [f"{k}={got[k]!r} (want {v!r})" for k, v in want.items() if got[k] != v]


SHAPES = text("""
WITH a AS (
  SELECT task_id, count(*) AS n, max(attempt) AS last,
         string_agg(DISTINCT error_type, ',') AS types
  FROM task_attempts GROUP BY task_id
), nt AS (
  SELECT task_id, count(*) AS n, string_agg(outcome, ',') AS outcomes
  FROM notifications GROUP BY task_id
), o AS (SELECT task_id, content FROM task_outputs WHERE name = 'result')
SELECT t.task_name, (t.input::jsonb ->> 'fail_times')::int AS fail_times, t.status, t.run,
       t.attempt, t.error_type, t.error_message, coalesce(a.n, 0) AS attempt_rows,
       coalesce(a.last, 0) AS last_attempt_row, a.types, coalesce(nt.n, 0) AS notes,
       nt.outcomes, o.content, count(*) AS tasks
FROM tasks t
LEFT JOIN a ON a.task_id = t.id
LEFT JOIN nt ON nt.task_id = t.id
LEFT JOIN o ON o.task_id = t.id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
ORDER BY count(*) DESC
""")

# A final record's bookkeeping: finished, started after its creation, no live execution left.
UNTIDY = text("""
SELECT count(*) FROM tasks
WHERE finished_at IS NULL OR started_at IS NULL OR dispatched_at IS NULL
   OR started_at < created_at OR finished_at < started_at
   OR worker_pid IS NOT NULL OR next_attempt_at IS NOT NULL
""")


def shapes(c: Connection) -> list[tuple[Shape, int]]:
    out = []
    for row in c.execute(SHAPES):
        *fields, content, tasks = row
        result = None if content is None else json.loads(content)
        out.append((Shape(*fields, result=result), int(tasks)))
    return out


def untidy(c: Connection) -> int:
    return int(c.execute(UNTIDY).scalar_one())


# -- memory ------------------------------------------------------------------------------


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the prefork pool's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic seconds
    main_kb: int
    children_kb: Mapping[int, int]  # pid -> RSS

    @property
    def total_kb(self) -> int:
        return self.main_kb + sum(self.children_kb.values())


@dataclass
class RssSampler:
    """Samples the worker's main process and pool children every ``every_s`` on a thread."""

    pid: int
    every_s: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> Sample | None:
        main = rss_kb(self.pid)
        if main is None:
            return None
        kids = {kid: kb for kid in children(self.pid) if (kb := rss_kb(kid)) is not None}
        taken = Sample(time.monotonic(), main, kids)
        self.samples.append(taken)
        return taken

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sample()

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def pool_pids(self) -> Iterator[int]:
        yield from sorted({pid for s in self.samples for pid in s.children_kb})
