"""The composition root: one :class:`TaskHub` wires settings, database, Celery and services.

It is also the local SDK (:class:`~taskhub.sdk.TaskhubSDK`, as the remote client):
``hub.submit(...)``, ``hub.get(...)``, ``hub.cancel(...)``.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session

from taskhub.domain.clock import now
from taskhub.domain.outputs import OutputCodec
from taskhub.domain.records import NewNotification, Notification, Output, TaskRecord
from taskhub.domain.registry import REGISTRY, TaskDefinition
from taskhub.domain.settings import Settings
from taskhub.domain.states import Outcome, Status, TaskType
from taskhub.domain.submissions import Seconds, Submission
from taskhub.sdk import task_name
from taskhub.services import inbox, notifications, webhooks
from taskhub.services import tasks as service
from taskhub.store import db
from taskhub.store.accounts import AccountStore
from taskhub.store.queries import TaskQueries
from taskhub.store.recovery import RecoveryQueries
from taskhub.store.runs import RunStore
from taskhub.store.tasks import Store, TaskFilter
from taskhub.worker import signals
from taskhub.worker.app import bind_definition, create_celery
from taskhub.worker.completions import CompletionWriter
from taskhub.worker.context import Heartbeat
from taskhub.worker.lifecycle import Lifecycle
from taskhub.worker.publisher import Dispatcher
from taskhub.worker.sweep import Sweep, Sweeper, SweepReport


class TaskHub:
    def __init__(self, settings: Settings | None = None, *, workspace: str | None = None) -> None:
        self.settings = settings or Settings()
        self.engine = db.make_engine(self.settings.resolved_database_url)
        self.store = Store(self.engine)
        self.runs = RunStore(self.store)
        self.queries = TaskQueries(self.store)
        self.accounts = AccountStore(self.store)
        self.outputs = OutputCodec(self.settings.max_output_bytes)
        self.celery: Celery = create_celery(self.settings)
        self.dispatcher = Dispatcher(self.celery, self.settings, self.store)
        self.lifecycle = Lifecycle(
            self.settings, self.store, self.outputs, self.dispatcher, self._announce
        )
        self.completions = CompletionWriter(self.lifecycle.complete)
        self.heartbeat = Heartbeat(
            self.settings, self.runs, self.lifecycle.stop, self.completions.flush
        )
        self._sweep = Sweep(
            self.settings,
            RecoveryQueries(self.store),
            self.dispatcher,
            expire=self.lifecycle.expire,
            recover_webhooks=lambda: webhooks.recover(self),
        )
        self.sweeper = Sweeper(self._sweep, self.settings.sweep_interval_s)
        self.workspace = workspace or self.settings.workspace
        self.definitions: dict[str, TaskDefinition] = {}
        self._bind_tasks()
        self._disconnect_signals = signals.connect(self)

    def _bind_tasks(self) -> None:
        for module in self.settings.imports:
            importlib.import_module(module)
        for name, definition in REGISTRY.items():
            bind_definition(self, definition)
            self.definitions[name] = definition
        from taskhub.worker.system_tasks import bind_system_tasks

        bind_system_tasks(self)

    @cached_property
    def workspace_id(self) -> str:
        return self.store.ensure_workspace(self.workspace, now=now())

    def migrate(self) -> None:
        """Bring the schema to the newest migration (``taskhub db upgrade``)."""
        db.upgrade(self.settings.resolved_database_url)

    def _announce(
        self, record: TaskRecord | None, outcome: Outcome, note: NewNotification | None
    ) -> None:
        notifications.announce(self, record, outcome, note)

    def close(self) -> None:
        """Stop the sweeper, disconnect this hub's Celery signal receivers, close the pool."""
        self.sweeper.stop()
        self._disconnect_signals()
        self.engine.dispose()

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
        type: TaskType = TaskType.MANUAL,
        origin: str | None = None,
        session: Session | None = None,
    ) -> TaskRecord:
        """Record a task and queue it. Within ``session``, it is queued after that commits."""
        ask = Submission(
            name, priority, timeout, retries, retry_delay, deadline, idempotency_key, type, origin
        )
        return service.submit(self, self.workspace_id, task_name(task), input, ask, session=session)

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
    ) -> list[str]:
        """Record and queue one task per input, in batches; returns their ids."""
        ask = Submission(name, priority, timeout, retries, retry_delay, deadline)
        return service.submit_many(self, self.workspace_id, task_name(task), inputs, ask)

    def get(self, task_id: str) -> TaskRecord:
        return service.get(self, self.workspace_id, task_id)

    def list(
        self,
        *,
        status: Status | str | None = None,
        task: str | None = None,
        limit: int = 25,
        skip: int = 0,
    ) -> tuple[builtins.list[TaskRecord], int]:
        wanted = Status(status) if status is not None else None
        where = TaskFilter(self.workspace_id, status=wanted, task_name=task)
        page = service.list_tasks(self, where, limit=limit, skip=skip)
        return page.items, page.total

    def output(self, task_id: str, name: str = "result") -> Output:
        return service.output(self, self.workspace_id, task_id, name)

    def wait(self, task_id: str, *, timeout_s: float = 60.0) -> TaskRecord:
        return service.wait(self, self.workspace_id, task_id, timeout_s=timeout_s)

    def cancel(self, task_id: str) -> TaskRecord:
        return service.cancel(self, self.workspace_id, task_id)

    def pause(self, task_id: str) -> TaskRecord:
        return service.pause(self, self.workspace_id, task_id)

    def resume(self, task_id: str) -> TaskRecord:
        return service.resume(self, self.workspace_id, task_id)

    def retry(self, task_id: str) -> TaskRecord:
        return service.retry(self, self.workspace_id, task_id)

    def notifications(self, limit: int = 50) -> builtins.list[Notification]:
        return inbox.page(self, self.workspace_id, limit=limit)[0]

    def sweep(self) -> SweepReport:
        """One round of the recovery sweep, now (beat runs one every ``sweep_interval_s``)."""
        return self._sweep()
