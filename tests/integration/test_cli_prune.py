"""`taskhub prune`: what retention deletes, now, or counted first with ``--dry-run``; on the
embedded default in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from taskhub import Settings, TaskHub
from taskhub.cli import main as cli

from .test_retention import age, cancelled

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(cli.app, ["prune", *args], env={"COLUMNS": "200"})


def test_prune_counts_then_deletes_the_old_finished_tasks(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given retention set to 30 days, two tasks cancelled 40 days ago, one cancelled now
    monkeypatch.setenv("TASKHUB_RETENTION_DAYS", "30")
    hub = TaskHub(Settings(imports=["workers", "tests.tasks"]))
    old = cancelled(hub, 2)
    age(hub, old, days=40)
    (recent,) = cancelled(hub, 1)

    counted = run("--dry-run")
    assert counted.exit_code == 0, counted.output
    assert counted.stdout.startswith("would prune 2 tasks finished before ")
    assert "(4 rows: 2 tasks, 2 notifications)" in counted.stdout

    pruned = run("--older-than-days", "30", "--batch-size", "1")
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.startswith("pruned 2 tasks finished before ")
    assert "(4 rows: 2 tasks, 2 notifications) in 2 batches" in pruned.stdout
    assert run().stdout.startswith("pruned 0 tasks")
    assert hub.get(recent).status.value == "cancelled"
    hub.close()


def test_prune_with_retention_off_needs_an_age(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKHUB_RETENTION_DAYS", "0")
    refused = run()
    assert refused.exit_code == 2
    assert "invalid older_than_days: must be more than 0 (retention is off)" in refused.output
    assert run("--older-than-days", "0.5").exit_code == 0
