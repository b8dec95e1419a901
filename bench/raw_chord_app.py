"""The raw-Celery side of bench/pipelines.py: a no-op task and the Redis result backend.

A chord needs a result backend in raw Celery (the header's results are counted there to know
when to run the body), so this app has one: Redis, the same server and database as the broker.
Worker: ``celery -A bench.raw_chord_app worker``; ``BENCH_RAW_RELIABLE=1`` applies the
reliability settings taskhub uses (acks_late, prefetch 1, reject_on_worker_lost).
"""

from __future__ import annotations

import os

from celery import Celery

URL = "redis://127.0.0.1:6379/11"
QUEUE = "raw-pipe"
TASK = "raw.noop"
RELIABLE = {
    "task_acks_late": True,
    "worker_prefetch_multiplier": 1,
    "task_reject_on_worker_lost": True,
}


def noop(*args: object) -> None:
    """A header part (no arguments) or the body (the header's results as its one argument)."""
    return None


def make_app(reliable: bool) -> Celery:
    app = Celery("raw-pipe", broker=URL, backend=URL, set_as_current=False)
    app.conf.update(task_default_queue=QUEUE, **(RELIABLE if reliable else {}))
    app.task(name=TASK)(noop)
    return app


app = make_app(os.environ.get("BENCH_RAW_RELIABLE") == "1")
