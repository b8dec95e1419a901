"""Fixtures: one stack per run (Postgres + Redis when their URLs are set, else the embedded
default), a fresh schema, one shared worker, and a fresh workspace per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from taskhub import Settings, TaskHub

from .support import Worker

DATABASE_URL = os.environ.get("TASKHUB_TEST_DATABASE_URL", "")
BROKER_URL = os.environ.get("TASKHUB_TEST_BROKER_URL", "")
TEST_QUEUE = "taskhub-tests"
IDLE_QUEUE = "taskhub-tests-idle"  # no worker consumes it


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    needs = {
        "postgres": (DATABASE_URL.startswith("postgresql"), "TASKHUB_TEST_DATABASE_URL is unset"),
        "redis": (BROKER_URL.startswith("redis"), "TASKHUB_TEST_BROKER_URL is unset"),
    }
    for item in items:
        for marker, (available, reason) in needs.items():
            if item.get_closest_marker(marker) and not available:
                item.add_marker(pytest.mark.skip(reason=f"needs {marker}: {reason}"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("CI") and skipped:
        terminalreporter.write_line(f"CI: {len(skipped)} test(s) skipped; CI allows none", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped and exitstatus == 0:
        session.exitstatus = 1


def make_settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home,
        "database_url": DATABASE_URL or f"sqlite:///{home / 'taskhub.db'}",
        "broker_url": BROKER_URL,
        "imports": ["workers", "tests.tasks"],
        "default_queue": TEST_QUEUE,
        "heartbeat_interval_s": 0.5,
        "heartbeat_timeout_s": 5.0,
        "cancel_grace_s": 2.0,
        "hard_timeout_grace_s": 1.0,
        "dispatch_grace_s": 0.5,
        "max_retry_delay_s": 5.0,
        "max_output_bytes": 10_000,
        "webhook_retry_delay_s": 0.2,
        "webhook_max_attempts": 3,
        "webhook_timeout_s": 2.0,
        "webhook_allow_private": True,  # the tests' receivers listen on 127.0.0.1
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def own_queue(settings: Settings, **overrides: object) -> tuple[TaskHub, Settings]:
    """A hub in a fresh workspace publishing to a queue of its own, which no worker consumes
    until the test starts one on those settings."""
    queue = make_settings(
        settings.home,
        database_url=settings.database_url,
        default_queue=f"q-{uuid.uuid4().hex[:8]}",
        **overrides,
    )
    return TaskHub(queue, workspace=f"test-{uuid.uuid4().hex[:8]}"), queue


@pytest.fixture(scope="session")
def stack_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def settings(stack_home: Path) -> Settings:
    settings = make_settings(stack_home)
    _fresh_schema(settings)
    if BROKER_URL.startswith("redis"):
        import redis

        redis.Redis.from_url(BROKER_URL).flushdb()
    return settings


def _fresh_schema(settings: Settings) -> None:
    url = settings.resolved_database_url
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    hub = TaskHub(settings)
    hub.migrate()
    hub.close()


@pytest.fixture(scope="session")
def worker(settings: Settings) -> Iterator[Worker]:
    process = Worker(settings, concurrency=2, name="shared")
    yield process
    process.stop()


@pytest.fixture
def hub(settings: Settings) -> Iterator[TaskHub]:
    """A hub in a workspace of its own: tests never see each other's tasks."""
    hub = TaskHub(settings, workspace=f"test-{uuid.uuid4().hex[:12]}")
    yield hub
    hub.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For CLI tests: the embedded default under tmp_path, whatever the outer environment says."""
    for name in [name for name in os.environ if name.startswith("TASKHUB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TASKHUB_HOME", str(tmp_path))
    monkeypatch.setenv("TASKHUB_DATABASE_URL", "")
    monkeypatch.setenv("TASKHUB_BROKER_URL", "")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def migrated(home: Path) -> Path:
    """``home``, with its schema made by ``taskhub db upgrade``."""
    from typer.testing import CliRunner

    from taskhub.cli import main as cli

    result = CliRunner().invoke(cli.app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture
def scratch(stack_home: Path) -> Path:
    """A folder for files that test tasks write (shared with worker processes)."""
    path = stack_home / f"scratch-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def api_url(settings: Settings) -> Iterator[str]:
    """The REST API over real HTTP, serving the session's stack."""
    yield from _serve(settings)


@pytest.fixture
def api(api_url: str, settings: Settings) -> Iterator[Callable[..., httpx.Client]]:
    """``api(plan="starter")`` → an HTTP client authenticated into a fresh workspace."""
    yield from _clients(api_url, settings)


@pytest.fixture(scope="session")
def idle_settings(settings: Settings) -> Settings:
    """The stack's settings, but tasks go to a queue no worker consumes: they stay pending."""
    return settings.model_copy(update={"default_queue": IDLE_QUEUE})


@pytest.fixture(scope="session")
def idle_api_url(idle_settings: Settings) -> Iterator[str]:
    """The REST API over real HTTP, on a hub that queues tasks where no worker runs them."""
    yield from _serve(idle_settings)


def _serve(settings: Settings) -> Iterator[str]:
    from .api.api_support import serving

    hub = TaskHub(settings)
    with serving(hub) as url:
        yield url
    hub.close()


@pytest.fixture
def idle_api(idle_api_url: str, settings: Settings) -> Iterator[Callable[..., httpx.Client]]:
    """Like ``api``, but the tasks it submits stay pending (nothing consumes their queue)."""
    yield from _clients(idle_api_url, settings)


def _clients(url: str, settings: Settings) -> Iterator[Callable[..., httpx.Client]]:
    from .api.api_support import client, new_workspace

    hub = TaskHub(settings)
    opened: list[httpx.Client] = []

    def make(plan: str = "starter") -> httpx.Client:
        workspace_id, key = new_workspace(hub, plan)
        session = client(url, key)
        session.headers["X-Test-Workspace"] = workspace_id
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()
    hub.close()
