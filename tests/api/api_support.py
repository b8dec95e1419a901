"""A real HTTP server for API tests: uvicorn in a thread, serving the test stack."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from taskhub import TaskHub
from taskhub.api import create_app

from ..support import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(hub: TaskHub, app: FastAPI | None = None) -> Iterator[str]:
    """Serve the API for ``hub`` (or ``app``) on a free local port; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app or create_app(hub), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=15, what="the API server to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def new_workspace(hub: TaskHub, plan: str = "starter") -> tuple[str, str]:
    """A fresh workspace on ``plan``; returns (workspace id, plaintext API key)."""
    workspace = hub.accounts.create_workspace(f"api-{uuid.uuid4().hex[:10]}", plan)
    _, key = hub.accounts.create_key(workspace.id)
    return workspace.id, key


def client(base_url: str, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=10)
