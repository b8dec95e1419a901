"""The caller's own SQLAlchemy session, as far as taskhub uses it: work to do once it commits.

Submitting inside a caller's transaction writes the record on the session's connection and
publishes it only after that transaction commits (transactional enqueue); a rollback forgets it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

__all__ = ["Session", "after_commit"]

T = TypeVar("T")


def after_commit(session: Session, key: str, item: T, flush: Callable[[list[T]], object]) -> None:
    """Queue ``item`` on ``session`` under ``key``: once the session commits, ``flush`` gets
    everything queued there (once); a rollback forgets it all."""
    pending: list[T] | None = session.info.get(key)
    if pending is None:
        session.info[key] = []

        @event.listens_for(session, "after_commit")
        def publish(_: Session) -> None:
            items = list(session.info.get(key, []))
            session.info[key] = []
            flush(items)

        @event.listens_for(session, "after_soft_rollback")
        def forget(_: Session, __: Any) -> None:
            session.info[key] = []  # rolled back: those items never existed

    session.info[key].append(item)
