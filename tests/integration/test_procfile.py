"""The README's production start: ``taskhub db upgrade && honcho start`` runs the Procfile's
processes (web, worker, beat, flower) on Postgres and Redis, and they stay up and work together.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from taskhub import Settings, TaskHub

from ..api.api_support import free_port
from ..conftest import BROKER_URL, DATABASE_URL
from ..support import ROOT, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# The command the README's production section gives, run as it says (in the repo's folder).
README_START = "taskhub db upgrade && exec honcho start"


@pytest.fixture
def procfile_database() -> Iterator[str]:
    """A fresh, empty database of its own beside the test database (not the suite's)."""
    url = make_url(DATABASE_URL)
    name = f"{url.database}_procfile"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _environment(database_url: str, queue: str, web_port: int, flower_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}
    bin_dir = str(Path(sys.executable).parent)  # taskhub, celery and honcho of this virtualenv
    env.update(
        PATH=os.pathsep.join([bin_dir, env.get("PATH", "")]),
        TASKHUB_DATABASE_URL=database_url,
        TASKHUB_BROKER_URL=BROKER_URL,
        TASKHUB_DEFAULT_QUEUE=queue,  # a queue of its own: the suite's workers share the broker
        PORT=str(web_port),
        FLOWER_PORT=str(flower_port),
        FLOWER_ADDRESS="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = task / "children"
        for child in children.read_text().split() if children.exists() else []:
            found |= {int(child)} | _descendants(int(child))
    return found


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def test_the_readme_start_serves_the_api_runs_tasks_and_shows_flower_then_stops_cleanly(
    procfile_database: str, tmp_path: Path
) -> None:
    # Given the README's start command on an empty database, Redis, and free ports
    web_port, flower_port, queue = free_port(), free_port(), f"procfile-{uuid.uuid4().hex[:8]}"
    env = _environment(procfile_database, queue, web_port, flower_port)
    log = tmp_path / "honcho.log"
    honcho = subprocess.Popen(
        ["sh", "-c", README_START],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen: set[int] = set()
    try:
        web = f"http://127.0.0.1:{web_port}"

        def ready() -> bool:
            if honcho.poll() is not None:
                raise AssertionError(f"honcho exited:\n{log.read_text(errors='replace')}")
            seen.update(_descendants(honcho.pid))
            try:
                return httpx.get(f"{web}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        # When it has migrated and the web process answers
        wait_for(ready, timeout_s=20, poll_s=0.2, what="the Procfile's web process")
        settings = Settings(database_url=procfile_database, broker_url=BROKER_URL)
        hub = TaskHub(settings, workspace="procfile")
        try:
            workspace = hub.accounts.create_workspace(f"proc-{uuid.uuid4().hex[:8]}", "starter")
            _, key = hub.accounts.create_key(workspace.id)
        finally:
            hub.close()
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=web, headers=auth, timeout=10) as api:
            submitted = api.post(
                "/api/v1/tasks", json={"task": "reports.daily_sales", "input": {"region": "US"}}
            )
            assert submitted.status_code in (200, 201), submitted.text
            task_id = submitted.json()["id"]

            # Then the Procfile's worker completes it
            def completed() -> bool:
                seen.update(_descendants(honcho.pid))
                return api.get(f"/api/v1/tasks/{task_id}").json()["status"] == "completed"

            wait_for(completed, timeout_s=15, what=f"task {task_id} to complete")
        # And Flower answers on its documented port, and no process has stopped the others
        flower = httpx.get(f"http://127.0.0.1:{flower_port}/healthcheck", timeout=5)
        assert flower.status_code == 200 and flower.text == "OK"
        assert honcho.poll() is None
        output = log.read_text(errors="replace")
        for process in ("web.1", "worker.1", "beat.1", "flower.1"):
            assert f"{process} started" in output
            assert f"{process} stopped" not in output
    finally:
        seen.update(_descendants(honcho.pid))
        # When honcho is stopped (as Ctrl-C or a supervisor would)
        if honcho.poll() is None:
            os.kill(honcho.pid, signal.SIGTERM)
        try:
            honcho.wait(timeout=15)
        finally:
            leftover = [pid for pid in seen if _alive(pid)]
            for pid in leftover:
                os.kill(pid, signal.SIGKILL)
    # Then every process it started has ended
    assert seen, "no child process was seen"
    assert leftover == [], f"processes left running: {leftover}"
