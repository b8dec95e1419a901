"""A hub is a composition root with a lifetime: closing it lets go of what it connected."""

from __future__ import annotations

from pathlib import Path

from celery import signals

from taskhub import TaskHub

from ..conftest import make_settings


class BeatService:
    """What celery beat sends its beat_init signal as: a service of the hub's app."""

    def __init__(self, hub: TaskHub) -> None:
        self.app = hub.celery


def test_a_closed_hub_no_longer_answers_celery_signals(tmp_path: Path) -> None:
    hub = TaskHub(make_settings(tmp_path))
    beat = BeatService(hub)
    signals.beat_init.send(sender=beat)
    assert hub.sweeper.running, "an open hub sweeps once beat starts"
    hub.sweeper.stop()

    hub.close()
    signals.beat_init.send(sender=beat)

    assert not hub.sweeper.running
