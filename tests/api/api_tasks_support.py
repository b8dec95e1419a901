"""Helpers for the task API tests: submitting, checking problems, reading server-sent events."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..support import wait_for

PROBLEM = "application/problem+json"
FINAL = ("completed", "failed", "cancelled")


def created(client: httpx.Client, task: str = "tests.noop", **body: Any) -> dict[str, Any]:
    """POST /tasks and expect 201; the record."""
    reply = client.post("/api/v1/tasks", json={"task": task, **body})
    assert reply.status_code == 201, reply.text
    record: dict[str, Any] = reply.json()
    return record


def problem(reply: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """Assert ``reply`` is an RFC 9457 problem with ``status`` (and ``field``); its body."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    body: dict[str, Any] = reply.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


def task_of(client: httpx.Client, task_id: str) -> dict[str, Any]:
    reply = client.get(f"/api/v1/tasks/{task_id}")
    assert reply.status_code == 200, reply.text
    record: dict[str, Any] = reply.json()
    return record


def wait_until_final(client: httpx.Client, task_id: str, timeout_s: float = 30) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        record = task_of(client, task_id)
        return record if record["status"] in FINAL else None

    return wait_for(final, timeout_s=timeout_s, what=f"task {task_id} to finish")


@dataclass
class Event:
    event: str | None = None
    id: str | None = None
    data: Any = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


def parse_events(lines: Iterator[str]) -> Iterator[Event]:
    """Server-sent events from a stream's lines (a comment-only block is an event too)."""
    current, touched = Event(), False
    for line in lines:
        if not line:
            if touched:
                yield current
            current, touched = Event(), False
            continue
        touched = True
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "data":
            current.data = json.loads(value)
        elif name == "retry":
            current.retry = int(value)
        elif name in ("event", "id"):
            setattr(current, name, value)


@dataclass
class Stream:
    """Reads events from an open streaming response, with a deadline for the whole read."""

    reply: httpx.Response
    events: Iterator[Event] = field(init=False)

    def __post_init__(self) -> None:
        self.events = parse_events(self.reply.iter_lines())

    def next(self, timeout_s: float = 20, keep: Callable[[Event], bool] = lambda e: True) -> Event:
        give_up = time.monotonic() + timeout_s
        for event in self.events:
            if keep(event):
                return event
            assert time.monotonic() < give_up, f"no wanted event within {timeout_s} s"
        raise AssertionError("the stream ended")

    def until(self, done: Callable[[Event], bool], timeout_s: float = 30) -> list[Event]:
        """Task events up to and including the first one ``done`` accepts."""
        give_up = time.monotonic() + timeout_s
        seen: list[Event] = []
        for event in self.events:
            if event.event == "task":
                seen.append(event)
                if done(event):
                    return seen
            assert time.monotonic() < give_up, f"not done within {timeout_s} s: {seen}"
        raise AssertionError(f"the stream ended first: {[e.data for e in seen]}")

    def rest(self) -> list[Event]:
        """Everything until the server ends the stream."""
        return list(self.events)


def open_stream(client: httpx.Client, path: str, **kwargs: Any) -> Any:
    """``with open_stream(client, path) as reply``: a GET streamed with a read timeout."""
    return client.stream("GET", path, timeout=httpx.Timeout(10, read=20), **kwargs)
