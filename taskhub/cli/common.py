"""What every ``taskhub`` command shares: the error-to-exit-code mapping, command registration
with that mapping, and opening a hub from settings."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import typer
from rich.text import Text

from taskhub.cli import render as render
from taskhub.domain.clock import now
from taskhub.domain.errors import (
    NotFoundError,
    StoreError,
    TaskhubError,
    TransitionError,
    ValidationError,
)
from taskhub.domain.records import TaskRecord, Workspace
from taskhub.domain.settings import Settings
from taskhub.hub import TaskHub
from taskhub.worker import publisher as dispatch

MISSING_SCHEMA = ("no such table", "does not exist")
P = ParamSpec("P")
EXIT_VALIDATION, EXIT_NOT_FOUND, EXIT_TRANSITION, EXIT_TIMEOUT = 2, 3, 4, 2


def error_exit(exc: TaskhubError) -> tuple[int, str]:
    """The one mapping of taskhub's error tree to an exit code and a message."""
    if isinstance(exc, ValidationError):
        return EXIT_VALIDATION, "; ".join(f"invalid {f}: {message}" for f, message in exc.errors)
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND, str(exc)
    if isinstance(exc, TransitionError):
        return EXIT_TRANSITION, str(exc)
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, StoreError) and any(hint in message for hint in MISSING_SCHEMA):
        message += "\n(no schema yet? run `taskhub db upgrade`)"
    return 1, message


def command(
    group: typer.Typer, name: str | None = None, *, help: str | None = None
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Register a command on ``group`` that reports taskhub's errors by :func:`error_exit`."""

    def register(fn: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                fn(*args, **kwargs)
            except TaskhubError as exc:
                code, message = error_exit(exc)
                error = Text.assemble(("error: ", "bold red"), message)
                render.err().print(error, soft_wrap=True)  # one line, however long
                raise typer.Exit(code) from None

        group.command(name, help=help)(run)
        return fn

    return register


@contextmanager
def publish_reported_here() -> Iterator[None]:
    """For a command that itself says when a publish failed (one line, from the record it
    got): the dispatcher's log line would say it again on the terminal."""

    def drop(_: logging.LogRecord) -> bool:
        return False

    dispatch.log.addFilter(drop)
    try:
        yield
    finally:
        dispatch.log.removeFilter(drop)


@contextmanager
def opened(settings: Settings | None = None) -> Iterator[TaskHub]:
    hub = TaskHub(settings or Settings())
    try:
        yield hub
    finally:
        hub.close()


def task_id_of(hub: TaskHub, ref: str) -> str:
    """The whole id of the task ``ref`` names: its id, or any unique prefix of it (``taskhub
    list`` shows the first 8 characters)."""
    return hub.tasks.resolve_id(hub.workspace_id, ref)


def workspace_of(hub: TaskHub) -> Workspace:
    """The hub's workspace with its plan (made, on Starter, if it does not exist yet): what a
    plan-gated command acts for."""
    _ = hub.workspace_id  # ensures it exists
    return hub.accounts.workspace_named(hub.workspace)


def warn_if_unpublished(record: TaskRecord) -> None:
    """One line on stderr for a task queued in the database only: the broker could not take it."""
    if record.awaits_publish(now()):
        render.err().print(render.not_dispatched(record), soft_wrap=True)
