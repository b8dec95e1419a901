"""The composition root: one :class:`TaskHub` wires settings, database, Celery and services.

It is also the local SDK (:class:`~taskhub.sdk.TaskhubSDK`, as the remote client):
``hub.submit(...)``, ``hub.get(...)``, ``hub.cancel(...)``.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from taskhub.domain.canvas import Canvas
from taskhub.domain.clock import now
from taskhub.domain.code_schedules import parse_beat_schedule
from taskhub.domain.outputs import OutputCodec
from taskhub.domain.paging import Page, TaskFilter
from taskhub.domain.pipelines import Graph
from taskhub.domain.records import Notification, Output, TaskRecord
from taskhub.domain.registry import REGISTRY, TaskDefinition, task_name
from taskhub.domain.settings import Settings
from taskhub.domain.states import Status, TaskType
from taskhub.domain.submissions import Seconds, Submission
from taskhub.services.accounts import Accounts
from taskhub.services.batches import Batches
from taskhub.services.dependencies import Dependencies
from taskhub.services.health import Health
from taskhub.services.inbox import Inbox
from taskhub.services.metrics import Metrics
from taskhub.services.notifications import Notifier
from taskhub.services.pipelines import Pipeline, Pipelines
from taskhub.services.retention import Retention
from taskhub.services.schedules import Schedules
from taskhub.services.stats import Stats
from taskhub.services.tasks import Tasks
from taskhub.services.triggers import Triggers
from taskhub.services.webhooks import Webhooks
from taskhub.store import db
from taskhub.store.accounts import AccountStore
from taskhub.store.edges import EdgeStore
from taskhub.store.hooks import HookStore
from taskhub.store.notifications import NotificationStore
from taskhub.store.observations import ObservationQueries
from taskhub.store.queries import TaskQueries
from taskhub.store.recovery import RecoveryQueries
from taskhub.store.retention import RetentionStore
from taskhub.store.runs import RunStore
from taskhub.store.schedules import ScheduleStore
from taskhub.store.sessions import Session
from taskhub.store.stats import StatsQueries
from taskhub.store.tasks import Store
from taskhub.worker import log_context, signals, tracing
from taskhub.worker.app import create_celery
from taskhub.worker.beat import BeatHooks, register
from taskhub.worker.binding import Executor
from taskhub.worker.completions import CompletionWriter
from taskhub.worker.context import Heartbeat
from taskhub.worker.lifecycle import Lifecycle
from taskhub.worker.publisher import Dispatcher
from taskhub.worker.sweep import Sweep, Sweeper, SweepReport
from taskhub.worker.system_tasks import bind_system_tasks

SCHEDULE_MODULE = "beat_schedule"  # code-defined schedules, synced when beat starts
PRUNE_FIRST_AFTER_S = 60.0  # beat's first prune, a minute after it starts


@dataclass(frozen=True)
class Migration:
    """What ``migrate`` did: the schema's revision before (``None``: empty) and after, and
    the newest this code has."""

    before: str | None
    after: str | None
    head: str | None

    def describe(self) -> str:
        """``migrated an empty database to 0007 (head)``, ``... from 0005 to 0007 (head)``,
        or ``database is up to date at 0007 (head)``."""
        after = f"{self.after}{' (head)' if self.after == self.head else ''}"
        if self.before is None:
            return f"migrated an empty database to {after}"
        if self.before == self.after:
            return f"database is up to date at {after}"
        return f"migrated the database from {self.before} to {after}"


class TaskHub:
    """One hub per process: the parts below, each given what it uses, and the SDK."""

    def __init__(self, settings: Settings | None = None, *, workspace: str | None = None) -> None:
        self.settings = settings = settings or Settings()
        self.workspace = workspace or settings.workspace
        tracing.start(settings)  # only if settings.tracing
        self.store = store = Store(db.make_engine(settings.resolved_database_url))
        self.runs = RunStore(store)
        self.outputs = OutputCodec(settings.max_output_bytes)
        self.celery = create_celery(settings)
        self.dispatcher = Dispatcher(self.celery, settings, store)
        hooks = HookStore(store)
        self.webhooks = Webhooks(settings, hooks, self.dispatcher)
        self.dependencies = Dependencies(store, EdgeStore(store), self.dispatcher)
        announce = Notifier(self.webhooks, self.dependencies.settle).announce
        self.dependencies.announce_with(announce)
        self.lifecycle = Lifecycle(settings, store, self.outputs, self.dispatcher, announce)
        completions = CompletionWriter(self.lifecycle.complete)
        heartbeat = Heartbeat(settings, self.runs, self.lifecycle.stop, completions.flush)
        self.executor = Executor(
            self.celery,
            settings,
            store,
            self.runs,
            self.outputs,
            self.lifecycle,
            heartbeat,
            self.dependencies.edges,
        )
        self.definitions = self.executor.definitions
        self.tasks = Tasks(
            settings,
            store,
            TaskQueries(store),
            self.runs,
            self.dispatcher,
            self.definitions,
            announce,
            self.dependencies,
        )
        self.batches = Batches(settings, self.tasks)
        self.pipelines = Pipelines(
            self.dependencies.edges,
            self.tasks,
            self.definitions,
            max_nodes=settings.pipeline_max_nodes,
        )
        self.accounts = Accounts(AccountStore(store))
        self.triggers = Triggers(hooks, self.tasks)
        self.inbox = Inbox(NotificationStore(store))
        self.health = Health(store, self.dispatcher)
        observed = ObservationQueries(store)
        self.metrics = Metrics(settings, observed, self.dispatcher, self._queues)
        self.schedules = Schedules(settings, ScheduleStore(store), self.tasks)
        self.stats = Stats(settings, StatsQueries(store), self.dispatcher, self.definitions)
        beat = BeatHooks(self._beat_tick, self.sync_code_schedules, settings.schedule_tick_s)
        register(self.celery, beat)
        self._sweep = Sweep(
            settings,
            RecoveryQueries(store),
            self.dispatcher,
            expire=self.lifecycle.expire,
            recover_webhooks=self.webhooks.recover,
            recover_dependents=self.dependencies.recover,
            count=lambda report: observed.add_sweep_counts(vars(report), now()),
        )
        self.sweeper = Sweeper(self._sweep, settings.sweep_interval_s)
        self.retention = Retention(settings, RetentionStore(store))
        self.pruner = Sweeper(
            self.retention.prune_due,
            settings.retention_interval_s,
            "taskhub-retention",
            first_after_s=min(settings.retention_interval_s, PRUNE_FIRST_AFTER_S),
        )
        self._bind_tasks()
        timers = [self.sweeper, *([self.pruner] if self.retention.enabled else [])]
        self._disconnects = [
            signals.connect(self.executor, self.lifecycle, completions, store, timers),
            log_context.connect(self.celery, settings.log_format),
        ]

    def _bind_tasks(self) -> None:
        for module in self.settings.imports:
            importlib.import_module(module)
        self.executor.bind_all(REGISTRY)
        bind_system_tasks(
            self.celery,
            self.settings,
            sweep=self._sweep,
            deliver=self.webhooks.deliver,
        )

    def _queues(self) -> set[str]:
        """The queues tasks go to: the default one and those definitions name."""
        named = {d.queue for d in self.definitions.values() if d.queue}
        return {self.settings.default_queue, *named}

    def _beat_tick(self) -> None:
        """What beat does every tick: fire the due schedules, release the due one-off runs."""
        at = now()
        self.schedules.tick(at)
        self.tasks.release_due(at)

    def sync_code_schedules(self) -> dict[str, int]:
        """Make the code-defined schedules in the database what ``beat_schedule.py`` says
        (beat does this when it starts): created or updated, those gone from it disabled.
        They fire into the entry's ``workspace``, else the module's
        ``TASKHUB_SCHEDULE_WORKSPACE``, else this hub's workspace."""
        try:
            module = importlib.import_module(SCHEDULE_MODULE)
        except ModuleNotFoundError:
            return self.schedules.sync_code([])
        workspace = getattr(module, "TASKHUB_SCHEDULE_WORKSPACE", None) or self.workspace
        entries = parse_beat_schedule(getattr(module, "beat_schedule", {}), workspace)
        return self.schedules.sync_code(entries)

    @cached_property
    def workspace_id(self) -> str:
        return self.store.ensure_workspace(self.workspace, now=now())

    def migrate(self) -> Migration:
        """Bring the schema to the newest migration (``taskhub db upgrade``); from which
        revision (``None``: an empty database) to which."""
        url = self.settings.resolved_database_url
        before, after = db.upgrade(url)
        return Migration(before, after, db.head_revision(url))

    def downgrade(self, revision: str) -> None:
        """Take the schema back to ``revision`` (``taskhub db downgrade``)."""
        db.downgrade(self.settings.resolved_database_url, revision)

    def close(self) -> None:
        """Stop the sweeper and the pruner, disconnect this hub's Celery signal receivers,
        send the queued task-sent events, close the pools."""
        self.sweeper.stop()
        self.retention.stop()
        self.pruner.stop()
        for disconnect in self._disconnects:
            disconnect()
        self.dispatcher.close()
        self.store.close()
        tracing.flush()

    # -- the SDK (taskhub.sdk.TaskhubSDK documents it) --------------------------------------

    def submit(
        self,
        task: str | TaskDefinition,
        input: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        priority: int | None = None,
        timeout: Seconds | None = None,
        retries: int | None = None,
        retry_delay: Seconds | None = None,
        deadline: datetime | None = None,
        idempotency_key: str | None = None,
        run_at: datetime | None = None,
        countdown: Seconds | None = None,
        depends_on: Sequence[str] | None = None,
        type: TaskType = TaskType.MANUAL,
        origin: str | None = None,
        session: Session | None = None,
    ) -> TaskRecord:
        """Record a task and queue it. Within ``session``, it is queued after that commits.
        With ``run_at`` (or ``countdown``) it waits, ``pending``, in the database until then;
        with ``depends_on`` (task ids) until those completed (it fails if one fails)."""
        ask = Submission(
            name,
            priority,
            timeout,
            retries,
            retry_delay,
            deadline,
            idempotency_key,
            type,
            origin,
            scheduled_for=run_at,
            countdown=countdown,
        )
        return self.tasks.submit(
            self.workspace_id, task_name(task), input, ask, session=session, depends_on=depends_on
        )

    def submit_many(
        self,
        task: str | TaskDefinition,
        inputs: Iterable[dict[str, Any]],
        *,
        name: str | None = None,
        priority: int | None = None,
        timeout: Seconds | None = None,
        retries: int | None = None,
        retry_delay: Seconds | None = None,
        deadline: datetime | None = None,
        run_at: datetime | None = None,
        countdown: Seconds | None = None,
    ) -> builtins.list[TaskRecord]:
        """Record and queue one task per input, in batches; returns their records."""
        ask = Submission(
            name,
            priority,
            timeout,
            retries,
            retry_delay,
            deadline,
            scheduled_for=run_at,
            countdown=countdown,
        )
        return self.tasks.submit_batch(self.workspace_id, task_name(task), inputs, ask)

    def get(self, task_id: str) -> TaskRecord:
        return self.tasks.get(self.workspace_id, task_id)

    def list(
        self,
        *,
        status: Status | str | None = None,
        task: str | None = None,
        limit: int = 25,
        skip: int = 0,
        after: str | None = None,
    ) -> Page:
        wanted = Status(status) if status is not None else None
        where = TaskFilter(self.workspace_id, status=wanted, task_name=task)
        return self.tasks.list_tasks(where, limit=limit, skip=skip, after=after)

    def output(self, task_id: str, name: str = "result") -> Output:
        return self.tasks.output(self.workspace_id, task_id, name)

    def wait(self, task_id: str, *, timeout_s: float = 60.0) -> TaskRecord:
        return self.tasks.wait(self.workspace_id, task_id, timeout_s=timeout_s)

    def cancel(self, task_id: str) -> TaskRecord:
        return self.tasks.cancel(self.workspace_id, task_id)

    def pause(self, task_id: str) -> TaskRecord:
        return self.tasks.pause(self.workspace_id, task_id)

    def resume(self, task_id: str) -> TaskRecord:
        return self.tasks.resume(self.workspace_id, task_id)

    def retry(self, task_id: str) -> TaskRecord:
        return self.tasks.retry(self.workspace_id, task_id)

    def notifications(self, limit: int = 50) -> builtins.list[Notification]:
        return self.inbox.page(self.workspace_id, limit=limit)[0]

    # -- pipelines (local only: the remote client answers the API's JSON, see taskhub.sdk) ----

    def submit_pipeline(
        self, graph: Graph | Canvas | Mapping[str, Any], *, name: str = ""
    ) -> Pipeline:
        """Record a graph of tasks (a canvas, a :class:`Graph` or the JSON form) and queue its
        roots; the others wait, ``blocked``, for their parents. ``name`` names a canvas (the
        JSON form has its own). Like :meth:`submit`, the operator's: not plan-gated."""
        return self.pipelines.submit(self.workspace_id, graph, name=name)

    def pipeline(self, pipeline_id: str) -> Pipeline:
        return self.pipelines.get(self.workspace_id, pipeline_id)

    def cancel_pipeline(self, pipeline_id: str) -> Pipeline:
        """Cancel every unfinished node (a running one at its next checkpoint)."""
        return self.pipelines.cancel(self.workspace_id, pipeline_id)

    def sweep(self) -> SweepReport:
        """One round of the recovery sweep, now (beat runs one every ``sweep_interval_s``)."""
        return self._sweep()
