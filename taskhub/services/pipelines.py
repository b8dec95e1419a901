"""Pipelines: a graph of tasks submitted in one call, each node a task record from the start.

A node with parents is recorded ``blocked`` ("waiting for N tasks") and released by
:class:`taskhub.services.dependencies.Dependencies` once its parents' records allow it; roots
are published at once. The whole pipeline — its row, every node and every edge — is written
in one transaction, after the graph was checked (cycles, unknown nodes or tasks, too many
nodes, each node's input and options): a bad graph writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from taskhub.domain.canvas import Canvas
from taskhub.domain.clock import now
from taskhub.domain.dependencies import PipelineStatus, pipeline_status
from taskhub.domain.errors import TransitionError, ValidationError
from taskhub.domain.pipelines import Graph, Node, check_graph, parse_graph
from taskhub.domain.plans import Feature, require
from taskhub.domain.records import NewTask, TaskRecord, Workspace
from taskhub.domain.registry import TaskDefinition
from taskhub.domain.submissions import Submission
from taskhub.services.tasks import Tasks
from taskhub.store.edges import EdgeStore, PipelineRow

MAX_PAGE = 100


@dataclass(frozen=True)
class Pipeline:
    """A pipeline as people see it: its status from its nodes' records, and the nodes."""

    id: str
    workspace_id: str
    name: str
    created_at: datetime
    status: PipelineStatus
    nodes: tuple[TaskRecord, ...]  # parents before children
    edges: tuple[tuple[str, str, str], ...]  # (child node, parent node, on_failure)
    waiting: Mapping[str, int]  # node -> how many parents it still waits for


class Pipelines:
    def __init__(
        self,
        edges: EdgeStore,
        tasks: Tasks,
        definitions: Mapping[str, TaskDefinition],
        *,
        max_nodes: int,
    ) -> None:
        self._edges = edges
        self._tasks = tasks
        self._definitions = definitions
        self._max_nodes = max_nodes

    def submit(
        self, workspace_id: str, graph: Graph | Canvas | Mapping[str, Any], *, name: str = ""
    ) -> Pipeline:
        """Check ``graph`` (a :class:`Graph`, a canvas, or the JSON form), record the pipeline
        and all its nodes, publish its roots."""
        checked = self._checked(graph, name)
        pipeline = PipelineRow(str(uuid.uuid4()), workspace_id, checked.name, now())
        news = self._nodes(workspace_id, pipeline.id, checked)
        ids = {new.node: new.id for new in news}
        edges = [
            (ids[node.name], ids[edge.parent], edge.on_failure.value)
            for node in checked.nodes
            for edge in node.after
        ]
        self._edges.add_pipeline(pipeline, news, edges)
        self._tasks.publish([new.as_record() for new in news if not new.blocked])
        return self.get(workspace_id, pipeline.id)

    def submit_checked(
        self, workspace: Workspace, graph: Graph | Canvas | Mapping[str, Any], *, name: str = ""
    ) -> Pipeline:
        """:meth:`submit` on behalf of ``workspace``: dependencies need its plan to allow them."""
        require(workspace, Feature.DEPENDENCIES)
        return self.submit(workspace.id, graph, name=name)

    def get(self, workspace_id: str, pipeline_id: str) -> Pipeline:
        return self._views([self._edges.pipeline(workspace_id, pipeline_id)])[0]

    def _views(self, rows: Sequence[PipelineRow]) -> list[Pipeline]:
        """The pipelines of ``rows`` with their nodes, edges and waits: three reads for all."""
        if not rows:
            return []
        ids = [row.id for row in rows]
        nodes = self._edges.nodes(ids)
        names = {n.id: (pid, n.node or n.id) for pid, found in nodes.items() for n in found}
        edges: dict[str, list[tuple[str, str, str]]] = {pipeline_id: [] for pipeline_id in ids}
        for child, parent, on_failure in self._edges.node_edges(ids):
            pipeline_id, child_name = names[child]
            edges[pipeline_id].append((child_name, names[parent][1], on_failure))
        blocked = [n.id for found in nodes.values() for n in found if n.blocked]
        waiting: dict[str, dict[str, int]] = {pipeline_id: {} for pipeline_id in ids}
        for task_id, count in (self._edges.waiting_on(blocked) if blocked else {}).items():
            pipeline_id, name = names[task_id]
            waiting[pipeline_id][name] = count
        return [
            Pipeline(
                row.id,
                row.workspace_id,
                row.name,
                row.created_at,
                pipeline_status(node.status.value for node in nodes[row.id]),
                tuple(nodes[row.id]),
                tuple(edges[row.id]),
                waiting[row.id],
            )
            for row in rows
        ]

    def page(
        self, workspace_id: str, *, limit: int = 25, skip: int = 0
    ) -> tuple[list[Pipeline], int]:
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
        if skip < 0:
            raise ValidationError("skip", f"must be 0 or more, got {skip}")
        rows, total = self._edges.pipelines(workspace_id, limit=limit, skip=skip)
        return self._views(rows), total

    def cancel(self, workspace_id: str, pipeline_id: str) -> Pipeline:
        """Cancel every unfinished node (a running one at its next checkpoint)."""
        for node in reversed(self.get(workspace_id, pipeline_id).nodes):
            if not node.status.is_final:
                with suppress(TransitionError):  # it finished, or its parents ended it
                    self._tasks.cancel(workspace_id, node.id)
        return self.get(workspace_id, pipeline_id)

    # -- building --------------------------------------------------------------------------

    def _checked(self, graph: Graph | Canvas | Mapping[str, Any], name: str) -> Graph:
        known = self._definitions.__contains__
        if isinstance(graph, Canvas):
            graph = graph.graph(name or "pipeline")
        if isinstance(graph, Graph):
            return check_graph(graph, max_nodes=self._max_nodes, known_task=known)
        if not isinstance(graph, Mapping):
            raise ValidationError("pipeline", "must be an object with a name and nodes")
        return parse_graph(graph, max_nodes=self._max_nodes, known_task=known)

    def _nodes(self, workspace_id: str, pipeline_id: str, graph: Graph) -> list[NewTask]:
        """The nodes' records, in graph order (parents first). That is the order they are
        read back in (by ``created_at``): each is recorded a microsecond after the one before,
        so nodes built within one clock tick keep it too."""
        news = []
        at = now()
        for position, node in enumerate(graph.nodes):
            new = self._node(workspace_id, node)
            news.append(
                replace(
                    new,
                    created_at=at + timedelta(microseconds=position),
                    pipeline_id=pipeline_id,
                    node=node.name,
                    blocked=bool(node.after),
                    has_dependents=bool(graph.children(node.name)),
                )
            )
        return news

    def _node(self, workspace_id: str, node: Node) -> NewTask:
        options = node.options
        ask = Submission(
            name=options.get("name") or node.name,
            priority=options.get("priority"),
            timeout=options.get("timeout"),
            retries=options.get("retries"),
            retry_delay=options.get("retry_delay"),
        )
        try:
            return self._tasks.build(workspace_id, node.task, node.input, ask)
        except ValidationError as exc:
            where = f"nodes.{node.name}"
            errors = [(f"{where}.{field}", message) for field, message in exc.errors]
            raise ValidationError(errors[0][0], errors[0][1], errors=errors) from None
