"""``GET /metrics``: Prometheus's text format, from :class:`taskhub.services.metrics.Metrics`.

Each app has a registry of its own (no process-global one): a collector reads the figures at
scrape time. Behind a load balancer, every API process reports the same database-wide figures
(gauges: take ``max``, not ``sum``), and counts the finished tasks since its own start.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from taskhub.domain.observations import Histogram
from taskhub.services.metrics import Metrics


class TaskhubCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._counts()
        yield from self._queues()
        lag = GaugeMetricFamily(
            "taskhub_schedule_lag_seconds",
            "How late the most overdue enabled schedule is (0 when none is due).",
        )
        lag.add_metric([], self._metrics.schedule_lag_s())
        yield lag
        swept = CounterMetricFamily(
            "taskhub_sweep_recoveries",
            "What the recovery sweep recovered, by kind, since the database was made.",
            labels=["kind"],
        )
        for kind, n in sorted(self._metrics.sweep_recoveries().items()):
            swept.add_metric([kind], n)
        yield swept
        yield from self._finished()

    def _counts(self) -> Iterator[Metric]:
        tasks = GaugeMetricFamily(
            "taskhub_tasks",
            "Tasks by status and type (a status counts at most taskhub_tasks_count_limit).",
            labels=["status", "type"],
        )
        for count in self._metrics.task_counts():
            tasks.add_metric([count.status, count.task_type], count.count)
        yield tasks
        limit = GaugeMetricFamily(
            "taskhub_tasks_count_limit", "The most tasks taskhub_tasks counts per status."
        )
        limit.add_metric([], self._metrics.count_limit)
        yield limit

    def _queues(self) -> Iterator[Metric]:
        depths = self._metrics.queue_depths()
        up = GaugeMetricFamily("taskhub_broker_up", "Whether the broker answered this scrape.")
        up.add_metric([], 0 if depths is None else 1)
        yield up
        depth = GaugeMetricFamily(
            "taskhub_queue_depth", "Messages waiting in the broker's queue.", labels=["queue"]
        )
        for queue, n in sorted((depths or {}).items()):
            depth.add_metric([queue], n)
        yield depth

    def _finished(self) -> Iterator[Metric]:
        tallies = self._metrics.tallies()
        finished = CounterMetricFamily(
            "taskhub_tasks_finished",
            "Tasks that reached a final status since this process started.",
            labels=["task", "status"],
        )
        for (task, status), n in sorted(tallies.finished.items()):
            finished.add_metric([task, status], n)
        yield finished
        retries = CounterMetricFamily(
            "taskhub_task_retries",
            "Retries taken by the tasks that finished since this process started.",
            labels=["task"],
        )
        for task, n in sorted(tallies.retries.items()):
            retries.add_metric([task], n)
        yield retries
        yield _histogram(
            "taskhub_task_wait_seconds",
            "From created (or due) to started, of tasks that ran once and finished.",
            tallies.waits,
        )
        yield _histogram(
            "taskhub_task_run_seconds",
            "From started to finished, of the last execution of tasks that finished.",
            tallies.runs,
        )


def _histogram(name: str, documentation: str, by_task: dict[str, Histogram]) -> Metric:
    family = HistogramMetricFamily(name, documentation, labels=["task"])
    for task, histogram in sorted(by_task.items()):
        family.add_metric([task], histogram.cumulative(), histogram.sum_s)
    return family


def install(app: FastAPI, metrics: Metrics) -> None:
    """Serve ``GET /metrics`` for ``metrics`` on ``app`` (not in the OpenAPI schema)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskhubCollector(metrics))

    def scrape() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", scrape, methods=["GET"], include_in_schema=False)
