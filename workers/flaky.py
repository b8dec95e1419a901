"""A flaky external call: retried with exponential backoff, except for errors that won't heal."""

from __future__ import annotations

import random

from taskhub import TaskContext, task


class ExternalServiceDown(Exception):
    """Worth retrying: the service may be back in a moment."""


class BadRequest(Exception):
    """Not worth retrying: the same request will fail the same way."""


@task(
    name="flaky.call_partner_api",
    retries=5,
    retry_delay_s=1.0,
    retry_backoff=2.0,
    dont_retry=(BadRequest,),
)
def call_partner_api(ctx: TaskContext, order_id: str, failure_rate: float = 0.5) -> str:
    """Push one order to a partner API that fails now and then."""
    if not order_id:
        raise BadRequest("order_id is empty")
    if random.random() < failure_rate:
        raise ExternalServiceDown(f"partner API unavailable (attempt {ctx.attempt})")
    return f"order {order_id} accepted"
