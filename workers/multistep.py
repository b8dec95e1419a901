"""A multi-step job: durable steps, so a retried or resumed run skips what already finished."""

from __future__ import annotations

from taskhub import TaskContext, task


@task(
    name="multistep.nightly_etl", timeout_s=3600, retries=1, steps=("extract", "transform", "load")
)
def nightly_etl(ctx: TaskContext, source: str, rows: int = 100) -> dict[str, object]:
    """Nightly ETL: extract, transform, load — shown as "Step 2 of 3"."""
    extracted = ctx.step("extract", lambda: list(range(rows)))
    transformed = ctx.step("transform", lambda: [value * 2 for value in extracted])
    loaded = ctx.step("load", lambda: len(transformed))
    ctx.output("summary", {"source": source, "loaded": loaded})
    return {"loaded": loaded}
