"""The embedded broker (``taskhub.worker.embedded_transport``) and the SQLite write lock, on
their own: several processes share one queue folder and one database file, no server."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from taskhub import Settings
from taskhub.store.db import make_engine
from taskhub.worker.app import transport_class, transport_options

QUEUE = "jobs"


def _connection(home: Path) -> Connection:
    settings = Settings(home=home)
    options = transport_options(settings) | {"polling_interval": 0.01}
    transport = transport_class(settings)
    return Connection("filesystem://", transport=transport, transport_options=options)


def _publish(home: Path, bodies: list[tuple[str, int]]) -> None:
    with _connection(home) as conn, conn.Producer() as producer:
        for body, priority in bodies:
            producer.publish(body, routing_key=QUEUE, priority=priority, serializer="json")


def _consume(home: Path, out: Path, idle_s: float = 1.0) -> None:
    """Take messages until none came for ``idle_s``; write their bodies to ``out``."""
    taken: list[str] = []
    with _connection(home) as conn:
        queue = conn.SimpleQueue(QUEUE)
        while True:
            try:
                message = queue.get(timeout=idle_s)
            except Empty:
                break
            taken.append(message.payload)
            message.ack()
    out.write_text("\n".join(taken))


def test_each_message_goes_to_exactly_one_of_several_consuming_processes(tmp_path: Path) -> None:
    # Given 300 messages in the queue folder
    bodies = [f"m{n}" for n in range(300)]
    _publish(tmp_path, [(body, 5) for body in bodies])

    # When three processes take messages from it at once
    context = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"taken-{n}.txt" for n in range(3)]
    consumers = [context.Process(target=_consume, args=(tmp_path, out)) for out in outs]
    for process in consumers:
        process.start()
    for process in consumers:
        process.join(timeout=60)
        assert process.exitcode == 0

    # Then every message was taken once, by one of them
    taken = [line for out in outs for line in out.read_text().splitlines()]
    assert sorted(taken) == sorted(bodies)


def test_higher_priority_messages_are_taken_first_and_each_priority_in_order(
    tmp_path: Path,
) -> None:
    # Given messages of three priorities, interleaved
    sent = [(f"p{priority}-{n}", priority) for n in range(5) for priority in (0, 9, 4)]
    _publish(tmp_path, sent)

    # When one consumer takes them all
    out = tmp_path / "taken.txt"
    _consume(tmp_path, out, idle_s=0.3)

    # Then priority 9 came first, then 4, then 0, each in the order it was published
    expected = [f"p{priority}-{n}" for priority in (9, 4, 0) for n in range(5)]
    assert out.read_text().splitlines() == expected


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        c.execute(text("INSERT INTO counter VALUES (1, 0)"))
    return engine


def _increment(engine: Engine, times: int) -> None:
    for _ in range(times):
        with engine.begin() as c:
            n = c.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
            c.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})


def test_concurrent_sqlite_writers_each_get_their_turn(engine: Engine) -> None:
    # When four threads read-then-write the same row 50 times each
    threads = [threading.Thread(target=_increment, args=(engine, 50)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then no update was lost (each transaction wrote alone)
    with engine.connect() as c:
        assert c.execute(text("SELECT n FROM counter")).scalar_one() == 200


def test_a_failed_sqlite_write_lets_the_next_writer_in_at_once(engine: Engine) -> None:
    # Given a write transaction that failed (a duplicate key) and was rolled back
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text("INSERT INTO counter VALUES (1, 0)"))

    # When another connection of another engine writes
    other = make_engine(str(engine.url))
    started = time.monotonic()
    _increment(other, 1)

    # Then it did not wait for a lock left behind
    assert time.monotonic() - started < 1.0
    other.dispose()
    engine.dispose()
