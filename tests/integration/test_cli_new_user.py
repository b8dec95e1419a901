"""What a new user meets first on the ``taskhub`` command (issue 12): short ids, long inputs,
notifications, workspaces, keys, migrations and the live bar — on the embedded default."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from taskhub import Settings, TaskHub
from taskhub.cli import main as cli
from taskhub.domain.clock import now
from taskhub.domain.records import ErrorInfo
from taskhub.domain.submissions import Submission

from .test_cli import run, runner, show, submit


@pytest.fixture
def local_hub(migrated: Path) -> Iterator[TaskHub]:
    """A hub on the CLI's own database and workspace, to arrange what the CLI then reads."""
    hub = TaskHub(Settings())
    yield hub
    hub.close()


def insert_with_id(hub: TaskHub, task_id: str) -> None:
    new = hub.tasks.build(hub.workspace_id, "reports.daily_sales", {"region": "US"}, Submission())
    hub.store.insert_tasks([replace(new, id=task_id)])


# -- ids: what `taskhub list` shows is what the other commands take -----------------------


def test_every_task_command_takes_the_short_id_list_shows(migrated: Path) -> None:
    task_id = submit()
    short = task_id[:8]
    assert short in run("list").stdout

    assert show(short)["id"] == task_id
    paused = run("pause", short)
    assert paused.exit_code == 0, paused.output
    assert task_id in paused.stdout and "paused" in paused.stdout
    assert run("resume", short.upper()).exit_code == 0
    assert run("cancel", task_id[:4]).exit_code == 0
    waited = run("wait", short, "--timeout", "5")
    assert waited.exit_code == 1 and "cancelled" in waited.stdout
    assert run("retry", short).exit_code == 0
    blocked = run("submit", "reports.daily_sales", "-i", '{"region": "EU"}', "--depends-on", short)
    assert blocked.exit_code == 0, blocked.output
    assert "waiting for the tasks it depends on" in blocked.stdout
    no_output = run("output", short)
    assert no_output.exit_code == 3 and "no output" in no_output.stderr


def test_an_ambiguous_prefix_lists_the_candidates(local_hub: TaskHub) -> None:
    first, second = "abcd1111-0000-4000-8000-000000000001", "abcd2222-0000-4000-8000-000000000002"
    insert_with_id(local_hub, first)
    insert_with_id(local_hub, second)

    result = run("show", "abcd")
    assert result.exit_code == 2
    assert "ambiguous" in result.stderr and first in result.stderr and second in result.stderr
    assert show("abcd2")["id"] == second  # one more character settles it


def test_unknown_and_too_short_prefixes(local_hub: TaskHub) -> None:
    insert_with_id(local_hub, "abcd1111-0000-4000-8000-000000000001")
    unknown = run("show", "abce")
    assert unknown.exit_code == 3 and "no task 'abce'" in unknown.stderr
    assert run("cancel", "0123456789").exit_code == 3
    short = run("show", "abc")
    assert short.exit_code == 2 and "at least 4 characters" in short.stderr


def test_a_prefix_never_reaches_another_workspaces_task(local_hub: TaskHub) -> None:
    other = TaskHub(Settings(), workspace="other")
    try:
        insert_with_id(other, "abcd1111-0000-4000-8000-000000000001")
    finally:
        other.close()
    assert run("show", "abcd").exit_code == 3
    assert json.loads(run("list", "--json").stdout)["total"] == 0


# -- show: long text is cut, --json has it all ---------------------------------------------


def test_show_cuts_a_huge_input_and_json_prints_it_whole(migrated: Path) -> None:
    region = "word " * 200_000  # a megabyte of input
    result = run("submit", "reports.daily_sales", "-q", "--input", json.dumps({"region": region}))
    assert result.exit_code == 0, result.output
    task_id = result.stdout.strip()

    shown = run("show", task_id)
    assert shown.exit_code == 0, shown.output
    assert len(shown.stdout) < 10_000
    words = " ".join(shown.stdout.split())  # the hint may be wrapped
    assert "998,0" in words and "more characters" in words
    assert f"taskhub show {task_id} --json" in words
    assert show(task_id)["input"]["region"] == region


def test_wait_takes_timeout_s_as_the_sdk_does_and_timeout_as_an_alias(migrated: Path) -> None:
    task_id = submit()
    for option in ("--timeout-s", "--timeout"):
        result = run("wait", task_id, option, "0.2")
        assert result.exit_code == 2, result.output
        assert "still pending" in result.stderr
    assert "--timeout-s" in run("wait", "--help").stdout


# -- db upgrade says what it did -------------------------------------------------------------


def test_db_upgrade_says_from_which_revision_to_which(home: Path) -> None:
    first = run("db", "upgrade")
    assert first.exit_code == 0, first.output
    head = re.search(r"migrated an empty database to (\d{4}) \(head\)", first.stdout)
    assert head, first.stdout

    again = run("db", "upgrade")
    assert f"database is up to date at {head[1]} (head)" in again.stdout

    previous = f"{int(head[1]) - 1:04d}"
    assert run("db", "downgrade", previous).exit_code == 0
    partly = run("db", "upgrade")
    assert f"migrated the database from {previous} to {head[1]} (head)" in partly.stdout


# -- the live bar of a task waiting to be retried ----------------------------------------------


def test_wait_shows_which_attempt_comes_next_and_when(local_hub: TaskHub) -> None:
    task_id = submit("--retries", "2")
    local_hub.store.transition(task_id, "start", {"attempt": 1, "started_at": now()})
    error = ErrorInfo("ConnectionError", "partner API down", None)
    retrying = local_hub.lifecycle.schedule_retry(task_id, error, 30)
    assert retrying is not None and retrying.next_attempt_at is not None

    result = run("wait", task_id[:8], "--timeout-s", "0.3")
    assert result.exit_code == 2, result.output
    due = retrying.next_attempt_at.astimezone().strftime("%H:%M:%S")
    assert re.search(rf"retrying .*— attempt 2 of 3 at {due} \(in (29|30) s\)", result.stdout)
    assert "0%" not in result.stdout


# -- notifications, workspaces, keys -----------------------------------------------------------


def test_notifications_are_listed_and_marked_read(migrated: Path) -> None:
    first, second = submit(), submit()
    for task_id in (first, second):
        assert run("cancel", task_id).exit_code == 0

    listed = run("notifications")  # the default: list
    assert listed.exit_code == 0, listed.output
    assert first[:8] in listed.stdout and second[:8] in listed.stdout and "2 of 2" in listed.stdout
    unread = json.loads(run("notifications", "list", "--unread", "--json").stdout)
    assert [n["task_id"] for n in unread["items"]] == [second, first]  # newest first
    assert {n["outcome"] for n in unread["items"]} == {"cancelled"}

    newest = str(unread["items"][0]["id"])
    assert run("notifications", "read", newest).exit_code == 0
    left = json.loads(run("notifications", "list", "--unread", "--json").stdout)["items"]
    assert [n["task_id"] for n in left] == [first]
    assert "marked 1 notification(s) read" in run("notifications", "read-all").stdout
    assert json.loads(run("notifications", "list", "--unread", "--json").stdout)["total"] == 0
    assert run("notifications", "read", "999999").exit_code == 3


def test_workspace_list_shows_every_workspace(migrated: Path) -> None:
    assert run("workspace", "create", "acme", "--plan", "growth").exit_code == 0
    assert run("workspace", "create", "zeta").exit_code == 0
    listed = run("workspace", "list")
    assert listed.exit_code == 0, listed.output
    assert re.search(r"acme\s+│\s+growth\s+│\s+1", listed.stdout), listed.stdout
    assert "zeta" in listed.stdout and "2 workspace(s)" in listed.stdout
    found = json.loads(run("workspace", "list", "--json").stdout)
    assert [(w["name"], w["plan"], w["live_keys"]) for w in found] == [
        ("acme", "growth", 1),
        ("zeta", "starter", 1),
    ]


def test_key_list_keeps_the_names_readable_on_80_columns(migrated: Path) -> None:
    assert run("workspace", "create", "acme").exit_code == 0
    assert run("key", "create", "-w", "acme", "--name", "reporting-service").exit_code == 0
    listed = runner.invoke(cli.app, ["key", "list", "-w", "acme"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0, listed.output
    assert "reporting-service" in listed.stdout and "default" in listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80
    assert all(line.endswith(("┓", "┃", "┩", "│", "┘")) for line in listed.stdout.splitlines()[:-1])
