"""Fixtures of the fault suite: a Redis server and a database of its own, fast timeouts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from taskhub import Settings, TaskHub

from ...conftest import DATABASE_URL, make_settings
from .support import WORKER_APP, RedisServer, database_url_for, install_history

FAST = {
    "heartbeat_interval_s": 0.2,
    "heartbeat_timeout_s": 2.0,
    "sweep_interval_s": 0.5,
    "lost_message_after_s": 1.0,
    "dispatch_grace_s": 0.5,
}


@pytest.fixture(scope="session")
def fault_database_url() -> str:
    """A database of the suite's own (a trigger there logs every status change)."""
    name = f"{DATABASE_URL.rsplit('/', 1)[-1].split('?')[0]}_faults"
    url = database_url_for(DATABASE_URL, name)
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    hub = TaskHub(make_settings(Path("."), database_url=url, broker_url="memory://"))
    hub.migrate()
    install_history(hub.store.engine)
    hub.close()
    return url


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.kill()


@pytest.fixture
def fault_settings(tmp_path: Path, broker: RedisServer, fault_database_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url=fault_database_url,
        broker_url=broker.url,
        imports=["workers", "tests.tasks", "tests.integration.faults.tasks"],
        default_queue=f"faults-{uuid.uuid4().hex[:8]}",
        **FAST,
    )


@pytest.fixture
def worker_settings(fault_settings: Settings) -> Settings:
    """The same, but the workers' database connections carry a name the tests can target."""
    separator = "&" if "?" in fault_settings.database_url else "?"
    url = f"{fault_settings.database_url}{separator}application_name={WORKER_APP}"
    return fault_settings.model_copy(update={"database_url": url})


@pytest.fixture
def fault_hub(fault_settings: Settings) -> Iterator[TaskHub]:
    hub = TaskHub(fault_settings, workspace=f"faults-{uuid.uuid4().hex[:8]}")
    yield hub
    hub.close()


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Print a figure (a recovery time) in the test run's output, captured or not."""

    def say(line: str) -> None:
        with capsys.disabled():
            print(f"\n    {line}")

    return say
