"""``taskhub prune [--older-than-days N] [--dry-run]``: delete finished tasks past retention now
(beat does it every ``TASKHUB_RETENTION_INTERVAL_S``), or say what that would delete."""

from __future__ import annotations

from typing import Annotated

import typer

from taskhub.cli import render as render
from taskhub.cli.common import command, opened
from taskhub.domain.retention import MAX_BATCH_SIZE, TABLES, PruneReport

LABELS = dict(zip(TABLES, ("tasks", "steps", "attempts", "outputs", "notifications",
                           "webhook deliveries", "edges", "pipelines"), strict=True))  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``taskhub prune`` to the ``taskhub`` app."""
    command(app, "prune")(prune)


def prune(
    older_than_days: Annotated[
        float | None,
        typer.Option(
            "--older-than-days",
            help="Finished longer ago than this; default TASKHUB_RETENTION_DAYS.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, delete nothing.")] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_BATCH_SIZE,
            help="Tasks per transaction; default TASKHUB_RETENTION_BATCH_SIZE.",
        ),
    ] = None,
) -> None:
    """Delete finished tasks (completed, failed, cancelled) older than the retention, with
    their steps, attempts, outputs and notifications, in batches. A task that an unfinished
    or recent one depends on, or a node of a pipeline not all old, is kept."""
    with opened() as hub:
        report = hub.retention.prune(
            older_than_days=older_than_days, batch_size=batch_size, dry_run=dry_run
        )
    render.out().print(describe(report), soft_wrap=True)


def describe(report: PruneReport) -> str:
    """One line: ``pruned 5 tasks finished before ... (23 rows: 5 tasks, 8 steps) in 3
    batches, 0.1 s``, or ``would prune ...`` for a dry run."""
    parts = ", ".join(f"{n} {LABELS[name]}" for name, n in report.rows.items() if n)
    rows = f" ({report.total_rows} rows: {parts})" if report.total_rows else ""
    before = report.cutoff.isoformat(timespec="seconds")
    if report.dry_run:
        return f"would prune {report.tasks} tasks finished before {before}{rows}"
    took = f" in {report.batches} batches, {report.seconds:.1f} s" if report.batches else ""
    return f"pruned {report.tasks} tasks finished before {before}{rows}{took}"
