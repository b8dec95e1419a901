"""Pipelines over HTTP: submit a graph of tasks, list, read, cancel.

Each route calls one method of :class:`~taskhub.services.pipelines.Pipelines`. The body is the
JSON form :func:`taskhub.domain.pipelines.parse_graph` reads; the model below only documents
it (its fields take any JSON), so every mistake in a graph is found by the domain's parser and
is a 422 naming the field (``nodes.load.after``, ``nodes.a.input.x``). Dependencies need
Growth or Enterprise (Starter: 403). Scoped to the API key's workspace: another workspace's
pipeline is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from taskhub.api.deps import HubDep, WorkspaceDep
from taskhub.api.pages import BAD_BODY, BAD_QUERY, NEEDS_KEY, Limit, Page, Skip
from taskhub.api.problems import problems
from taskhub.domain.dependencies import PipelineStatus
from taskhub.domain.pipelines import MAX_PIPELINE_NAME_CHARS, OPTION_KEYS, OnFailure
from taskhub.domain.states import Status
from taskhub.services.pipeline_views import pipeline_to_dict
from taskhub.services.pipelines import Pipeline

router = APIRouter(tags=["pipelines"], responses=problems(NEEDS_KEY))

NOT_FOUND = {404: "No such pipeline in this workspace."}
PLAN = {403: "The workspace's plan does not include dependencies (Starter)."}

NODE_NAME_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"}
EDGE_SCHEMA = {
    "anyOf": [
        {**NODE_NAME_SCHEMA, "description": "A parent node; a failure fails this node."},
        {
            "type": "object",
            "properties": {
                "node": NODE_NAME_SCHEMA,
                "on_failure": {"type": "string", "enum": [o.value for o in OnFailure]},
            },
            "required": ["node"],
            "additionalProperties": False,
        },
    ]
}
NODE_PROPERTIES = {
    "task": {"type": "string", "minLength": 1, "description": "A registered task name."},
    "input": {"type": "object", "description": "The task's input, a JSON object."},
    "options": {
        "type": "object",
        "description": f"Submission options: {', '.join(OPTION_KEYS)}.",
        "properties": {key: {} for key in OPTION_KEYS},
        "additionalProperties": False,
    },
    "after": {
        "type": "array",
        "items": EDGE_SCHEMA,
        "description": "The nodes it runs after (none: a root, dispatched at once).",
    },
}
NODES_SCHEMA = {
    "description": "An object of nodes by name, or a list of nodes each with a `name`.",
    "anyOf": [
        {
            "type": "object",
            "minProperties": 1,
            "propertyNames": NODE_NAME_SCHEMA,
            "additionalProperties": {
                "type": "object",
                "properties": NODE_PROPERTIES,
                "required": ["task"],
                "additionalProperties": False,
            },
        },
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"name": NODE_NAME_SCHEMA, **NODE_PROPERTIES},
                "required": ["name", "task"],
                "additionalProperties": False,
            },
        },
    ],
}
NAME_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_PIPELINE_NAME_CHARS}


class PipelineIn(BaseModel):
    """A graph of tasks: ``{"name": ..., "nodes": {"extract": {"task": ..., "input": {...},
    "options": {...}, "after": ["x", {"node": "y", "on_failure": "skip"}]}}}``. A node with
    no ``after`` is a root, dispatched at once; the others wait, ``blocked``, for their
    parents. ``on_failure`` (a parent failed or was cancelled): ``fail`` (the default), ``skip``
    or ``continue``."""

    model_config = ConfigDict(extra="allow")  # the domain's parser names an unknown key

    name: Annotated[Any, WithJsonSchema(NAME_SCHEMA)]
    nodes: Annotated[Any, WithJsonSchema(NODES_SCHEMA)]

    def spec(self) -> dict[str, Any]:
        return self.model_dump()


class NodeOut(BaseModel):
    node: str = Field(description="The node's name in the pipeline.")
    task_id: str
    task: str = Field(description="The registered task it runs.")
    name: str = Field(description="The task's display name.")
    status: Status
    blocked: bool = Field(description="Pending until its parents allow it.")
    waiting_for: int = Field(description="How many of its parents are not final yet.")
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(description="Its error's message, if it failed or was ended.")


class EdgeOut(BaseModel):
    node: str = Field(description="The node that runs after `after`.")
    after: str
    on_failure: OnFailure


class PipelineOut(BaseModel):
    id: str
    name: str
    status: PipelineStatus = Field(
        description="running while a node is not final; then completed, failed or cancelled."
    )
    created_at: datetime
    counts: dict[str, int] = Field(description="How many nodes have each task status.")
    nodes: list[NodeOut] = Field(description="Parents before children.")
    edges: list[EdgeOut]

    @classmethod
    def of(cls, p: Pipeline) -> PipelineOut:
        return cls.model_validate(pipeline_to_dict(p))


@router.get("/pipelines", responses=problems(BAD_QUERY))
def list_pipelines(
    hub: HubDep, workspace: WorkspaceDep, limit: Limit = 25, skip: Skip = 0
) -> Page[PipelineOut]:
    """The workspace's pipelines, newest first."""
    items, total = hub.pipelines.page(workspace.id, limit=limit, skip=skip)
    return Page(items=[PipelineOut.of(p) for p in items], total=total, limit=limit, skip=skip)


@router.post("/pipelines", status_code=201, responses=problems(BAD_BODY, PLAN))
def submit_pipeline(
    body: PipelineIn, hub: HubDep, workspace: WorkspaceDep, response: Response
) -> PipelineOut:
    """Check the graph, record every node (those with parents `blocked`) and dispatch the
    roots. A bad graph (a cycle, an unknown node or task, bad input) writes nothing."""
    pipeline = hub.pipelines.submit_checked(workspace, body.spec())
    response.headers["Location"] = f"/api/v1/pipelines/{pipeline.id}"
    return PipelineOut.of(pipeline)


@router.get("/pipelines/{pipeline_id}", responses=problems(NOT_FOUND))
def get_pipeline(pipeline_id: str, hub: HubDep, workspace: WorkspaceDep) -> PipelineOut:
    """One pipeline: its status, each node's task and status, and the edges."""
    return PipelineOut.of(hub.pipelines.get(workspace.id, pipeline_id))


@router.post("/pipelines/{pipeline_id}/cancel", responses=problems(NOT_FOUND))
def cancel_pipeline(pipeline_id: str, hub: HubDep, workspace: WorkspaceDep) -> PipelineOut:
    """Cancel every unfinished node (a running one at its next checkpoint); finished nodes
    stay as they are. Any plan."""
    return PipelineOut.of(hub.pipelines.cancel(workspace.id, pipeline_id))
