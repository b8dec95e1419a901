"""``taskhub api``, ``taskhub workspace ...`` and ``taskhub key ...``: serving the REST API and
managing who may call it. A key is printed once, when it is created; only its hash is stored."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from taskhub.cli import render as render
from taskhub.cli.common import command, opened
from taskhub.domain.plans import Plan

workspace_app = typer.Typer(no_args_is_help=True, help="Workspaces: each has a plan and API keys.")
key_app = typer.Typer(no_args_is_help=True, help="API keys: create (shown once), list, revoke.")

WorkspaceName = Annotated[
    str, typer.Option("--workspace", "-w", help="The workspace's name.", show_default=False)
]
GRACEFUL_SHUTDOWN_S = 5  # open event streams are closed after this on shutdown


def register(app: typer.Typer) -> None:
    """Add these commands to the ``taskhub`` app."""
    app.add_typer(workspace_app, name="workspace")
    app.add_typer(key_app, name="key")
    command(app, "api")(api)


def api_argv(host: str, port: int) -> list[str]:
    """``taskhub api`` run by this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "taskhub.cli", "api", "--host", host, "--port", str(port)]


def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve the REST API (docs at /docs) with uvicorn, until Ctrl-C."""
    import uvicorn

    uvicorn.run(
        "taskhub.api:create_app",
        factory=True,
        host=host,
        port=port,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


@command(workspace_app, "create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="A unique name.", show_default=False)],
    plan: Annotated[Plan, typer.Option(help="What the workspace may use.")] = Plan.STARTER,
) -> None:
    """Create a workspace and its first API key (printed once)."""
    with opened() as hub:
        workspace = hub.accounts.create_workspace(name, plan.value)
        key, plaintext = hub.accounts.create_key(workspace.id, "default")
    render.out().print(render.workspace_created(workspace, key, plaintext))


@command(key_app, "create")
def key_create(
    workspace: WorkspaceName,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "default",
) -> None:
    """Create an API key for a workspace (printed once)."""
    with opened() as hub:
        owner = hub.accounts.workspace_named(workspace)
        key, plaintext = hub.accounts.create_key(owner.id, name)
    render.out().print(render.key_created(key, plaintext))


@command(key_app, "list")
def key_list(workspace: WorkspaceName) -> None:
    """List a workspace's API keys (their prefixes; never the keys)."""
    with opened() as hub:
        keys = hub.accounts.list_keys(hub.accounts.workspace_named(workspace).id)
    render.out().print(render.keys_table(keys))


@command(key_app, "revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id or a unique prefix (`key list`).")],
    workspace: WorkspaceName,
) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    with opened() as hub:
        owner = hub.accounts.workspace_named(workspace).id
        key_id = hub.accounts.key_id_of(owner, key_id)
        hub.accounts.revoke_key(owner, key_id)
    render.out().print(f"revoked key {key_id}")
