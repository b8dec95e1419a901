"""The recovery sweep runs inside beat's own process, on a timer of its own.

It used to be a beat entry that sent a ``taskhub.sweep`` message for a worker to run. That
needs a broker that accepts writes and a free worker: exactly what is missing when recovery
matters (a broker at its memory limit, restarted empty, or every worker busy). Run in beat's
process, the sweep reaches the database every ``sweep_interval_s`` whatever the broker does,
and publishes what it recovers as soon as the broker takes messages again. Two beat processes
sweep twice: every step of the sweep is a compare-and-set, and a duplicate message runs nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Sweeper:
    """A daemon thread calling ``sweep`` every ``interval_s`` until :meth:`stop`."""

    def __init__(self, sweep: Callable[[], object], interval_s: float) -> None:
        self._sweep = sweep
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopped.clear()
        self._thread = threading.Thread(target=self._loop, name="taskhub-sweep", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                self._sweep()
            except Exception:  # the next round tries again; a sweep must never stop sweeping
                log.exception("recovery sweep failed; trying again in %s s", self._interval_s)
