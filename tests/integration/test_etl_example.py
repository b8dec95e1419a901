"""The ETL pipeline example run by a real worker that imports ``workers``: extract, five
transforms after it, load after all of them, and load's total is the transforms' sum."""

from __future__ import annotations

import json

from taskhub import Settings, Status
from taskhub.domain.dependencies import PipelineStatus
from workers.etl_pipeline import nightly_etl, transformed_total

from ..conftest import own_queue
from ..support import running_worker, wait_for


def test_the_nightly_etl_pipeline_runs_to_completion(settings: Settings) -> None:
    hub, queue = own_queue(settings)
    assert "workers" in queue.imports  # what the worker process imports
    submitted = hub.pipelines.submit(hub.workspace_id, nightly_etl(5), name="nightly-etl")
    assert len(submitted.nodes) == 7 and submitted.waiting["load"] == 5

    with running_worker(queue, name="etl", concurrency=2):

        def done() -> object:
            found = hub.pipelines.get(hub.workspace_id, submitted.id)
            return found if found.status is not PipelineStatus.RUNNING else None

        wait_for(done, timeout_s=60, what="the ETL pipeline to finish")
    finished = hub.pipelines.get(hub.workspace_id, submitted.id)
    assert finished.status is PipelineStatus.COMPLETED
    nodes = {n.node: n for n in finished.nodes}
    assert {n.status for n in nodes.values()} == {Status.COMPLETED}
    extract, load = nodes["extract"], nodes["load"]
    for i in range(5):
        transform = nodes[f"transform-{i}"]
        assert extract.finished_at and transform.started_at and transform.finished_at
        assert extract.finished_at <= transform.started_at
        assert load.started_at and transform.finished_at <= load.started_at
    summary = json.loads(hub.output(load.id, "summary").content)
    assert summary == {"batches": 5, "total": sum(transformed_total(i) for i in range(5))}
    hub.close()
