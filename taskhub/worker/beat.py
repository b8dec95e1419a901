"""Celery beat's scheduler for taskhub: the schedules live in the database.

``celery -A taskhub.app beat -S taskhub.worker.beat:DatabaseScheduler`` (the default
``beat_scheduler`` of taskhub's app, so ``-S`` may be left out). Every ``interval_s`` (1 s) its
:meth:`~DatabaseScheduler.tick` calls the tick the composition root registered on the app
(:func:`register`): the service reads the due schedules from the database each time, so a
schedule created, paused or deleted elsewhere is seen within a second, without a restart.
When beat starts, ``start`` runs once first (it syncs ``beat_schedule.py`` into the database).

This module knows Celery, not the services: it gets both as callables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.beat import Scheduler

log = logging.getLogger(__name__)
HOOKS = "taskhub_beat"  # the attribute of the Celery app holding the registered BeatHooks
SCHEDULER = "taskhub.worker.beat:DatabaseScheduler"
RETRY_START_S = 10.0


@dataclass(frozen=True)
class BeatHooks:
    tick: Callable[[], object]  # fire what is due now
    start: Callable[[], object]  # once, when beat starts (sync beat_schedule.py)
    interval_s: float = 1.0


def register(app: Celery, hooks: BeatHooks) -> None:
    """Give ``app``'s beat its tick and start; makes :class:`DatabaseScheduler` its default."""
    setattr(app, HOOKS, hooks)
    app.conf.beat_scheduler = SCHEDULER
    app.conf.beat_max_loop_interval = hooks.interval_s


class DatabaseScheduler(Scheduler):  # type: ignore[misc]
    """No entries of Celery's own: each tick is taskhub's, from the database."""

    def __init__(self, app: Celery, *args: Any, **kwargs: Any) -> None:
        hooks = getattr(app, HOOKS, None)
        if not isinstance(hooks, BeatHooks):
            raise RuntimeError(
                f"DatabaseScheduler needs taskhub's app: celery -A taskhub.app beat -S {SCHEDULER}"
            )
        self._hooks = hooks
        self._started = False
        self._start_after = 0.0
        kwargs["max_interval"] = hooks.interval_s
        super().__init__(app, *args, **kwargs)

    def setup_schedule(self) -> None:
        self._start()

    def _start(self) -> None:
        try:
            self._hooks.start()
            self._started = True
        except Exception:  # the database may be down: the sweep and ticks go on, start later
            log.exception("beat start (beat_schedule.py sync) failed; again in %ss", RETRY_START_S)
            self._start_after = time.monotonic() + RETRY_START_S

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._started and time.monotonic() >= self._start_after:
            self._start()
        try:
            self._hooks.tick()
        except Exception:  # a tick must never stop beat: the next one tries again
            log.exception("schedule tick failed; trying again in %s s", self._hooks.interval_s)
        return self._hooks.interval_s

    @property
    def schedule(self) -> dict[str, Any]:
        return {}

    def sync(self) -> None:
        """Nothing to persist: the database is the schedule."""

    @property
    def info(self) -> str:
        return f"    . schedules -> the database, every {self._hooks.interval_s:g} s"
