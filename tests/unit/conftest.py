"""The unit tier: pure logic, no services, seconds. A test here may not use a fixture that
migrates a database or starts a worker (``settings`` and all that build on it, ``migrated``):
such a test belongs in ``tests/integration`` or ``tests/api``."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SERVICE_FIXTURES = frozenset({"settings", "worker", "migrated"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if used and HERE in item.path.resolve().parents:
            raise pytest.UsageError(
                f"{item.nodeid} is a unit test but uses {', '.join(sorted(used))}: "
                "move it to tests/integration"
            )
