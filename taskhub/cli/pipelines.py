"""``taskhub pipeline submit|show|list|cancel``: pipelines of the hub's workspace
(``TASKHUB_WORKSPACE``), through the same service as the REST API, plan included: submitting
one needs Growth or Enterprise (dependencies), reading and cancelling do not.

``submit FILE`` reads the JSON form of :func:`taskhub.domain.pipelines.parse_graph` from a
``.json`` file or the same in YAML from a ``.yaml``/``.yml`` one; a mistake in it exits 2
naming the field (``invalid nodes.load.after: unknown node 'x'``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Group
from rich.table import Table
from rich.text import Text

from taskhub.cli import render as render
from taskhub.cli.common import (
    command,
    opened,
    publish_reported_here,
    warn_if_unpublished,
    workspace_of,
)
from taskhub.services.pipeline_views import pipeline_to_dict
from taskhub.services.pipelines import Pipeline

pipeline_app = typer.Typer(
    no_args_is_help=True, help="Pipelines (graphs of tasks): submit a file, show, list, cancel."
)

PipelineId = Annotated[str, typer.Argument(help="The pipeline's id.", show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
SpecFile = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        show_default=False,
        help="The pipeline: a .json, .yaml or .yml file of {name, nodes}.",
    ),
]
STATUS_STYLES = {"running": "blue", "completed": "green", "failed": "bold red"}


def register(app: typer.Typer) -> None:
    """Add ``taskhub pipeline ...`` to the ``taskhub`` app."""
    app.add_typer(pipeline_app, name="pipeline")


def read_spec(path: Path) -> Any:
    """The file's content, parsed as JSON or YAML by its extension (exit 2 if it is neither
    or does not parse); the service checks what it holds."""
    suffix = path.suffix.lower()
    hint = f"'{path.name}'"
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            # as JSON would have it: a date YAML reads unquoted is its ISO string again
            return json.loads(json.dumps(yaml.safe_load(text), default=str))
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if suffix == ".json" else "YAML"
        message = " ".join(str(exc).split())
        raise typer.BadParameter(f"not valid {kind}: {message}", param_hint=hint) from None
    raise typer.BadParameter("must end in .json, .yaml or .yml", param_hint=hint)


@command(pipeline_app, "submit")
def submit(file: SpecFile, as_json: AsJson = False) -> None:
    """Submit the pipeline in FILE; prints its id and its nodes (roots queued, others waiting)."""
    spec = read_spec(file)
    with opened() as hub, publish_reported_here():
        pipeline = hub.pipelines.submit_checked(workspace_of(hub), spec)
    for node in pipeline.nodes:
        warn_if_unpublished(node)
    _show(pipeline, as_json)


@command(pipeline_app, "show")
def show(pipeline_id: PipelineId, as_json: AsJson = False) -> None:
    """A pipeline: its status, a table of its nodes, and the edges between them."""
    with opened() as hub:
        pipeline = hub.pipelines.get(hub.workspace_id, pipeline_id)
    _show(pipeline, as_json)


@command(pipeline_app, "list")
def list_(
    limit: Annotated[int, typer.Option(min=1, max=100)] = 25,
    skip: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """List the workspace's pipelines, newest first."""
    with opened() as hub:
        items, total = hub.pipelines.page(hub.workspace_id, limit=limit, skip=skip)
    if as_json:
        page = [pipeline_to_dict(p) for p in items]
        render.print_json({"items": page, "total": total, "limit": limit, "skip": skip})
    else:
        render.out().print(pipelines_table(items, total, skip))


@command(pipeline_app, "cancel")
def cancel(pipeline_id: PipelineId, as_json: AsJson = False) -> None:
    """Cancel every unfinished node (a running one at its next checkpoint)."""
    with opened() as hub:
        pipeline = hub.pipelines.cancel(hub.workspace_id, pipeline_id)
    _show(pipeline, as_json)


def _show(pipeline: Pipeline, as_json: bool) -> None:
    if as_json:
        render.print_json(pipeline_to_dict(pipeline))
    else:
        render.out().print(pipeline_view(pipeline))


# -- rendering ------------------------------------------------------------------------------


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, "bright_black"))


def pipeline_line(p: Pipeline) -> Text:
    """``<id>  <name>  <status>  (3 nodes: 1 completed, 2 pending)``."""
    counts = _counts(p)
    return Text.assemble((p.id, "bold"), "  ", p.name, "  ", status_text(p.status.value), counts)


def _counts(p: Pipeline) -> str:
    by_status: dict[str, int] = {}
    for node in p.nodes:
        by_status[node.status.value] = by_status.get(node.status.value, 0) + 1
    listed = ", ".join(f"{n} {status}" for status, n in by_status.items())
    return f"  ({len(p.nodes)} node{'s' if len(p.nodes) != 1 else ''}: {listed})"


def pipeline_view(p: Pipeline) -> Group:
    """The pipeline's line, its nodes (status, what each waits for, task id) and its edges."""
    nodes = Table(title="Nodes", title_justify="left")
    nodes.add_column("Node", no_wrap=True)
    nodes.add_column("Task", min_width=8)
    nodes.add_column("Status", no_wrap=True)
    nodes.add_column("Waiting", no_wrap=True)
    nodes.add_column("Task ID", no_wrap=True)
    nodes.add_column("Started", no_wrap=True)
    nodes.add_column("Finished", no_wrap=True)
    nodes.add_column("Error", min_width=8)
    for record in p.nodes:
        node = record.node or record.id
        waiting = p.waiting.get(node, 0) if record.blocked else 0
        nodes.add_row(
            Text(node),
            Text(record.task_name, no_wrap=True, overflow="ellipsis"),
            render.status_text(record.status),
            f"waiting for {waiting}" if waiting else "",
            record.id,
            render.when(record.started_at, "%m-%d %H:%M:%S"),
            render.when(record.finished_at, "%m-%d %H:%M:%S"),
            Text(record.error.message if record.error else "", style="red"),
        )
    parts: list[Table | Text] = [pipeline_line(p), nodes]
    if p.edges:
        edges = Table(title="Edges", title_justify="left")
        for column in ("Node", "Runs after", "If that fails"):
            edges.add_column(column, no_wrap=True)
        for child, parent, on_failure in p.edges:
            edges.add_row(Text(child), Text(parent), on_failure)
        parts.append(edges)
    return Group(*parts)


def pipelines_table(pipelines: list[Pipeline], total: int, skip: int) -> Table:
    first = f", from #{skip + 1}" if skip and pipelines else ""
    table = Table(caption=f"{len(pipelines)} of {total}{first}", caption_justify="left")
    table.add_column("ID", no_wrap=True)
    table.add_column("Name", min_width=6)
    table.add_column("Status", no_wrap=True)
    table.add_column("Nodes", min_width=10)
    table.add_column("Created", no_wrap=True)
    for p in pipelines:
        table.add_row(
            p.id,
            Text(p.name, no_wrap=True, overflow="ellipsis"),
            status_text(p.status.value),
            _counts(p).strip(" ()"),
            render.when(p.created_at, "%m-%d %H:%M:%S"),
        )
    return table
