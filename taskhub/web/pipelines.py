"""Pipelines: the list (newest first, paged) and one pipeline's page — its graph as an inline
SVG (laid out by :mod:`taskhub.web.graph`, each node coloured as its status badge, linked to
its task) and a table of its nodes. The graph region follows its tasks live: ``static/
follow.js`` turns a ``taskhub-task`` event for one of them into a re-fetch of
``/pipelines/ID/graph`` (at most one each half second, the last change never dropped).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taskhub.domain.errors import NotFoundError
from taskhub.domain.records import TaskRecord
from taskhub.domain.states import Status
from taskhub.hub import TaskHub
from taskhub.services.pipelines import Pipeline
from taskhub.web import graph
from taskhub.web.common import HubDep, Viewer, ViewerDep, not_found, page
from taskhub.web.pager import PagerDep

router = APIRouter(include_in_schema=False)


def node_name(record: TaskRecord) -> str:
    return record.node or record.id


def by_status(pipeline: Pipeline) -> list[tuple[Status, int]]:
    """How many nodes are in each status, in the state machine's order; none left out as 0."""
    counts = Counter(node.status for node in pipeline.nodes)
    return [(status, counts[status]) for status in Status if counts[status]]


def picture(pipeline: Pipeline) -> dict[str, Any]:
    """What the graph fragment draws: the layout, each node's record and wait."""
    nodes = {node_name(node): node for node in pipeline.nodes}
    return {
        "pipeline": pipeline,
        "layout": graph.layout(list(nodes), pipeline.edges),
        "nodes": nodes,
        "waiting": {
            name: pipeline.waiting.get(name, 0) if node.blocked else 0
            for name, node in nodes.items()
        },
        "follow": " ".join(node.id for node in pipeline.nodes),
        "node_h": graph.NODE_H,
        "node_w": graph.NODE_W,
    }


@router.get("/pipelines")
def pipelines(request: Request, hub: HubDep, viewer: ViewerDep, pager: PagerDep) -> HTMLResponse:
    items, total = hub.pipelines.page(viewer.workspace.id, limit=pager.limit, skip=pager.skip)
    context = {
        "viewer": viewer,
        "pipelines": [(p, by_status(p)) for p in items],
        **pager.links(len(items), total),
    }
    return page(request, "pipelines.html", context)


@router.get("/pipelines/{pipeline_id}")
def pipeline_page(
    request: Request, hub: HubDep, viewer: ViewerDep, pipeline_id: str
) -> HTMLResponse:
    return _render(request, hub, viewer, pipeline_id, "pipeline.html")


@router.get("/pipelines/{pipeline_id}/graph")
def pipeline_graph(
    request: Request, hub: HubDep, viewer: ViewerDep, pipeline_id: str
) -> HTMLResponse:
    """The graph and node table alone: what the page re-fetches when one of its tasks changes."""
    return _render(request, hub, viewer, pipeline_id, "_pipeline_graph.html")


def _render(
    request: Request, hub: TaskHub, viewer: Viewer, pipeline_id: str, template: str
) -> HTMLResponse:
    try:
        pipeline = hub.pipelines.get(viewer.workspace.id, pipeline_id)
    except NotFoundError:
        return not_found(request, "pipeline", pipeline_id)
    context = {"viewer": viewer, "counts": by_status(pipeline), **picture(pipeline)}
    return page(request, template, context)
