"""Helpers for the dashboard tests: a browser-like client (cookies, no redirects followed),
signing in, and reading CSRF tokens and links from the HTML."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from taskhub import TaskHub

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TASK_LINK = re.compile(r'class="task-link" href="/tasks/([^"]+)"')


@dataclass
class Account:
    workspace_id: str
    name: str
    key: str


def new_account(hub: TaskHub, plan: str = "starter") -> Account:
    workspace = hub.accounts.create_workspace(f"web-{uuid.uuid4().hex[:10]}", plan)
    _, key = hub.accounts.create_key(workspace.id)
    return Account(workspace.id, workspace.name, key)


def browser(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=10, follow_redirects=False)


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return html.unescape(found.group(1))


@contextmanager
def sign_in(base_url: str, key: str) -> Iterator[httpx.Client]:
    """A browser signed in with ``key`` (the sign-in must succeed)."""
    with browser(base_url) as session:
        form = session.get("/login")
        reply = session.post("/login", data={"api_key": key, "csrf_token": csrf_of(form)})
        assert reply.status_code == 303 and reply.headers["location"] == "/", reply.text
        yield session


def task_ids(page: httpx.Response) -> list[str]:
    """The task ids the history page lists, in its order."""
    assert page.status_code == 200, page.text
    return TASK_LINK.findall(page.text)


def link(page: httpx.Response, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page.text)
    return html.unescape(found.group(1)) if found else None
