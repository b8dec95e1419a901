"""Whether this process can do its work: the database and the broker answer."""

from __future__ import annotations

from taskhub.store.tasks import Store
from taskhub.worker.publisher import Dispatcher


class Health:
    def __init__(self, store: Store, publisher: Dispatcher) -> None:
        self._store = store
        self._publisher = publisher

    def checks(self) -> dict[str, bool]:
        """Each dependency, and whether it is reachable now."""
        return {"database": self._store.ping(), "broker": self._publisher.reachable()}
