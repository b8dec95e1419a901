"""Statements prepared on the Postgres server once per connection, run on the driver directly.

psycopg2 sends every statement as text, and for the statements every task costs (its insert,
its claim, its completion) parsing and planning cost the server more than running them; going
through SQLAlchemy's execution path cost the caller more than the round trip. Elsewhere (SQLite)
the same statement runs as SQLAlchemy ``text()``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

_BIND = re.compile(r"(?<![:\w]):(\w+)")
_PG = postgresql.psycopg2.dialect()  # type: ignore[no-untyped-call]


class Prepared:
    """One SQL statement with ``:name`` parameters; on Postgres, prepared once per connection.

    Works on any connection: the connection's ``info`` remembers what was prepared on it, and a
    prepared statement outlives the transaction it was made in (PREPARE is not transactional).
    On Postgres it runs on the driver's cursor, inside the connection's transaction if any.
    """

    def __init__(
        self,
        name: str,
        sql: str,
        types: Mapping[str, TypeEngine[Any]],
        columns: Sequence[Column[Any]] = (),
    ) -> None:
        self.name = name
        self._order = order = list(dict.fromkeys(_BIND.findall(sql)))
        declared = ", ".join(str(types[p].compile(dialect=_PG)) for p in order)
        positional = _BIND.sub(lambda hit: f"${order.index(hit[1]) + 1}", sql)
        self._prepare_sql = f"PREPARE {name} ({declared}) AS {positional}"
        self._execute_sql = f"EXECUTE {name}({', '.join('%s' for _ in order)})"
        plain = text(sql).bindparams(*(bindparam(p, type_=types[p]) for p in order))
        self._plain = plain.columns(*columns) if columns else plain
        # as SQLAlchemy would bind them on Postgres: JSON serialized, timestamps checked UTC
        self._processors = [types[p].bind_processor(_PG) for p in order]

    def rows(self, c: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run it; the rows it returns, column name to value, timestamps in UTC."""
        if c.dialect.name != "postgresql":
            result = c.execute(self._plain, params)
            return [dict(row._mapping) for row in result] if result.returns_rows else []
        dbapi = c.connection.dbapi_connection
        assert dbapi is not None
        values = [params[p] for p in self._order]
        args = [v if f is None else f(v) for v, f in zip(values, self._processors, strict=True)]
        prepared: set[str] = c.info.setdefault("taskhub_prepared", set())
        cursor = dbapi.cursor()  # the driver directly: these run for every task
        try:
            if self.name not in prepared:
                cursor.execute(self._prepare_sql)
                prepared.add(self.name)
            cursor.execute(self._execute_sql, args)
            if cursor.description is None:  # no RETURNING
                return []
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, map(_utc, row), strict=True)) for row in cursor.fetchall()]
        except c.dialect.loaded_dbapi.Error as exc:
            error = c.dialect.loaded_dbapi.Error
            raise DBAPIError.instance(self._execute_sql, args, exc, error) from exc
        finally:
            cursor.close()


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value
