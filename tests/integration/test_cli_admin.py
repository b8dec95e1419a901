"""`taskhub workspace`, `taskhub key` and `taskhub api`, on the embedded default in tmp_path."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from taskhub import Settings, TaskHub
from taskhub.cli import main as cli
from taskhub.domain.errors import AuthError

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TaskHub]:
    """A migrated embedded default under tmp_path, and a hub on it for checking results."""
    for name in [name for name in os.environ if name.startswith("TASKHUB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TASKHUB_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert run("db", "upgrade").exit_code == 0
    hub = TaskHub(Settings(home=tmp_path))
    yield hub
    hub.close()


def printed_key(result: Result) -> str:
    assert result.exit_code == 0, result.output
    found = re.search(r"API key\s+(thk_\S+)", result.stdout)
    assert found, result.stdout
    assert "shown only this once" in result.stdout
    return found[1]


def test_workspace_create_prints_a_working_key_once(hub: TaskHub) -> None:
    result = run("workspace", "create", "acme", "--plan", "growth")
    key = printed_key(result)
    workspace = hub.accounts.authenticate(key)
    assert (workspace.name, workspace.plan) == ("acme", "growth")
    assert workspace.id in result.stdout
    assert run("workspace", "create", "acme").exit_code == 1  # names are unique
    bad_plan = run("workspace", "create", "other", "--plan", "gold")
    assert bad_plan.exit_code == 2 and "gold" in bad_plan.output
    assert run("workspace", "create", "starter-co").exit_code == 0
    assert hub.accounts.workspace_named("starter-co").plan == "starter"


def test_keys_are_created_listed_and_revoked(hub: TaskHub) -> None:
    first = printed_key(run("workspace", "create", "acme"))
    second = printed_key(run("key", "create", "--workspace", "acme", "--name", "ci"))
    assert hub.accounts.authenticate(second).name == "acme"
    listed = run("key", "list", "--workspace", "acme")
    assert listed.exit_code == 0, listed.output
    assert first not in listed.stdout and second not in listed.stdout  # never the key itself
    assert second[:12] in listed.stdout and "ci" in listed.stdout and "2 key(s)" in listed.stdout
    key_id = _key_id(hub, "acme", "ci")
    assert key_id[:8] in listed.stdout  # as `taskhub list` shows task ids
    revoked = run("key", "revoke", key_id[:8], "--workspace", "acme")  # a prefix will do
    assert revoked.exit_code == 0 and key_id in revoked.stdout
    with pytest.raises(AuthError):
        hub.accounts.authenticate(second)
    assert hub.accounts.authenticate(first).name == "acme"
    assert run("key", "revoke", key_id, "--workspace", "acme").exit_code == 3  # already
    run("workspace", "create", "other")
    assert run("key", "revoke", _key_id(hub, "acme", "default"), "-w", "other").exit_code == 3


def test_key_commands_need_an_existing_workspace(hub: TaskHub) -> None:
    for args in (("create",), ("list",), ("revoke", "some-id")):
        result = run("key", *args, "--workspace", "nobody")
        assert result.exit_code == 3 and "no workspace 'nobody'" in result.stderr
    assert run("key", "list").exit_code == 2  # --workspace is required


def _key_id(hub: TaskHub, workspace: str, name: str) -> str:
    keys = hub.accounts.list_keys(hub.accounts.workspace_named(workspace).id)
    return next(k.id for k in keys if k.name == name)


def test_api_runs_uvicorn_on_the_app_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: calls.append((args, kwargs)))
    assert run("api").exit_code == 0
    assert run("api", "--host", "0.0.0.0", "--port", "9000").exit_code == 0
    assert run("api", "--port", "0").exit_code == 2
    assert [(args, kw["factory"], kw["host"], kw["port"]) for args, kw in calls] == [
        (("taskhub.api:create_app",), True, "127.0.0.1", 8000),
        (("taskhub.api:create_app",), True, "0.0.0.0", 9000),
    ]
