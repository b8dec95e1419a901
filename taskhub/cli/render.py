"""Rich renderables for the CLI. Text that comes from users or tasks is never read as markup."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
)
from rich.table import Table
from rich.text import Text

from taskhub.domain.records import ApiKey, AttemptRecord, StepRecord, TaskRecord, Workspace
from taskhub.domain.records import Progress as TaskProgress
from taskhub.domain.schedule_records import Schedule
from taskhub.domain.schedules import describe
from taskhub.domain.settings import Settings, display_url
from taskhub.domain.states import Status, StepStatus

STATUS_STYLES: dict[str, str] = {
    Status.PENDING: "yellow",
    Status.IN_PROGRESS: "blue",
    Status.RETRYING: "magenta",
    Status.COMPLETED: "green",
    Status.FAILED: "bold red",
    Status.CANCELLED: "bright_black",
    Status.PAUSED: "cyan",
    StepStatus.QUEUED: "yellow",
    StepStatus.RUNNING: "blue",
}
SHORT_ID = 8
SHORT_TIME = "%m-%d %H:%M"
SHOW_MAX_CHARS = 2000  # longer input, messages and tracebacks are cut in `taskhub show`


def status_text(status: str) -> Text:
    return Text(str(status), style=STATUS_STYLES.get(status, ""))


def when(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """``at`` in local time, or ``""``."""
    return at.astimezone().strftime(fmt) if at is not None else ""


def progress_text(progress: TaskProgress) -> str:
    """``"Step 2 of 5 · 40%"``, ``"rendering · 70%"``, ``"40%"`` or ``""``."""
    parts = [progress.label] if progress.label else []
    if progress.percent is not None:
        parts.append(f"{progress.percent:.0f}%")
    return " · ".join(parts)


def percent_done(record: TaskRecord) -> float:
    """How far along, 0-100: the reported percent, else the share of finished steps."""
    if record.status is Status.COMPLETED:
        return 100.0
    progress = record.progress
    if progress.percent is not None:
        return max(0.0, min(100.0, progress.percent))
    if progress.total_steps and progress.current_step:
        return 100.0 * (progress.current_step - 1) / progress.total_steps
    return 0.0


def out() -> Console:
    return Console(highlight=False)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def task_line(record: TaskRecord, *, requests: bool = False) -> Text:
    """One line for a submitted or changed task: id, name, status (and pending requests)."""
    line = Text.assemble((record.id, "bold"), "  ", record.name, "  ", status_text(record.status))
    if record.status is Status.PENDING and record.blocked:
        line.append("  (waiting for the tasks it depends on)")
    elif record.held(datetime.now(UTC)):
        line.append(f"  (due {when(record.scheduled_for)})")
    if requests and record.status is Status.IN_PROGRESS:
        if record.cancel_requested_at is not None:
            line.append("  (cancel requested: stops at its next checkpoint)")
        elif record.pause_requested_at is not None:
            line.append("  (pause requested: pauses at its next step)")
    return line


def not_dispatched(record: TaskRecord) -> Text:
    """The warning for a task recorded while the broker could not take it."""
    reason = " ".join((record.dispatch_error or "it was not published yet").split())
    return Text.assemble(
        ("warning: ", "bold yellow"),
        f"recorded, not yet on the broker: {reason.rstrip('.')}; the sweep will publish it",
    )


def finished(record: TaskRecord) -> Group:
    """What ``taskhub wait`` prints at the end: the task's line, and its error if any."""
    parts = [task_line(record)]
    if record.error is not None:
        parts.append(Text(str(record.error), style="red"))
    return Group(*parts)


def tasks_table(records: Sequence[TaskRecord], total: int, skip: int) -> Table:
    table = Table(caption=_page_caption(len(records), total, skip), caption_justify="left")
    table.add_column("ID", no_wrap=True, min_width=SHORT_ID)
    table.add_column("Name", min_width=8)  # these three shrink (with an ellipsis) to fit
    table.add_column("Task", min_width=8)
    table.add_column("Status", no_wrap=True)
    table.add_column("Progress", min_width=8)
    table.add_column("Try", justify="right", no_wrap=True)
    table.add_column("Created", no_wrap=True)
    for r in records:
        table.add_row(
            r.id[:SHORT_ID],
            _cell(r.name),
            _cell(r.task_name),
            status_text(r.status),
            _cell(progress_text(r.progress)),
            str(r.attempt),
            when(r.created_at, "%m-%d %H:%M:%S"),
        )
    return table


def schedules_table(schedules: Sequence[Schedule], total: int, skip: int) -> Table:
    """``taskhub schedules list``: the cron in words; a paused schedule has no next run."""
    caption = _page_caption(len(schedules), total, skip)
    table = Table(caption=caption, caption_justify="left")
    table.add_column("ID", no_wrap=True)
    table.add_column("Name", min_width=6)  # the names shrink (with an ellipsis) to fit
    table.add_column("Task", min_width=6)
    table.add_column("Schedule", min_width=14)  # wraps: the words matter
    for column in ("Time zone", "Enabled", "Next run", "Last run", "Source"):
        table.add_column(column, no_wrap=True)
    for s in schedules:
        table.add_row(
            s.id,
            _cell(s.name),
            _cell(s.task_name),
            Text(describe(s.cron)),
            s.timezone,
            Text("yes", style="green") if s.enabled else Text("no", style="yellow"),
            when(s.next_run_at, "%m-%d %H:%M") if s.enabled else "",
            when(s.last_run_at, "%m-%d %H:%M"),
            s.source,
        )
    return table


def schedule_line(s: Schedule) -> Text:
    """One line for a created or changed schedule: id, name, cron in words, next run."""
    line = Text.assemble((s.id, "bold"), "  ", s.name, "  ", describe(s.cron), f" ({s.timezone})")
    if s.enabled:
        return line.append(f"  next run {when(s.next_run_at, '%Y-%m-%d %H:%M %Z')}")
    return line.append("  paused", style="yellow")


def _cell(text: str) -> Text:
    return Text(text, no_wrap=True, overflow="ellipsis")


def _page_caption(shown: int, total: int, skip: int) -> str:
    first = f", from #{skip + 1}" if skip and shown else ""
    return f"{shown} of {total}{first}"


def record_view(record: TaskRecord) -> Group:
    """Everything ``taskhub show`` prints about one task."""
    parts: list[RenderableType] = [_fields(record)]
    if record.steps:
        parts.append(_steps_table(record.steps, record.id))
    if record.attempts:
        parts.append(_attempts_table(record.attempts, record.id))
    if record.error is not None:
        body = Text(clipped(str(record.error), record.id), style="bold red")
        if record.error.traceback:
            body.append("\n\n" + clipped(record.error.traceback.rstrip(), record.id), style="red")
        parts.append(Panel(body, title="Error", title_align="left", border_style="red"))
    return Group(*parts)


def clipped(text: str, task_id: str, limit: int = SHOW_MAX_CHARS) -> str:
    """``text``, or its first ``limit`` characters and how to see the rest."""
    if len(text) <= limit:
        return text
    rest = f"{len(text) - limit:,} more characters"
    return f"{text[:limit]}… ({rest}: `taskhub show {task_id} --json` prints everything)"


def _fields(r: TaskRecord) -> Table:
    o = r.options
    rows: dict[str, str | Text | None] = {
        "ID": r.id,
        "Name": r.name,
        "Task": r.task_name,
        "Status": status_text(r.status),
        "Type": f"{r.type}" + (f" ({r.origin})" if r.origin else ""),
        "Attempt": f"{r.attempt} of {o.max_retries + 1} (run {r.run})",
        "Worker": _worker(r),
        "Progress": progress_text(r.progress) or None,
        "Options": f"priority {o.priority}, queue {o.queue}, timeout {o.timeout_s:g} s, "
        f"retry delay {o.retry_delay_s:g} s x{o.retry_backoff:g}",
        "Deadline": when(o.deadline) or None,
        "Idempotency key": r.idempotency_key,
        "Input": clipped(json.dumps(r.input, ensure_ascii=False), r.id),
        "Outputs": ", ".join(r.output_names) or None,
    }
    rows.update(_timestamps(r))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in rows.items():
        if value:
            grid.add_row(key, value if isinstance(value, Text) else Text(value))
    return grid


def _worker(r: TaskRecord) -> str | None:
    if r.worker is None:
        return None
    return r.worker if r.worker_pid is None else f"{r.worker} (pid {r.worker_pid})"


def _timestamps(r: TaskRecord) -> dict[str, str | Text | None]:
    return {
        "Created": when(r.created_at),
        "Dispatched": when(r.dispatched_at),
        "Started": when(r.started_at),
        "Heartbeat": when(r.heartbeat_at),
        "Next attempt": when(r.next_attempt_at),
        "Finished": when(r.finished_at),
        "Cancel requested": when(r.cancel_requested_at),
        "Pause requested": when(r.pause_requested_at),
    }


def _steps_table(steps: Sequence[StepRecord], task_id: str) -> Table:
    table = Table(title="Steps", title_justify="left")
    for column in ("#", "Step", "Status", "Started", "Finished", "Detail"):
        table.add_column(column)
    for s in steps:
        row = (str(s.position), Text(s.name), status_text(s.status), when(s.started_at))
        table.add_row(*row, when(s.finished_at), Text(clipped(s.detail or "", task_id)))
    return table


def _attempts_table(attempts: Sequence[AttemptRecord], task_id: str) -> Table:
    table = Table(title="Attempts", title_justify="left")
    for column in ("Run", "#", "Worker", "Started", "Finished", "Error"):
        table.add_column(column)
    for a in attempts:
        error = Text(clipped(str(a.error), task_id), style="red") if a.error else Text("")
        row = (str(a.run), str(a.attempt), a.worker or "", when(a.started_at))
        table.add_row(*row, when(a.finished_at), error)
    return table


def wait_progress(console: Console | None = None) -> Progress:
    """The bar ``taskhub wait`` shows; :func:`show_on_bar` moves it."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.fields[status]}"),
        BarColumn(),
        TextColumn("{task.fields[percent]:>4}"),  # blank while waiting for a retry
        TextColumn("{task.description}"),
        console=console,
    )


def show_on_bar(bar: Progress, job: TaskID, record: TaskRecord, at: datetime | None = None) -> None:
    """The record on the bar; while it waits to be retried, no percent (it would read 0%) but
    which attempt comes next and when."""
    status = status_text(record.status).markup
    if record.status is Status.RETRYING:
        label = next_attempt(record, at or datetime.now(UTC))
        bar.update(job, completed=0, description=Text(label).markup, status=status, percent="")
        return
    label = record.progress.label or record.progress.message or ""
    done = percent_done(record)
    description = Text(label).markup
    bar.update(job, completed=done, description=description, status=status, percent=f"{done:.0f}%")


def next_attempt(record: TaskRecord, at: datetime) -> str:
    """``— attempt 2 of 3 at 14:03:07 (in 4 s)``: a retrying task's next execution."""
    which = f"— attempt {record.attempt + 1} of {record.options.max_retries + 1}"
    due = record.next_attempt_at
    if due is None:
        return which
    wait_s = max(0, round((due - at).total_seconds()))
    return f"{which} at {when(due, '%H:%M:%S')} (in {wait_s} s)"


def safe_db_url(settings: Settings) -> str:
    return display_url(settings.resolved_database_url)


def dev_panel(settings: Settings, pids: Mapping[str, int], api_url: str, api_key: str) -> Panel:
    """What ``taskhub dev`` started, and how to use it."""
    broker = display_url(settings.resolved_broker_url)
    if settings.is_embedded_broker:
        broker = f"{broker} ({settings.broker_folder})"
    facts = {
        "database": safe_db_url(settings),
        "broker": broker,
        "workspace": settings.workspace,
        "home": str(settings.home.resolve()),
        **{f"{name} pid": str(pid) for name, pid in pids.items()},
        "API": f"{api_url}/api/v1",
        "API docs": f"{api_url}/docs",
        "API key": f"{api_key}  (new for this run, labelled dev; shown once)",
    }
    hint = Text.assemble(
        "\nIn another terminal, submit a task and follow it:\n  ",
        ('taskhub submit reports.daily_sales --input \'{"region": "US"}\'', "bold cyan"),
        "\n  ",
        ("taskhub list", "bold cyan"),
        "  /  ",
        ("taskhub wait ID", "bold cyan"),
        "\nor over HTTP:\n  ",
        (f'curl -H "Authorization: Bearer $KEY" {api_url}/api/v1/tasks', "bold cyan"),
        "\nStop with Ctrl-C.",
    )
    return Panel(Group(_facts(facts), hint), title="taskhub dev started", title_align="left")


def _facts(facts: Mapping[str, str]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in facts.items():
        grid.add_row(key, Text(value))
    return grid


def workspace_created(workspace: Workspace, key: ApiKey, plaintext: str) -> Group:
    facts = {"workspace": workspace.name, "id": workspace.id, "plan": workspace.plan}
    return Group(_facts(facts), key_created(key, plaintext))


def key_created(key: ApiKey, plaintext: str) -> Group:
    """A new key: the only time it is shown."""
    facts = {"key id": key.id, "key name": key.name, "API key": plaintext}
    warning = Text("Store the key now: it is shown only this once.", style="yellow")
    return Group(_facts(facts), warning)


def keys_table(keys: Sequence[ApiKey]) -> Table:
    """``taskhub key list`` in 80 columns: the id shortened as in ``taskhub list`` (``key
    revoke`` takes any unique prefix), the name wrapping rather than squeezed to nothing."""
    table = Table(caption=f"{len(keys)} key(s)", caption_justify="left")
    table.add_column("ID", no_wrap=True, min_width=SHORT_ID)
    table.add_column("Name", min_width=16, overflow="fold")
    for column in ("Prefix", "Created", "Revoked"):
        table.add_column(column, no_wrap=True)
    for k in keys:
        created, revoked = when(k.created_at, SHORT_TIME), when(k.revoked_at, SHORT_TIME)
        table.add_row(k.id[:SHORT_ID], Text(k.name), k.prefix + "…", created, revoked)
    return table
