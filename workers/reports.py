"""A report: one task, a few named outputs, progress a person can read."""

from __future__ import annotations

from taskhub import TaskContext, task


@task(name="reports.daily_sales", timeout_s=600, retries=2, priority=6)
def daily_sales(ctx: TaskContext, region: str, day: str = "yesterday") -> dict[str, object]:
    """Daily sales report for one region."""
    ctx.progress(10, f"querying sales for {region}")
    rows = [{"sku": f"SKU-{n}", "units": n * 3, "region": region} for n in range(1, 6)]
    ctx.progress(70, "rendering")
    lines = ["sku,units"] + [f"{row['sku']},{row['units']}" for row in rows]
    ctx.output("report.csv", "\n".join(lines) + "\n")
    total = sum(int(str(row["units"])) for row in rows)
    return {"region": region, "day": day, "total_units": total}
