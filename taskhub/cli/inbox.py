"""``taskhub notifications ...`` (the CLI workspace's, ``TASKHUB_WORKSPACE``) and ``taskhub
workspace list`` (every workspace: the operator's view)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from taskhub.cli import render as render
from taskhub.cli.common import command, opened
from taskhub.domain.records import Notification, Workspace

notifications_app = typer.Typer(
    help="Notifications (one per final outcome): list (the default), read ID, read-all."
)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OUTCOME_STYLES = {"completed": "green", "failed": "bold red", "cancelled": "bright_black"}


def register(app: typer.Typer, workspace_app: typer.Typer) -> None:
    """Add these commands to the ``taskhub`` app and its ``workspace`` group."""
    app.add_typer(notifications_app, name="notifications")
    command(workspace_app, "list")(workspace_list)


@notifications_app.callback(invoke_without_command=True)
def notifications_default(ctx: typer.Context) -> None:
    """Without a command: the newest unread and read notifications, as ``list`` shows them."""
    if ctx.invoked_subcommand is None:
        notifications_list(unread=False, limit=25, skip=0, as_json=False)


@command(notifications_app, "list")
def notifications_list(
    unread: Annotated[bool, typer.Option("--unread", help="Only the unread ones.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 25,
    skip: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """The workspace's notifications, newest first."""
    with opened() as hub:
        items, total = hub.inbox.page(
            hub.workspace_id, unread=True if unread else None, limit=limit, skip=skip
        )
    if as_json:
        listed = [notification_to_dict(n) for n in items]
        render.print_json({"items": listed, "total": total, "limit": limit, "skip": skip})
    else:
        render.out().print(notifications_table(items, total, skip))


@command(notifications_app, "read")
def notifications_read(
    notification_id: Annotated[str, typer.Argument(help="Its id (see `notifications list`).")],
) -> None:
    """Mark one notification read."""
    with opened() as hub:
        notification = hub.inbox.mark_read(hub.workspace_id, notification_id)
    line = Text.assemble("read ", (str(notification.id), "bold"), "  ", notification.title)
    render.out().print(line)


@command(notifications_app, "read-all")
def notifications_read_all() -> None:
    """Mark every unread notification read."""
    with opened() as hub:
        changed = hub.inbox.mark_all_read(hub.workspace_id)
    render.out().print(f"marked {changed} notification(s) read")


def workspace_list(as_json: AsJson = False) -> None:
    """List every workspace: name, plan, live keys, id."""
    with opened() as hub:
        found = hub.accounts.workspaces()
    if as_json:
        render.print_json([{**workspace_to_dict(w), "live_keys": keys} for w, keys in found])
    else:
        render.out().print(workspaces_table(found))


def notification_to_dict(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "task_id": n.task_id,
        "outcome": n.outcome.value,
        "kind": n.kind,
        "title": n.title,
        "description": n.description,
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
    }


def workspace_to_dict(w: Workspace) -> dict[str, Any]:
    return {"id": w.id, "name": w.name, "plan": w.plan, "created_at": w.created_at.isoformat()}


def notifications_table(items: Sequence[Notification], total: int, skip: int) -> Table:
    first = f", from #{skip + 1}" if skip and items else ""
    table = Table(caption=f"{len(items)} of {total}{first}", caption_justify="left")
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("When", no_wrap=True)
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Title", min_width=16, overflow="fold")
    table.add_column("Task", no_wrap=True)
    table.add_column("Read", no_wrap=True)
    for n in items:
        outcome = Text(n.outcome.value, style=OUTCOME_STYLES.get(n.outcome.value, ""))
        read = Text("yes", style="bright_black") if n.read_at else Text("unread", style="bold")
        when = render.when(n.created_at, "%m-%d %H:%M:%S")
        table.add_row(str(n.id), when, outcome, Text(n.title), n.task_id[: render.SHORT_ID], read)
    return table


def workspaces_table(found: Sequence[tuple[Workspace, int]]) -> Table:
    table = Table(caption=f"{len(found)} workspace(s)", caption_justify="left")
    table.add_column("Name", min_width=12, overflow="fold")
    table.add_column("Plan", no_wrap=True)
    table.add_column("Keys", justify="right", no_wrap=True)
    table.add_column("Created", no_wrap=True)
    table.add_column("ID", min_width=8, overflow="fold")
    for w, keys in found:
        created = render.when(w.created_at, "%Y-%m-%d %H:%M")
        table.add_row(Text(w.name), w.plan, str(keys), created, w.id)
    return table
