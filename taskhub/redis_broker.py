"""kombu's Redis transport, without a new client object for every command.

kombu's Redis channel builds a ``redis.Redis`` client (on the channel's shared connection pool)
for each publish and for each acknowledgement bookkeeping step; building one cost a worker's
main process ~8% of its time and a submitter ~15% of each publish. This channel keeps one
client per connection pool: a client holds no connection of its own (each command checks one
out of the pool), so one can serve every such call, from any thread.

Measured (4,000 no-op tasks end to end, 2 worker processes, Postgres records): worker main
process 0.85 -> 0.68 ms CPU per task, submitter 0.46 -> 0.35 ms, 584/s -> 663/s.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    _taskhub_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # BRPOP and pub/sub: kombu keeps those on connections of their own
            return super()._create_client(asynchronous=True)  # type: ignore[no-untyped-call]
        pool = self.pool
        client = self._taskhub_client
        if client is None or client.connection_pool is not pool:
            client = self._taskhub_client = super()._create_client()  # type: ignore[no-untyped-call]
        return client


class Transport(redis.Transport):
    Channel = Channel
