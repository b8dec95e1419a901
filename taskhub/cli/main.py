"""The ``taskhub`` command: run the embedded default, workers, migrations, and manage tasks.

Every command builds its :class:`TaskHub` from ``TASKHUB_*`` settings when it runs, so ``--help``
needs no database. taskhub's errors are mapped to messages and exit codes in one place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from taskhub.cli import admin as cli_admin
from taskhub.cli import common as cli_common
from taskhub.cli import inbox as cli_inbox
from taskhub.cli import pipelines as cli_pipelines
from taskhub.cli import prune as cli_prune
from taskhub.cli import render as render
from taskhub.cli import schedules as cli_schedules
from taskhub.cli.common import EXIT_TIMEOUT, opened, task_id_of, warn_if_unpublished
from taskhub.domain.clock import now
from taskhub.domain.records import TaskRecord
from taskhub.domain.serialize import record_to_dict
from taskhub.domain.settings import Settings
from taskhub.domain.states import Status
from taskhub.hub import TaskHub

POLL_S = 0.2
STOP_TIMEOUT_S = 10.0
P = ParamSpec("P")
T = TypeVar("T")


app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Durable task records for Celery: run workers, submit and manage tasks.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema migrations.")
app.add_typer(db_app, name="db")
cli_admin.register(app)
cli_schedules.register(app)
cli_pipelines.register(app)
cli_inbox.register(app, cli_admin.workspace_app)
cli_prune.register(app)


def command(
    name: str | None = None, *, group: typer.Typer = app, help: str | None = None
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Register a command that reports taskhub's errors by :func:`error_exit`, no traceback."""
    return cli_common.command(group, name, help=help)


TaskId = Annotated[
    str,
    typer.Argument(help="The task's id, or a unique prefix (4+ characters).", show_default=False),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Concurrency = Annotated[
    int | None, typer.Option("--concurrency", "-c", min=1, help="Worker processes.")
]


# -- running taskhub -----------------------------------------------------------------------


def celery_argv(*args: str) -> list[str]:
    """``celery -A taskhub.app ...``, run by this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "celery", "-A", "taskhub.app", *args]


def worker_argv(
    settings: Settings, concurrency: int | None, queues: str | None, loglevel: str
) -> list[str]:
    processes = str(concurrency or settings.worker_concurrency)
    wanted = queues or f"{settings.default_queue},celery"
    return celery_argv("worker", "--pool", "prefork", "-c", processes, "-Q", wanted, "-l", loglevel)


@command()
def worker(
    concurrency: Concurrency = None,
    queues: Annotated[str | None, typer.Option("--queues", "-Q", help="a,b,...")] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l")] = "info",
) -> None:
    """Run a Celery worker for taskhub's tasks (replaces this process)."""
    argv = worker_argv(Settings(), concurrency, queues, loglevel)
    os.execvp(argv[0], argv)


@command()
def beat(loglevel: Annotated[str, typer.Option("--loglevel", "-l")] = "info") -> None:
    """Run Celery beat: schedules and the recovery sweep (replaces this process)."""
    argv = celery_argv("beat", "-l", loglevel)
    os.execvp(argv[0], argv)


@command("upgrade", group=db_app)
def db_upgrade() -> None:
    """Bring the schema to the newest migration."""
    with opened() as hub:
        migration = hub.migrate()
    render.out().print(f"{migration.describe()}: {render.safe_db_url(Settings())}")


@command("downgrade", group=db_app)
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1, base")]) -> None:
    """Downgrade the schema to REVISION."""
    with opened() as hub:
        hub.downgrade(revision)
    render.out().print(f"database downgraded to {revision}")


@command()
def dev(
    concurrency: Concurrency = None,
    api_port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the API.")] = 8000,
) -> None:
    """The embedded default in one command: migrate, then run a worker, beat and the API (on
    127.0.0.1) until Ctrl-C. Each start prints a new API key for the workspace."""
    settings = Settings()
    with opened(settings) as hub:
        hub.migrate()
        _, api_key = hub.accounts.create_key(hub.workspace_id, "dev")  # creates the workspace
    api_url = f"http://127.0.0.1:{api_port}"
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        children["worker"] = spawn(worker_argv(settings, concurrency, None, "info"))
        children["beat"] = spawn(celery_argv("beat", "-l", "info"))
        children["api"] = spawn(cli_admin.api_argv("127.0.0.1", api_port))
        pids = {name: child.pid for name, child in children.items()}
        render.out().print(render.dev_panel(settings, pids, api_url, api_key))
        code = supervise(children, render.err())
    finally:
        stop_children(children)
    raise typer.Exit(code)


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """A child in its own process group: the terminal's Ctrl-C reaches only ``taskhub dev``."""
    return subprocess.Popen(argv, process_group=0)


def supervise(children: dict[str, subprocess.Popen[bytes]], console: Console) -> int:
    """Block until SIGINT/SIGTERM (0) or until a child exits (1, after saying which)."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(POLL_S):
            for name, child in children.items():
                if (code := child.poll()) is not None:
                    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"code {code}"
                    console.print(f"[bold red]{name} exited ({how})[/]")
                    return 1
        console.print("stopping ...")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM each child, wait for all up to a shared timeout, then kill what is left."""
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    give_up = time.monotonic() + STOP_TIMEOUT_S
    for child in children.values():
        try:
            child.wait(max(0.0, give_up - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)  # the group: its pool processes too
            child.wait()


# -- tasks ---------------------------------------------------------------------------------


def _parsed(raw: str | None, parse: Callable[[str], T], option: str, expected: str) -> T | None:
    """``parse(raw)``; a ``ValueError`` is a usage error (exit 2) naming ``option``."""
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        raise typer.BadParameter(f"not {expected}: {exc}", param_hint=f"'{option}'") from None


UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _moment(raw: str) -> datetime:
    """``+90s``, ``+10m``, ``+2h``, ``+1d`` from now, or an ISO 8601 datetime."""
    if raw.startswith("+") and raw[-1:] in UNITS_S and raw[1:-1].isdigit():
        return now() + timedelta(seconds=int(raw[1:-1]) * UNITS_S[raw[-1]])
    return datetime.fromisoformat(raw)


@command()
def submit(
    task: Annotated[str, typer.Argument(help="Registered task name, e.g. reports.daily_sales.")],
    input: Annotated[str | None, typer.Option("--input", "-i", help="JSON object.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    priority: Annotated[int | None, typer.Option(help="0-9, higher runs first.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds.")] = None,
    retries: Annotated[int | None, typer.Option(help="Retries after a failure.")] = None,
    retry_delay: Annotated[float | None, typer.Option(help="Seconds.")] = None,
    deadline: Annotated[str | None, typer.Option(help="ISO 8601 with timezone.")] = None,
    idempotency_key: Annotated[str | None, typer.Option()] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Run no sooner than: ISO 8601 with timezone, or +90s/+10m/+2h."),
    ] = None,
    depends_on: Annotated[
        list[str] | None,
        typer.Option(
            "--depends-on", help="A task id (or unique prefix) it waits for (repeat for several)."
        ),
    ] = None,
    as_json: AsJson = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the id.")] = False,
) -> None:
    """Submit a task; prints its id."""
    task_input: Any = _parsed(input, json.loads, "--input", "valid JSON")
    when = _parsed(deadline, datetime.fromisoformat, "--deadline", "an ISO 8601 datetime")
    run_at = _parsed(at, _moment, "--at", "an ISO 8601 datetime or +<n>s/m/h")
    with opened() as hub, cli_common.publish_reported_here():
        record = hub.submit(
            task,
            task_input,
            name=name,
            priority=priority,
            timeout=timeout,
            retries=retries,
            retry_delay=retry_delay,
            deadline=when,
            idempotency_key=idempotency_key,
            run_at=run_at,
            depends_on=[task_id_of(hub, ref) for ref in depends_on or ()] or None,
        )
    warn_if_unpublished(record)
    if as_json:
        render.print_json(record_to_dict(record))
    elif quiet:
        typer.echo(record.id)
    else:
        render.out().print(render.task_line(record))


@command("list")
def list_(
    status: Annotated[Status | None, typer.Option(help="Only tasks in this status.")] = None,
    task: Annotated[str | None, typer.Option(help="Only this task name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 25,
    skip: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """List tasks, newest first."""
    with opened() as hub:
        page = hub.list(status=status, task=task, limit=limit, skip=skip)
    if as_json:
        items = [record_to_dict(r) for r in page.items]
        render.print_json({"items": items, "total": page.total, "limit": limit, "skip": skip})
    else:
        render.out().print(render.tasks_table(page.items, page.total, skip))


@command()
def show(task_id: TaskId, as_json: AsJson = False) -> None:
    """Show one task: status, progress, steps, attempts, outputs, error."""
    with opened() as hub:
        record = hub.get(task_id_of(hub, task_id))
    if as_json:
        render.print_json(record_to_dict(record))
    else:
        render.out().print(render.record_view(record))


@command()
def wait(
    task_id: TaskId,
    timeout_s: Annotated[
        float | None,
        typer.Option(
            "--timeout-s",
            "--timeout",
            min=0,
            help="Give up after SECONDS (the SDK's wait(timeout_s=); --timeout is an alias).",
        ),
    ] = None,
) -> None:
    """Follow a task until it finishes: exit 0 if completed, 1 if not, 2 on timeout."""
    with opened() as hub:
        record, finished = _follow(hub, task_id_of(hub, task_id), timeout_s)
    if not finished:
        message = f"task {record.id} is still {record.status}"
        render.err().print(Text.assemble(("timed out: ", "bold red"), message))
        raise typer.Exit(EXIT_TIMEOUT)
    render.out().print(render.finished(record))
    raise typer.Exit(0 if record.status is Status.COMPLETED else 1)


def _follow(hub: TaskHub, task_id: str, timeout_s: float | None) -> tuple[TaskRecord, bool]:
    """Poll the record, updating a live bar; ``(record, finished)``."""
    give_up = None if timeout_s is None else time.monotonic() + timeout_s
    with render.wait_progress() as bar:
        job = bar.add_task("", total=100, status="", percent="")
        while True:
            record = hub.get(task_id)
            render.show_on_bar(bar, job, record)
            if record.status.is_final:
                return record, True
            if give_up is not None and time.monotonic() >= give_up:
                return record, False
            time.sleep(POLL_S)


ACTIONS: dict[str, tuple[Callable[[TaskHub, str], TaskRecord], str]] = {
    "cancel": (TaskHub.cancel, "Cancel a task (a running one stops at its next checkpoint)."),
    "pause": (TaskHub.pause, "Pause a task (a running one pauses at its next step)."),
    "resume": (TaskHub.resume, "Resume a paused task."),
    "retry": (TaskHub.retry, "Run a failed or cancelled task again."),
}


def _action_command(name: str, act: Callable[[TaskHub, str], TaskRecord], help: str) -> None:
    def run(task_id: TaskId) -> None:
        with opened() as hub, cli_common.publish_reported_here():
            record = act(hub, task_id_of(hub, task_id))
        warn_if_unpublished(record)
        render.out().print(render.task_line(record, requests=True))

    command(name, help=help)(run)


for _name, (_act, _help) in ACTIONS.items():
    _action_command(_name, _act, _help)


@command()
def output(
    task_id: TaskId,
    name: Annotated[str, typer.Argument(help="The output's name.")] = "result",
) -> None:
    """Print one of a task's named outputs."""
    with opened() as hub:
        content = hub.output(task_id_of(hub, task_id), name).content
    typer.echo(content, nl=not content.endswith("\n"))


def main() -> None:
    app(prog_name="taskhub")


if __name__ == "__main__":
    main()
