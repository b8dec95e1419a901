"""The worker's main process drops cancelled time-limit timers instead of keeping each until
it would have fired (an hour, by default): checked on kombu's own timer."""

from __future__ import annotations

from kombu.asynchronous.timer import Timer

from taskhub.domain.settings import Settings
from taskhub.worker.app import create_celery
from taskhub.worker.timers import CompactTimers, compact


def test_cancelled_timers_are_dropped_and_the_live_ones_still_fire_in_order() -> None:
    timer = Timer()
    fired: list[int] = []
    entries = [timer.call_after(100 + n, fired.append, (n,)) for n in range(1000)]
    for entry in entries[:990]:  # the tasks that ended: their time limits cancelled
        entry.cancel()
    soon = [timer.call_after(0.0, fired.append, (n,)) for n in (-2, -1)]

    assert compact(timer) == 990
    assert len(timer) == 12 and not any(e.canceled for e in soon)
    assert compact(timer) == 0

    due = iter(timer)  # as the event loop does: (seconds to wait, an entry due or None)
    for _ in range(3):
        _, entry = next(due)
        if entry is not None:
            entry()
    assert fired == [-2, -1]
    remaining = sorted(event.eta for event in timer._queue)
    assert remaining == [event.eta for event in sorted(timer._queue)]  # still a heap in order


def test_every_worker_of_the_app_compacts_its_timers() -> None:
    app = create_celery(Settings(broker_url="redis://127.0.0.1:1/0"))
    assert CompactTimers in app.steps["worker"]
