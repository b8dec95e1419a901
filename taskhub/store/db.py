"""Engines and schema migrations. The only module that knows about drivers and dialects."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from taskhub.store.sqlite_lock import WriteLockedConnection

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip per checkout; a dropped connection fails one
        # operation (retried by its caller) and invalidates the pool.
        return create_engine(url, pool_size=pool_size, pool_recycle=1800)
    if parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Pooled: a connection per transaction cost a quarter of a worker's time (the open, the
    # pragmas, the close). ``check_same_thread`` off: a connection returns to the pool from
    # whichever thread used it last, one thread at a time.
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=-1,  # no limit: SQLite has no server to protect; extra ones are closed
        connect_args={
            "timeout": 30,
            "isolation_level": None,
            "check_same_thread": False,
            "factory": WriteLockedConnection,
        },
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def autocommit_twin(engine: Engine, *, pool_size: int = 5) -> Engine:
    """A second engine on ``engine``'s database whose connections are in autocommit from the
    start (Postgres): one statement is one round trip, with no isolation level set on checkout
    and reset on check-in (which ``execution_options(isolation_level=...)`` costs per use), and
    nothing to roll back when a connection returns to its pool."""
    return create_engine(
        engine.url,
        pool_size=pool_size,
        pool_recycle=1800,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


READ_ONLY = "taskhub_read_only"


def _sqlite_begin_immediate(connection: Any) -> None:
    # A writer takes the lock up front (read-then-write transactions would fail to upgrade);
    # a reader starts a plain snapshot and never waits for writers (WAL).
    if connection.get_execution_options().get(READ_ONLY, False):
        connection.exec_driver_sql("BEGIN")
        return
    dbapi_connection = connection.connection.dbapi_connection
    begin = partial(connection.exec_driver_sql, "BEGIN IMMEDIATE")
    if isinstance(dbapi_connection, WriteLockedConnection):
        dbapi_connection.begin_write(begin)  # queued on the file lock (see there)
    else:
        begin()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision``; the revisions before and after (``None``: an empty database)."""
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    return before, current_revision(url)


def current_revision(url: str) -> str | None:
    """The schema's migration, or ``None`` for a database taskhub never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    """The newest migration this code has."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
