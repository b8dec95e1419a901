"""Migrations both ways, on SQLite and on Postgres: they build exactly what models.py declares."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from taskhub.store.db import downgrade, upgrade
from taskhub.store.tables import metadata

from ..conftest import DATABASE_URL

TABLES = {"workspaces", "tasks", "task_attempts", "task_steps", "task_outputs", "notifications"}


def _built_on(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object``: what tables.py declares for ``dialect`` (an index made
    ``.ddl_if(dialect="postgresql")`` is not expected on SQLite)."""

    def include(item: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        only = getattr(item, "_ddl_if", None)
        return only is None or only.dialect in (None, dialect)

    return include


def _check_migrations(url: str) -> None:
    upgrade(url)
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:  # the migrations build exactly what models.py declares
        context = MigrationContext.configure(
            conn, opts={"include_object": _built_on(engine.dialect.name)}
        )
        assert compare_metadata(context, metadata) == []
    downgrade(url, "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_migrations_go_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _check_migrations(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migrations_go_up_and_down_on_postgres() -> None:
    """In a database of its own, next to the suite's (whose schema it leaves alone)."""
    admin = create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    name = f"taskhub_migrations_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check_migrations(DATABASE_URL.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
