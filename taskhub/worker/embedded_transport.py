"""The embedded default's broker: kombu's filesystem transport, made safe, ordered and prompt.

Measured here (raw Celery, 2 worker processes, ``bench/transports.py``): the filesystem
transport ran ~760-860 no-op tasks/s against ~220/s for SQLAlchemy-on-SQLite, and it
supports broadcast (ping, revoke). What this module changes in kombu's:

* **Safe across processes.** Stock kombu creates a message file and writes it in place, so a
  consumer can take a still-empty file and crash the worker (seen at 1 worker in 8). Here a
  message is written to a hidden temporary name and renamed into place, and a consumer claims
  a message with an atomic rename inside the same folder tree: exactly one consumer gets it.
* **Priority.** A message file is named ``<9 - priority><time_ns>_<uuid>.<queue>.msg`` and
  consumers take names in sorted order: higher priority (0-9, as AMQP) first, FIFO within a
  priority. Stock kombu is FIFO only.
* **Prompt.** Celery's worker loop on a virtual transport (``synloop``) sleeps the polling
  interval whenever a poll finds nothing to take, and it finds nothing also while its prefetch
  slots are full: each slot then waited up to a whole interval after its task was acked
  (35 no-op tasks/s with 2 processes and 50 ms). Here an ack or reject wakes the loop at
  once, and one directory listing serves every queue of a polling round (not one per queue).
  A warm shutdown (SIGTERM, Ctrl-C) wakes the loop too, so that it stops at once instead of
  after its current wait (an idle worker took up to 4 s to notice, 5.5-9 s to exit; now ~2.5 s).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import weakref
from queue import Empty
from typing import Any

from celery import signals
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

PRIORITY_MAX = 9  # AMQP's range, which the embedded broker follows: higher runs first
TIME_DIGITS = 20  # nanoseconds since the epoch, zero-padded: names sort in time order
# While messages flow, one sorted listing of the queue folder serves the polls of this long:
# a message published meanwhile (even of a higher priority) waits at most this much more.
LISTING_TTL_S = 0.02


def message_name(queue: str, priority: int) -> str:
    """The file name of a new message: sorts before lower priorities, after earlier messages
    of its own priority."""
    rank = PRIORITY_MAX - min(max(priority, 0), PRIORITY_MAX)
    return f"{rank}{time.time_ns():0{TIME_DIGITS}d}_{uuid.uuid4()}.{queue}.msg"


class Channel(filesystem.Channel):
    connection: Transport

    # Same signatures as kombu's filesystem Channel, which differ from the virtual base's.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = message_name(queue, self._get_message_priority(payload))  # type: ignore[no-untyped-call]
        partial = os.path.join(self.data_folder_out, f".partial-{uuid.uuid4()}")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"cannot add message {name!r} to the queue folder") from exc

    def _get(self, queue: str) -> Any:  # type: ignore[override]
        wanted = f"{queue}.msg"
        listing = self.connection.listing(self.data_folder_in)
        index = 0
        while index < len(listing):
            name = listing[index]
            if name.partition(".")[2] != wanted:
                index += 1
                continue
            del listing[index]  # taken now, or by another consumer before
            claimed = os.path.join(self.processed_folder, f"{os.getpid()}-{name}")
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it first
            try:
                with open(claimed, "rb") as handle:
                    payload = handle.read()
                os.remove(claimed)
            except OSError as exc:
                raise ChannelError(f"cannot read message {claimed!r}") from exc
            return loads(bytes_to_str(payload))
        raise Empty()

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple)  # type: ignore[no-untyped-call]
        self.connection.wake()  # a prefetch slot is free: the loop may take the next message

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        super().basic_reject(delivery_tag, requeue)  # type: ignore[no-untyped-call]
        self.connection.wake()


class Transport(filesystem.Transport):
    Channel = Channel

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)  # type: ignore[no-untyped-call]
        self._woken = threading.Event()
        self._stopping = False
        _TRANSPORTS.add(self)
        self._listing: list[str] = []
        self._listed_at = -LISTING_TTL_S

    def wake(self) -> None:
        """End the current wait between polls (called from the thread that acks)."""
        self._woken.set()

    def stop_waiting(self) -> None:
        """The worker shuts down: end the current wait, and wait no more."""
        self._stopping = True
        self._woken.set()

    def listing(self, folder: str) -> list[str]:
        """The queue folder's message names, sorted; listed again after ``LISTING_TTL_S`` or
        a round that found nothing. Names are removed as they are claimed."""
        if time.monotonic() - self._listed_at >= LISTING_TTL_S:
            self._listing = sorted(os.listdir(folder))
            self._listed_at = time.monotonic()
        return self._listing

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]
        """Deliver one message, or raise ``TimeoutError`` after ``timeout`` seconds.

        After a poll that found nothing to take it waits for an ack (a prefetch slot freed),
        at most the polling interval, and at most until a listing it reused expires.
        """
        give_up = None if timeout is None else time.monotonic() + timeout
        cycle = self.cycle
        assert cycle is not None  # made by the virtual transport's constructor
        while True:
            if self._stopping:
                raise TimeoutError()  # the worker loop then sees its shutdown flag
            self._woken.clear()
            round_at = time.monotonic()
            try:
                cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                pass
            wait_s = self.polling_interval or 0.0
            if self._listed_at < round_at:  # it polled an older listing
                wait_s = min(wait_s, self._listed_at + LISTING_TTL_S - round_at)
            if give_up is not None:
                if give_up <= time.monotonic():
                    raise TimeoutError()  # socket.timeout, which synloop catches
                wait_s = min(wait_s, give_up - time.monotonic())
            if not self._woken.wait(max(wait_s, 0.0)):
                self._listed_at = -LISTING_TTL_S  # idle a whole wait: list afresh


_TRANSPORTS: weakref.WeakSet[Transport] = weakref.WeakSet()


def _stop_waiting(**_: Any) -> None:
    """Sent from the worker's signal handler (a warm or cold shutdown begins)."""
    for transport in list(_TRANSPORTS):
        transport.stop_waiting()


signals.worker_shutting_down.connect(_stop_waiting, weak=False)
