"""The raw-Celery baseline of bench/throughput.py: a minimal app with a no-op task.

Worker: ``celery -A bench.raw_app worker``; ``BENCH_RAW_RELIABLE=1`` applies the reliability
settings taskhub uses; ``BENCH_RAW_TRANSPORT`` swaps in another kombu transport class. No
result backend: the task RPUSHes "enqueued started finished" (epoch seconds) to one Redis list,
one round trip, and the driver polls its length. ``BENCH_RAW_BROKER_URL`` moves it off Redis
db 13 (``use_broker``).
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

BROKER_URL = os.environ.get("BENCH_RAW_BROKER_URL", "redis://127.0.0.1:6379/13")
QUEUE = "raw"
TASK = "raw.noop"
DONE_KEY = "bench:raw:done"
RELIABLE = {
    "task_acks_late": True,
    "worker_prefetch_multiplier": 1,
    "task_reject_on_worker_lost": True,
}

_client: redis.Redis | None = None  # one per pool process, made after the fork


def noop(enqueued: float) -> None:
    started = time.time()
    global _client
    if _client is None:
        _client = redis.Redis.from_url(BROKER_URL)
    _client.rpush(DONE_KEY, f"{enqueued} {started} {time.time()}")


def use_broker(url: str) -> None:
    """Run on ``url`` (this process, and the workers started from its environment after)."""
    global BROKER_URL
    BROKER_URL = os.environ["BENCH_RAW_BROKER_URL"] = url


def make_app(reliable: bool, transport: str | None = None) -> Celery:
    """``transport``: a kombu transport class path instead of the URL's own (e.g. taskhub's)."""
    app = Celery("raw", broker=BROKER_URL, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_ignore_result=True,
        broker_transport=transport,
        **(RELIABLE if reliable else {}),
    )
    app.task(name=TASK)(noop)
    return app


app = make_app(
    os.environ.get("BENCH_RAW_RELIABLE") == "1", os.environ.get("BENCH_RAW_TRANSPORT") or None
)
