"""Request dependencies: the hub, and the workspace the API key belongs to."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taskhub.domain.records import Workspace
from taskhub.hub import TaskHub


def get_hub(request: Request) -> TaskHub:
    hub: TaskHub = request.app.state.hub
    return hub


def get_workspace(request: Request, hub: Annotated[TaskHub, Depends(get_hub)]) -> Workspace:
    """``Authorization: Bearer <key>`` → the key's workspace; every query is scoped to it."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return hub.accounts.authenticate(key.strip() if scheme.lower() == "bearer" else None)


HubDep = Annotated[TaskHub, Depends(get_hub)]
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
