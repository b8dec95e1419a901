"""The store's pieces that need no database server: the one notification insert and the two
statements made from it, the display of a database URL, the readiness ping."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql import psycopg2

from taskhub.domain.records import NewNotification
from taskhub.domain.states import Outcome
from taskhub.store import execution, notifications
from taskhub.store import tables as m
from taskhub.store.db import make_engine
from taskhub.store.tasks import Store

from .test_record_fields import full_record

NOTE = NewNotification(Outcome.FAILED, "Report – US", "it broke")
_COLUMNS = re.compile(r"INSERT INTO notifications \(([^)]*)\)")


def _inserted_columns(sql: str) -> list[str]:
    [names] = _COLUMNS.findall(sql)
    return [name.strip() for name in names.split(",")]


def test_a_new_notification_sets_every_column_but_those_left_to_the_database() -> None:
    row = notifications.notification_row(full_record(), notifications.note_values(NOTE), "at")
    assert set(row).isdisjoint(notifications.LEFT_OUT)
    assert set(row) | notifications.LEFT_OUT == set(m.notifications.c.keys())


def test_the_core_insert_and_the_prepared_completion_insert_the_same_columns() -> None:
    record = full_record()
    core = notifications.insert_notification(record, NOTE).compile(dialect=psycopg2.dialect())  # type: ignore[no-untyped-call]
    assert core.params == notifications.notification_row(
        record, notifications.note_values(NOTE), record.finished_at
    )
    prepared = execution._COMPLETING
    assert _inserted_columns(prepared) == _inserted_columns(str(core)) == list(core.params)


def test_the_prepared_completion_takes_the_note_and_returns_the_task_columns_it_reads() -> None:
    statement = execution._COMPLETE._prepare_sql
    returned = re.findall(r"RETURNING ([^)]*)\n\)", statement)[0]  # the UPDATE's (the CTE done)
    columns = {name.strip() for name in returned.split(",")}
    assert set(notifications.TASK_COLUMNS) | {"has_dependents"} <= columns
    assert set(notifications.NOTE_COLUMNS) <= set(execution._COMPLETE._order)
    assert set(notifications.note_values(NOTE)) == set(notifications.NOTE_COLUMNS)


def test_the_ping_says_whether_the_database_answers(tmp_path: Path) -> None:
    up = Store(make_engine(f"sqlite:///{tmp_path / 'taskhub.db'}"))
    assert up.ping() is True
    down = Store(create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none"))
    assert down.ping() is False
    up.engine.dispose()
    down.engine.dispose()
