"""An ETL pipeline: extract, then one transform per batch side by side, then load.

Unlike ``multistep.nightly_etl`` (one task with three durable steps), each stage here is a task
record of its own in a pipeline: ``nightly_etl(batches)`` builds the canvas, and

    hub.pipelines.submit(hub.workspace_id, nightly_etl(5), name="nightly-etl")

records all seven nodes at once; the transforms are released when extract completes, and load
when every transform has.

Data flows through the records: load reads each transform's result with
``ctx.parent_output(...)`` (``ctx.parents`` lists them, with their status) and sums them.
"""

from __future__ import annotations

from taskhub import TaskContext, task
from taskhub.domain.canvas import Canvas, chain, chord, sig

ROWS_PER_BATCH = 10


def batch_rows(batch: int) -> list[int]:
    """The rows of one batch (a stand-in for reading them from a source)."""
    start = batch * ROWS_PER_BATCH
    return list(range(start, start + ROWS_PER_BATCH))


def transformed_total(batch: int) -> int:
    """What transforming one batch produces: its rows doubled, summed."""
    return sum(value * 2 for value in batch_rows(batch))


@task(name="etl.extract", timeout_s=600, retries=2)
def extract(ctx: TaskContext, batches: int) -> dict[str, object]:
    """Extract: find the batches to process (batch numbers 0 .. batches - 1)."""
    found = list(range(batches))
    ctx.output("batches", found)
    return {"batches": found}


@task(name="etl.transform", timeout_s=600, retries=2)
def transform(ctx: TaskContext, batch: int) -> dict[str, object]:
    """Transform one batch: double its rows and total them."""
    ctx.progress(50, f"transforming batch {batch}")
    return {"batch": batch, "rows": ROWS_PER_BATCH, "total": transformed_total(batch)}


@task(name="etl.load", timeout_s=600, retries=1)
def load(ctx: TaskContext, batches: int) -> dict[str, object]:
    """Load: sum what the transforms produced (their outputs), one total for the night."""
    results = [ctx.parent_output(parent.name) for parent in ctx.parents]
    total = sum(result["total"] for result in results)
    ctx.output("summary", {"batches": batches, "total": total})
    return {"batches": batches, "total": total}


def nightly_etl(batches: int) -> Canvas:
    """extract -> ``batches`` transforms side by side -> load (a chord after extract)."""
    if batches < 1:
        raise ValueError(f"batches must be 1 or more, got {batches}")
    transforms = [
        sig("etl.transform", {"batch": batch}, name=f"transform-{batch}")
        for batch in range(batches)
    ]
    return chain(
        sig("etl.extract", {"batches": batches}, name="extract"),
        chord(transforms, sig("etl.load", {"batches": batches}, name="load")),
    )
