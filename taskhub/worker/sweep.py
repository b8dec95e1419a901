"""The recovery sweep: what puts the records' promises back on the broker, and when it runs.

One round (:class:`Sweep`) publishes records never published (the broker was down at submit),
recovers lost executions (stale heartbeats, retries whose message never came), expires missed
deadlines, republishes lost messages, and queues again lost webhook deliveries. Every step is a
compare-and-set or a publish whose duplicate runs nothing, so two rounds at once are harmless.

It runs inside beat's own process, on a timer of its own (:class:`Sweeper`). It used to be a
beat entry that sent a ``taskhub.sweep`` message for a worker to run; that needs a broker that
accepts writes and a free worker — exactly what is missing when recovery matters (a broker at
its memory limit, restarted empty, or every worker busy). Run in beat's process, the sweep
reaches the database every ``sweep_interval_s`` whatever the broker does, and publishes what it
recovers as soon as the broker takes messages again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from taskhub.domain.clock import now
from taskhub.domain.records import TaskRecord
from taskhub.domain.settings import Settings
from taskhub.store.recovery import RecoveryQueries
from taskhub.worker.publisher import Dispatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    republished: int  # never published (the broker was down when they were submitted)
    recovered: int  # lost executions: stale heartbeats, retries whose message never came
    expired: int
    webhooks: int = 0  # deliveries queued again
    redelivered: int = 0  # published, but their message is gone from the broker
    dependents: int = 0  # waiting tasks decided again (a parent ended, they were not decided)


class Sweep:
    """One round of recovery, from the records ``recovery`` finds. ``expire`` ends a task whose
    deadline passed; ``recover_webhooks`` queues lost webhook deliveries again and says how
    many; ``count`` records a round that recovered anything (the totals ``/metrics`` reports)."""

    def __init__(
        self,
        settings: Settings,
        recovery: RecoveryQueries,
        dispatcher: Dispatcher,
        expire: Callable[[str], object],
        recover_webhooks: Callable[[], int],
        recover_dependents: Callable[[], int] = lambda: 0,
        count: Callable[[SweepReport], None] = lambda report: None,
    ) -> None:
        self._settings = settings
        self._recovery = recovery
        self._dispatcher = dispatcher
        self._expire = expire
        self._recover_webhooks = recover_webhooks
        self._recover_dependents = recover_dependents
        self._count = count

    def __call__(self) -> SweepReport:
        settings, found, at = self._settings, self._recovery, now()
        undispatched = found.undispatched(at - timedelta(seconds=settings.dispatch_grace_s))
        lost = found.lost(
            heartbeat_before=at - timedelta(seconds=settings.heartbeat_timeout_s),
            retry_due_before=at - timedelta(seconds=settings.heartbeat_timeout_s),
        )
        expired = found.overdue(at)
        for record in expired:
            self._expire(record.id)
        self._dispatcher.publish_quietly(undispatched)
        self._dispatcher.publish_quietly(lost)
        redelivered = self._lost_messages(at)
        self._dispatcher.publish_quietly(redelivered)
        hooks = self._recover_webhooks()
        waiting = self._recover_dependents()
        report = SweepReport(
            len(undispatched), len(lost), len(expired), hooks, len(redelivered), waiting
        )
        if any(vars(report).values()):
            log.info("sweep: %s", report)
            self._count(report)  # for /metrics (taskhub_sweep_recoveries_total)
        return report

    def _lost_messages(self, at: datetime) -> list[TaskRecord]:
        """Pending records published a while ago whose message the broker no longer holds.

        The broker cannot say cheaply which messages it holds, but it can count a queue: a
        record published more than ``lost_message_after_s`` ago whose queue is empty was lost
        (nothing waits there, and a worker that took it would have started it). Past
        ``lost_message_busy_after_s`` a record is published again whatever its queue holds. A
        duplicate runs nothing: the claim lets one message start the record.
        """
        idle_cutoff = at - timedelta(seconds=self._settings.lost_message_after_s)
        busy_cutoff = at - timedelta(seconds=self._settings.lost_message_busy_after_s)
        queues = self._recovery.pending_queues(idle_cutoff)
        if not queues:
            return []
        depths = self._dispatcher.queue_depths(set(queues))
        if depths is None:
            return []  # the broker is down: nothing can be published anyway
        idle = [queue for queue, depth in depths.items() if depth == 0]
        return self._recovery.published_pending(idle_cutoff, busy_cutoff, idle)


class Sweeper:
    """A daemon thread calling ``sweep`` every ``interval_s`` (the first time after
    ``first_after_s``, by default ``interval_s``) until :meth:`stop`: the recovery sweep, and
    retention's pruning on a timer of its own."""

    def __init__(
        self,
        sweep: Callable[[], object],
        interval_s: float,
        name: str = "taskhub-sweep",
        first_after_s: float | None = None,
    ) -> None:
        self._sweep = sweep
        self._interval_s = interval_s
        self._name = name
        self._first_after_s = interval_s if first_after_s is None else first_after_s
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopped.clear()
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        wait_s = self._first_after_s
        while not self._stopped.wait(wait_s):
            wait_s = self._interval_s
            try:
                self._sweep()
            except Exception:  # the next round tries again; a sweep must never stop sweeping
                log.exception("%s failed; trying again in %s s", self._name, self._interval_s)
