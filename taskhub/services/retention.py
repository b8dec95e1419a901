"""Retention: deleting finished tasks past ``TASKHUB_RETENTION_DAYS``, a batch at a time.

Beat's process runs :meth:`Retention.prune_due` every ``retention_interval_s`` (a thread of its
own, as the recovery sweep); ``taskhub prune`` runs :meth:`Retention.prune` on demand. Which
tasks go: :mod:`taskhub.domain.retention`. Each batch is its own short transaction, with a
rest of ``retention_pause_s`` between batches, so writers are never held for long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from taskhub.domain.clock import now
from taskhub.domain.errors import ValidationError
from taskhub.domain.retention import MAX_BATCH_SIZE, PrunedBatch, PruneReport, cutoff
from taskhub.domain.settings import Settings
from taskhub.store.retention import RetentionStore

log = logging.getLogger(__name__)


class Retention:
    def __init__(
        self, settings: Settings, store: RetentionStore, clock: Callable[[], datetime] = now
    ) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._stopping = threading.Event()

    @property
    def enabled(self) -> bool:
        return self._settings.retention_days > 0

    def prune(
        self,
        *,
        older_than_days: float | None = None,
        batch_size: int | None = None,
        dry_run: bool = False,
        on_batch: Callable[[PrunedBatch], object] | None = None,
    ) -> PruneReport:
        """Delete the prunable tasks that finished over ``older_than_days`` ago (default:
        the setting), ``batch_size`` per transaction, with their rows; ``dry_run`` counts
        them instead. ``on_batch`` hears of each batch once it committed."""
        days = self._settings.retention_days if older_than_days is None else older_than_days
        if days <= 0:
            raise ValidationError("older_than_days", "must be more than 0 (retention is off)")
        limit = batch_size or self._settings.retention_batch_size
        if not 1 <= limit <= MAX_BATCH_SIZE:
            raise ValidationError("batch_size", f"must be from 1 to {MAX_BATCH_SIZE}")
        before = cutoff(self._clock(), days)
        if dry_run:
            return PruneReport(before, self._store.count(before), dry_run=True)
        return self._batches(PruneReport(before), limit, on_batch)

    def _batches(
        self, report: PruneReport, limit: int, on_batch: Callable[[PrunedBatch], object] | None
    ) -> PruneReport:
        started, last = time.perf_counter(), None
        while not self._stopping.is_set():
            batch = self._store.prune_batch(report.cutoff, limit, last)
            if batch.last is None:
                break
            report, last = report.plus(batch), batch.last
            if on_batch is not None:
                on_batch(batch)
            if batch.tasks < limit:
                break
            self._stopping.wait(self._settings.retention_pause_s)
        seconds = time.perf_counter() - started
        return PruneReport(report.cutoff, report.rows, report.batches, seconds)

    def prune_due(self) -> PruneReport | None:
        """Beat's round: prune by the settings; ``None`` when retention is off."""
        if not self.enabled:
            return None
        report = self.prune()
        if report.tasks:
            log.info(
                "retention: pruned %d tasks (%d rows) finished before %s in %.1f s",
                report.tasks,
                report.total_rows,
                report.cutoff.isoformat(),
                report.seconds,
            )
        return report

    def stop(self) -> None:
        """Stop pruning after the batch under way (the hub is closing)."""
        self._stopping.set()
