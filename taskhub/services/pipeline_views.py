"""A :class:`~taskhub.services.pipelines.Pipeline` as JSON, one shape for all who print it:
the REST API's answers, ``taskhub pipeline ... --json`` and the remote client's dicts."""

from __future__ import annotations

from typing import Any

from taskhub.domain.records import TaskRecord
from taskhub.domain.states import Status
from taskhub.services.pipelines import Pipeline


def pipeline_to_dict(p: Pipeline) -> dict[str, Any]:
    """``{id, name, status, created_at, counts, nodes, edges}``: ``counts`` has every task
    status (0 included); each node says which task it is, its status, whether it is
    ``blocked`` and how many parents it is ``waiting_for``; each edge is ``{node, after,
    on_failure}`` (``node`` runs after ``after``)."""
    counts = {status.value: 0 for status in Status}
    for node in p.nodes:
        counts[node.status.value] += 1
    return {
        "id": p.id,
        "name": p.name,
        "status": p.status.value,
        "created_at": p.created_at.isoformat(),
        "counts": counts,
        "nodes": [_node(node, p.waiting.get(node.node or node.id, 0)) for node in p.nodes],
        "edges": [
            {"node": child, "after": parent, "on_failure": on_failure}
            for child, parent, on_failure in p.edges
        ],
    }


def _node(record: TaskRecord, waiting_for: int) -> dict[str, Any]:
    return {
        "node": record.node or record.id,
        "task_id": record.id,
        "task": record.task_name,
        "name": record.name,
        "status": record.status.value,
        "blocked": record.blocked,
        "waiting_for": waiting_for if record.blocked else 0,
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "error": record.error.message if record.error is not None else None,
    }
