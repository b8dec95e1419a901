"""SQLite writers queue on a file lock before ``BEGIN IMMEDIATE``, instead of SQLite's sleeps.

SQLite lets one writer at a time; a writer that finds the database locked runs SQLite's busy
handler, which sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries. Taskhub's writes hold the
lock well under a millisecond, but an embedded worker has four writers (each pool process
claims, and its completion thread completes) besides the submitter, so most waits ran that
ladder: a third of a pool process's time went to sleeping in ``BEGIN IMMEDIATE``.

Here each connection takes an exclusive ``flock`` on ``<database>-writelock`` first, trying
again every 0.1-1 ms, and lets it go right after its ``COMMIT`` or ``ROLLBACK``: a writer
starts within a millisecond of the previous one's end. The lock is advisory and only taskhub's
connections take it; any other writer is still waited for by SQLite's busy timeout. A process
that dies holding it loses it with its file descriptors.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError

RETRY_FIRST_S = 0.0001
RETRY_MAX_S = 0.001


class WriteLockedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection (made by ``sqlite3.connect(..., factory=...)``) that holds the
    write lock from :meth:`begin_write` to its commit or rollback."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._lock_timeout_s = float(kwargs.get("timeout", 5.0))
        self._lock_fd: int | None = None
        self._held = False
        path = os.fsdecode(database)
        if path and path != ":memory:" and not kwargs.get("uri", False):
            self._lock_fd = os.open(f"{path}-writelock", os.O_RDWR | os.O_CREAT, 0o644)

    def begin_write(self, begin: Callable[[], object]) -> None:
        """Take the write lock, then ``begin`` the write transaction (let go if that fails)."""
        self._acquire()
        try:
            begin()
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # lets the lock go, if held
                self._lock_fd, self._held = None, False

    def _acquire(self) -> None:
        if self._lock_fd is None or self._held:
            return
        give_up = time.monotonic() + self._lock_timeout_s
        delay_s = RETRY_FIRST_S
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._held = True
                return
            except BlockingIOError:
                if time.monotonic() > give_up:
                    locked = sqlite3.OperationalError("database is locked")
                    raise OperationalError("BEGIN IMMEDIATE", None, locked) from None
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, RETRY_MAX_S)

    def _release(self) -> None:
        if self._held and self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        self._held = False
