"""A task named by a prefix of its id (what ``taskhub list`` shows), on the test database."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from taskhub import TaskHub
from taskhub.domain.errors import NotFoundError, ValidationError
from taskhub.domain.submissions import Submission


def insert_with_id(hub: TaskHub, task_id: str) -> None:
    new = hub.tasks.build(hub.workspace_id, "tests.noop", {}, Submission())
    hub.store.insert_tasks([replace(new, id=task_id)])


def test_a_unique_prefix_resolves_to_its_task_within_the_workspace(hub: TaskHub) -> None:
    stem, tail = uuid.uuid4().hex[:6], uuid.uuid4().hex[:12]
    nine, a, b = (f"{stem}{c}0-0000-4000-8000-{tail}" for c in "9ab")
    for task_id in (nine, a, b):
        insert_with_id(hub, task_id)
    resolve = hub.tasks.resolve_id

    assert resolve(hub.workspace_id, f"{stem}9") == nine  # not a (9 and a are neighbours)
    assert resolve(hub.workspace_id, f"{stem}A".upper()) == a
    assert resolve(hub.workspace_id, b[:13]) == b  # a prefix ending in a dash
    assert resolve(hub.workspace_id, b) == b
    with pytest.raises(ValidationError, match="ambiguous") as ambiguous:
        resolve(hub.workspace_id, stem)
    assert all(task_id in ambiguous.value.message for task_id in (nine, a, b))
    with pytest.raises(NotFoundError):
        resolve(hub.accounts.create_workspace(f"w-{tail}").id, stem)
