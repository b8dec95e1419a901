"""``taskhub schedules ...`` end to end, on the embedded default in tmp_path (no worker, no
beat: ``run-now`` makes the record, which stays pending). The commands act for the workspace
``TASKHUB_WORKSPACE`` names, on its plan: here a Growth one, made by ``taskhub workspace``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from taskhub.cli import main as cli

runner = CliRunner()
SALES = ("reports.daily_sales", "0 2 * * *", "--input", '{"region": "US"}')


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def growth(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's workspace is ``acme``, on Growth."""
    assert run("workspace", "create", "acme", "--plan", "growth").exit_code == 0
    monkeypatch.setenv("TASKHUB_WORKSPACE", "acme")
    return "acme"


def add(name: str, *args: str) -> dict[str, Any]:
    result = run("schedules", "add", name, *(args or SALES), "--json")
    assert result.exit_code == 0, result.output
    schedule: dict[str, Any] = json.loads(result.stdout)
    return schedule


def listed() -> dict[str, Any]:
    result = run("schedules", "list", "--json")
    assert result.exit_code == 0, result.output
    page: dict[str, Any] = json.loads(result.stdout)
    return page


def test_add_prints_the_schedule_in_words_and_list_shows_it(growth: str) -> None:
    result = run("schedules", "add", "Nightly US", *SALES, "--tz", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    schedule_id = result.stdout.split()[0]
    assert "At 02:00 AM (Europe/Berlin)" in result.stdout and "next run" in result.stdout
    add(
        "Quarter hours",
        *SALES[:1],
        "*/15 9-17 * * mon-fri",
        "-i",
        '{"region": "EU"}',
        "--overlap",
        "skip",
    )

    table = run("schedules", "list")
    assert table.exit_code == 0, table.output
    first, second = (line for line in table.stdout.splitlines() if "reports" in line)
    assert schedule_id in first and "Nightly US" in first and "reports.daily_sales" in first
    assert "At 02:00 AM" in first and "Europe/Berlin" in first and "yes" in first
    assert first.rstrip(" │").endswith("api")
    assert "Every 15 minutes, between 09:00 AM and 05:59 PM" in second  # it wraps
    assert "2 of 2" in table.stdout

    page = listed()
    assert page["total"] == 2
    nightly = page["items"][0]
    assert (nightly["id"], nightly["cron"], nightly["timezone"]) == (
        schedule_id,
        "0 2 * * *",
        "Europe/Berlin",
    )
    assert (nightly["cron_description"], nightly["source"], nightly["input"]) == (
        "At 02:00 AM",
        "api",
        {"region": "US"},
    )
    assert page["items"][1]["overlap_policy"] == "skip"
    one = json.loads(run("schedules", "list", "--json", "--limit", "1", "--skip", "1").stdout)
    assert [s["name"] for s in one["items"]] == ["Quarter hours"] and one["total"] == 2


def test_add_takes_the_run_options_and_policies(growth: str) -> None:
    s = add(
        "Opts",
        *SALES,
        "--priority",
        "8",
        "--timeout",
        "30",
        "--retries",
        "2",
        "--missed",
        "run_all",
        "--overlap",
        "queue_one",
    )
    assert s["options"] == {
        "priority": 8,
        "timeout_s": 30.0,
        "retries": 2,
        "deadline_offset_s": None,
    }
    assert (s["missed_policy"], s["overlap_policy"], s["enabled"]) == ("run_all", "queue_one", True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("reports.daily_sales", "61 * * * *", "-i", '{"region": "US"}'), "invalid cron: minute"),
        (("reports.daily_sales", "@daily", "--tz", "Mars/Olympus", *SALES[2:]), "invalid timezone"),
        (("reports.daily_sales", "@daily"), "invalid input.region: field required"),
        (("reports.nope", "@daily"), "invalid task"),
        ((*SALES, "--priority", "12"), "invalid options.priority"),
    ],
)
def test_a_bad_field_exits_2_with_one_line_naming_it(
    growth: str, args: tuple[str, ...], message: str
) -> None:
    result = run("schedules", "add", "Bad", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1
    assert listed()["total"] == 0


def test_usage_errors_name_the_option(growth: str) -> None:
    bad_json = run("schedules", "add", "Bad", "reports.daily_sales", "@daily", "--input", "{")
    assert bad_json.exit_code == 2 and "--input" in bad_json.stderr
    bad_policy = run("schedules", "add", "Bad", *SALES, "--missed", "sometimes")
    assert bad_policy.exit_code == 2 and "--missed" in bad_policy.stderr
    assert listed()["total"] == 0


def test_a_taken_name_exits_1(growth: str) -> None:
    add("Nightly")
    result = run("schedules", "add", "Nightly", *SALES)
    assert result.exit_code == 1
    assert result.stderr == "error: a schedule of this name exists in the workspace\n"


def test_pause_resume_run_now_and_rm(growth: str) -> None:
    s = add("Nightly")
    paused = run("schedules", "pause", s["id"])
    assert paused.exit_code == 0 and "paused" in paused.stdout
    row = next(line for line in run("schedules", "list").stdout.splitlines() if s["id"] in line)
    assert " no " in row and "yes" not in row
    resumed = json.loads(run("schedules", "resume", s["id"], "--json").stdout)
    assert resumed["enabled"] is True

    ran = run("schedules", "run-now", s["id"])
    assert ran.exit_code == 0, ran.output
    task_id, name, status = ran.stdout.split("  ")[:3]
    assert (name, status.strip()) == ("Nightly", "pending")
    task = json.loads(run("show", task_id, "--json").stdout)
    assert (task["type"], task["origin"], task["input"]) == (
        "scheduled",
        f"schedule:{s['id']}",
        {"region": "US"},
    )
    after = listed()["items"][0]
    assert after["last_task_id"] == task_id
    assert [(e["outcome"], e["reason"]) for e in after["trail"]] == [("fired", "run now")]

    removed = run("schedules", "rm", s["id"])
    assert removed.exit_code == 0 and s["id"] in removed.stdout
    assert listed()["total"] == 0
    assert run("show", task_id).exit_code == 0  # its run stays
    for action in ("pause", "resume", "run-now", "rm"):
        gone = run("schedules", action, s["id"])
        assert gone.exit_code == 3, (action, gone.output)
        assert gone.stderr == f"error: no schedule '{s['id']}'\n"


def test_a_starter_workspace_may_not_add(migrated: Path) -> None:
    """The default workspace is made on Starter: the plan error is one line, exit 1."""
    result = run("schedules", "add", "Nightly", *SALES)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: scheduled tasks need the growth plan; this workspace is on starter\n"
    )
    assert listed() == {"items": [], "total": 0, "limit": 25, "skip": 0}


def test_help_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKHUB_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    for args in (["schedules"], ["schedules", "--help"], ["schedules", "add", "--help"]):
        result = run(*args)
        assert result.exit_code in (0, 2), result.output
        assert "Usage" in result.output
