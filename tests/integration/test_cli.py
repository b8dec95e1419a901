"""The ``taskhub`` command, against the embedded default (SQLite + filesystem broker) in tmp_path.

Most tests need no worker: a submitted task stays ``pending``. One test runs ``taskhub dev`` for
real and has its worker complete a task.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from taskhub import Settings, Status, TaskHub
from taskhub.cli import main as cli

from ..api.api_support import client, free_port
from ..support import wait_for

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args))


def submit(*args: str) -> str:
    result = run("submit", "reports.daily_sales", "--input", '{"region": "US"}', "-q", *args)
    assert result.exit_code == 0, result.output
    task_id = result.stdout.strip()
    uuid.UUID(task_id)  # only the id
    return task_id


def show(task_id: str) -> dict[str, Any]:
    result = run("show", task_id, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# -- without a worker ------------------------------------------------------------------------


def test_help_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKHUB_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    for args in ([], ["--help"], ["submit", "--help"], ["db", "--help"], ["dev", "--help"]):
        result = run(*args)
        assert result.exit_code in (0, 2), result.output  # bare `taskhub` shows help, exit 2
        assert "Usage" in result.output


def test_submit_prints_the_id_and_list_shows_it(migrated: Path) -> None:
    result = run("submit", "reports.daily_sales", "--input", '{"region": "US"}')
    assert result.exit_code == 0, result.output
    task_id = result.stdout.split()[0]
    assert "pending" in result.stdout
    quiet_id = submit()

    listed = run("list")
    assert listed.exit_code == 0, listed.output
    assert task_id[:8] in listed.stdout and quiet_id[:8] in listed.stdout
    assert "2 of 2" in listed.stdout

    page = json.loads(run("list", "--json", "--limit", "1", "--status", "pending").stdout)
    assert page["total"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["id"] == quiet_id  # newest first
    assert json.loads(run("list", "--json", "--status", "completed").stdout)["total"] == 0


def test_submit_options_reach_the_record(migrated: Path) -> None:
    deadline = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    task_id = submit(
        *("--name", "Sales US", "--priority", "7", "--timeout", "30", "--retries", "4"),
        *("--retry-delay", "2.5", "--deadline", deadline.isoformat()),
        *("--idempotency-key", "sales-us-1"),
    )
    data = show(task_id)
    assert data["name"] == "Sales US"
    assert data["task_name"] == "reports.daily_sales"
    assert data["status"] == "pending" and data["type"] == "manual"
    assert data["input"] == {"region": "US"}
    assert (data["priority"], data["timeout_s"], data["max_retries"]) == (7, 30.0, 4)
    assert data["retry_delay_s"] == 2.5 and data["queue"] == "taskhub"
    assert datetime.fromisoformat(data["deadline"]) == deadline
    assert data["idempotency_key"] == "sales-us-1"
    assert data["progress"]["label"] == "" and data["progress"]["percent"] is None
    assert data["steps"] == [] and data["attempts"] == [] and data["output_names"] == []
    assert data["error"] is None and data["attempt"] == 0
    datetime.fromisoformat(data["created_at"])
    # the same key is the same task
    assert submit("--idempotency-key", "sales-us-1") == task_id


def test_submit_at_holds_the_task_until_then(migrated: Path) -> None:
    later = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    data = show(submit("--at", later.isoformat()))
    assert (data["status"], data["dispatched_at"]) == ("pending", None)
    assert datetime.fromisoformat(data["scheduled_for"]) == later

    before = datetime.now(UTC)
    relative = show(submit("--at", "+90m"))
    assert datetime.fromisoformat(relative["scheduled_for"]) - before >= timedelta(minutes=90)

    shown = run("submit", "reports.daily_sales", "--input", '{"region": "US"}', "--at", "+2h")
    assert shown.exit_code == 0 and "(due " in shown.output
    assert "not published" not in shown.output  # held for later is not a broker failure
    bad = run("submit", "reports.daily_sales", "--at", "soon")
    assert bad.exit_code == 2 and "--at" in bad.output


def test_submit_depends_on_waits_for_those_tasks(migrated: Path) -> None:
    report = ("submit", "reports.daily_sales", "--input", '{"region": "US"}')
    waiting = run(*report, "--depends-on", submit(), "--depends-on", submit())
    assert waiting.exit_code == 0, waiting.output
    assert "(waiting for the tasks it depends on)" in waiting.output
    unknown = run(*report, "--depends-on", "no-such-task")
    assert unknown.exit_code == 2 and "depends_on" in unknown.output


def test_show_renders_the_record(migrated: Path) -> None:
    task_id = submit("--name", "[bold]not markup[/bold]")
    result = run("show", task_id)
    assert result.exit_code == 0, result.output
    assert task_id in result.stdout
    assert "[bold]not markup[/bold]" in result.stdout
    assert "reports.daily_sales" in result.stdout and "pending" in result.stdout


def test_cancel_pause_resume_retry(migrated: Path) -> None:
    task_id = submit()
    paused = run("pause", task_id)
    assert paused.exit_code == 0 and "paused" in paused.stdout
    resumed = run("resume", task_id)
    assert resumed.exit_code == 0 and "pending" in resumed.stdout

    cancelled = run("cancel", task_id)
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancelled" in cancelled.stdout
    assert show(task_id)["status"] == "cancelled"

    again = run("cancel", task_id)
    assert again.exit_code == 4
    assert "it is cancelled" in again.stderr and "Traceback" not in again.output

    retried = run("retry", task_id)
    assert retried.exit_code == 0 and "pending" in retried.stdout
    assert run("retry", task_id).exit_code == 4  # a pending task cannot be retried


def test_bad_input_json_names_the_option(migrated: Path) -> None:
    result = run("submit", "reports.daily_sales", "--input", "{region: US}")
    assert result.exit_code == 2
    assert "--input" in result.stderr and "not valid JSON" in result.stderr
    assert "Traceback" not in result.output


def test_input_must_be_an_object(migrated: Path) -> None:
    result = run("submit", "reports.daily_sales", "--input", "[1, 2]")
    assert result.exit_code == 2
    assert "invalid input" in result.stderr and "JSON object" in result.stderr


def test_unknown_task_is_a_usage_error(migrated: Path) -> None:
    result = run("submit", "reports.nope")
    assert result.exit_code == 2
    assert "reports.nope" in result.stderr and "Traceback" not in result.output


def test_bad_options_are_usage_errors(migrated: Path) -> None:
    report = ("submit", "reports.daily_sales", "--input", '{"region": "US"}')
    naive = run(*report, "--deadline", "2999-01-01T00:00:00")
    assert naive.exit_code == 2 and "deadline" in naive.stderr
    garbled = run(*report, "--deadline", "tomorrow")
    assert garbled.exit_code == 2 and "--deadline" in garbled.stderr
    priority = run(*report, "--priority", "12")
    assert priority.exit_code == 2 and "priority" in priority.stderr
    assert run("list", "--status", "bogus").exit_code == 2


def test_missing_task_and_output_exit_3(migrated: Path) -> None:
    missing = run("show", "no-such-id")
    assert missing.exit_code == 3
    assert "no task 'no-such-id'" in missing.stderr
    assert run("cancel", "no-such-id").exit_code == 3
    task_id = submit()
    no_output = run("output", task_id)
    assert no_output.exit_code == 3 and "no output" in no_output.stderr


def test_wait_times_out_with_exit_2(migrated: Path) -> None:
    task_id = submit()
    result = run("wait", task_id, "--timeout", "0.3")
    assert result.exit_code == 2
    assert "still pending" in result.stderr


def test_wait_on_a_cancelled_task_exits_1(migrated: Path) -> None:
    task_id = submit()
    assert run("cancel", task_id).exit_code == 0
    result = run("wait", task_id, "--timeout", "5")
    assert result.exit_code == 1
    assert "cancelled" in result.stdout


def test_store_errors_exit_1_with_a_hint(home: Path) -> None:
    result = run("list")  # no `db upgrade`: the tables are missing
    assert result.exit_code == 1
    assert "database error" in result.stderr and "taskhub db upgrade" in result.stderr
    assert "Traceback" not in result.output and "[SQL:" not in result.output


def test_worker_and_beat_exec_celery(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_exec(file: str, argv: list[str]) -> None:
        calls.append(argv)

    monkeypatch.setattr(os, "execvp", fake_exec)
    assert run("worker", "-c", "3", "-Q", "a,b", "-l", "debug").exit_code == 0
    assert run("worker").exit_code == 0
    assert run("beat").exit_code == 0
    celery = [sys.executable, "-m", "celery", "-A", "taskhub.app"]
    assert calls == [
        [*celery, "worker", "--pool", "prefork", "-c", "3", "-Q", "a,b", "-l", "debug"],
        [*celery, "worker", "--pool", "prefork", "-c", "2", "-Q", "taskhub,celery", "-l", "info"],
        [*celery, "beat", "-l", "info"],
    ]


# -- taskhub dev -----------------------------------------------------------------------------


def test_supervise_stops_everything_when_a_child_dies() -> None:
    sleeper = cli.spawn([sys.executable, "-c", "import time; time.sleep(60)"])
    quitter = cli.spawn([sys.executable, "-c", "raise SystemExit(3)"])
    children = {"worker": sleeper, "beat": quitter}
    buffer = io.StringIO()
    try:
        assert cli.supervise(children, Console(file=buffer)) == 1
    finally:
        cli.stop_children(children)
    assert "beat exited (code 3)" in buffer.getvalue()
    assert sleeper.returncode == -signal.SIGTERM


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def wait_for_pids(proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> dict[str, int]:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        text = log.read_text(errors="replace")
        found = dict(re.findall(r"(worker|beat|api) pid\s+(\d+)", text))
        if len(found) == 3:
            return {name: int(pid) for name, pid in found.items()}
        assert proc.poll() is None, f"taskhub dev exited early:\n{text}"
        time.sleep(0.05)
    raise AssertionError(f"taskhub dev did not start in {timeout_s} s:\n{log.read_text()}")


@pytest.fixture
def dev_process(home: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = home / "dev.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    argv = [sys.executable, "-m", "taskhub.cli", "dev", "--concurrency", "1"]
    argv += ["--api-port", str(free_port())]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc, log
    finally:
        if proc.poll() is None:  # the test failed midway: leave nothing running
            proc.kill()
            proc.wait()
        for pgid in map(int, re.findall(r"(?:worker|beat|api) pid\s+(\d+)", log.read_text())):
            if group_members(pgid):
                os.killpg(pgid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_dev_runs_a_task_and_stops_cleanly(
    home: Path, dev_process: tuple[subprocess.Popen[bytes], Path]
) -> None:
    proc, log = dev_process
    pids = wait_for_pids(proc, log, timeout_s=60)
    assert all(group_members(pid) for pid in pids.values())

    hub = TaskHub(Settings(home=home, database_url="", broker_url=""))
    try:
        record = hub.submit("reports.daily_sales", {"region": "US"})
        done = hub.wait(record.id, timeout_s=60)
    finally:
        hub.close()
    assert done.status is Status.COMPLETED, done.error
    report = run("output", record.id, "report.csv")
    assert report.exit_code == 0 and "SKU-1,3" in report.stdout
    check_dev_api(log.read_text(), record.id)

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0, log.read_text()
    assert "stopping" in log.read_text()
    for name, pid in pids.items():
        assert group_members(pid) == [], f"{name} (pid {pid}) left processes behind"


def check_dev_api(printed: str, task_id: str) -> None:
    """The API ``taskhub dev`` serves, with the key it printed, in the default workspace."""
    url = re.search(r"API\s+(http://127\.0\.0\.1:\d+)/api/v1", printed)
    key = re.search(r"API key\s+(thk_\S+)", printed)
    assert url and key, printed
    assert re.search(rf"API docs\s+{re.escape(url[1])}/docs", printed)
    with client(url[1], key[1]) as api, client(url[1], None) as anonymous:
        wait_for(lambda: _answers(api, "/healthz"), timeout_s=30, what="the dev API")
        shown = api.get(f"/api/v1/tasks/{task_id}")
        assert shown.status_code == 200 and shown.json()["status"] == "completed"
        assert anonymous.get("/api/v1/tasks").status_code == 401


def _answers(api: httpx.Client, path: str) -> bool:
    try:
        return api.get(path).status_code == 200
    except httpx.TransportError:
        return False
