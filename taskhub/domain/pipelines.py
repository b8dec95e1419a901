"""Pipelines: named nodes, each one task run after its parents, checked into a graph (parsed
from the JSON/YAML form, or built with :mod:`taskhub.domain.canvas`). Pure: no database, no
broker. What a node does when its parents change, and a pipeline's status, are
:mod:`taskhub.domain.dependencies`.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from taskhub.domain.errors import ValidationError

NODE_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
MAX_PIPELINE_NAME_CHARS = 200
# submission options a node passes through; their values are checked by the submission builder
OPTION_KEYS = ("name", "priority", "timeout", "retries", "retry_delay")
NODE_KEYS = ("task", "input", "options", "after")
EDGE_KEYS = ("node", "on_failure")


class OnFailure(StrEnum):
    """What a node does when the parent on this edge ends failed or cancelled."""

    FAIL = "fail"  # end at once, failed (cancelled, for a cancelled parent); never run
    SKIP = "skip"  # end at once, cancelled as skipped; never run
    CONTINUE = "continue"  # run anyway, once every parent is final


@dataclass(frozen=True, slots=True)
class Edge:
    """The node runs after ``parent``, a node of the same pipeline."""

    parent: str
    on_failure: OnFailure = OnFailure.FAIL


@dataclass(frozen=True, slots=True)
class Node:
    """One task of a pipeline. ``options`` holds only :data:`OPTION_KEYS`, values unchecked."""

    name: str
    task: str
    input: dict[str, Any]
    options: dict[str, Any]
    after: tuple[Edge, ...] = ()

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(edge.parent for edge in self.after)


@dataclass(frozen=True, slots=True)
class Graph:
    """A pipeline's nodes, parents before children (as declared, where that allows). Node
    names are unique; every edge names an earlier node (``ValueError`` otherwise)."""

    name: str
    nodes: tuple[Node, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _children: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        children: dict[str, list[str]] = {}
        for i, node in enumerate(self.nodes):
            if node.name in index:
                raise ValueError(f"node {node.name!r} is listed twice")
            for edge in node.after:
                if edge.parent not in index:
                    raise ValueError(f"node {node.name!r} comes before its parent {edge.parent!r}")
                children[edge.parent].append(node.name)
            index[node.name] = i
            children[node.name] = []
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def node(self, name: str) -> Node:
        """The node named ``name`` (``KeyError`` if there is none)."""
        return self.nodes[self._index[name]]

    def children(self, name: str) -> tuple[str, ...]:
        """The names of the nodes that run after ``name``, in graph order (``KeyError`` if
        there is no such node)."""
        return self._children[name]

    def roots(self) -> tuple[str, ...]:
        """The names of the nodes without parents, in graph order: they run first."""
        return tuple(node.name for node in self.nodes if not node.after)

    def leaves(self) -> tuple[str, ...]:
        """The names of the nodes without children, in graph order."""
        return tuple(node.name for node in self.nodes if not self._children[node.name])

    def spec(self) -> dict[str, Any]:
        """The JSON form :func:`parse_graph` reads back into an equal graph."""
        return {
            "name": self.name,
            "nodes": {
                node.name: {
                    "task": node.task,
                    "input": dict(node.input),
                    "options": dict(node.options),
                    "after": [_edge_spec(edge) for edge in node.after],
                }
                for node in self.nodes
            },
        }


def _edge_spec(edge: Edge) -> str | dict[str, str]:
    if edge.on_failure is OnFailure.FAIL:
        return edge.parent
    return {"node": edge.parent, "on_failure": edge.on_failure.value}


def parse_graph(
    spec: Mapping[str, Any], *, max_nodes: int, known_task: Callable[[str], bool]
) -> Graph:
    """The graph ``spec`` describes, ``{"name": ..., "nodes": {name: {"task", "input",
    "options", "after"}}}`` (or ``"nodes"`` as a list of such objects, each with a
    ``"name"``); an ``after`` entry is a node name or ``{"node": name, "on_failure": ...}``.
    Anything wrong raises ``ValidationError`` naming the field (``nodes.load.after``); a cycle
    is named in order on ``nodes``. Linear in nodes plus edges, up to a log factor."""
    if not isinstance(spec, Mapping):
        raise ValidationError("pipeline", f"must be a JSON object, got {_kind(spec)}")
    _known_keys(spec, ("name", "nodes"), "", "a pipeline has name, nodes")
    name = _pipeline_name(spec.get("name"))
    entries = _entries(spec.get("nodes"), max_nodes)
    nodes = [_node(node_name, body, where, listed) for node_name, body, where, listed in entries]
    _check_edges(nodes)
    return check_graph(Graph(name, _ordered(nodes)), max_nodes=max_nodes, known_task=known_task)


def check_graph(graph: Graph, *, max_nodes: int, known_task: Callable[[str], bool]) -> Graph:
    """``graph`` itself, if it has at most ``max_nodes`` nodes and each names a known task
    (for a graph built in code, e.g. by :mod:`taskhub.domain.canvas`)."""
    if len(graph.nodes) > max_nodes:
        raise ValidationError("nodes", f"at most {max_nodes} nodes, got {len(graph.nodes)}")
    for node in graph.nodes:
        if not known_task(node.task):
            raise ValidationError(f"nodes.{node.name}.task", f"unknown task {node.task!r}")
    return graph


def _pipeline_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name", "must be a non-empty string")
    if len(name.strip()) > MAX_PIPELINE_NAME_CHARS:
        raise ValidationError("name", f"is longer than {MAX_PIPELINE_NAME_CHARS} characters")
    return name.strip()


def _entries(nodes: object, max_nodes: int) -> list[tuple[str, object, str, bool]]:
    """``(name, body, field, listed)`` for each node in declared order, names checked and
    unique; ``listed``: the list form, where each body holds its name."""
    if isinstance(nodes, Mapping):
        items: list[tuple[object, object, str]] = [(k, v, "nodes") for k, v in nodes.items()]
    elif isinstance(nodes, list | tuple):
        items = [(_listed_name(body, i), body, f"nodes.{i}.name") for i, body in enumerate(nodes)]
    else:
        raise ValidationError("nodes", f"must be an object or a list of nodes, got {_kind(nodes)}")
    if not items:
        raise ValidationError("nodes", "must hold at least one node")
    if len(items) > max_nodes:
        raise ValidationError("nodes", f"at most {max_nodes} nodes, got {len(items)}")
    listed = not isinstance(nodes, Mapping)
    seen: set[str] = set()
    entries = []
    for name, body, where in items:
        if not isinstance(name, str) or not NODE_NAME.fullmatch(name):
            raise ValidationError(
                where, f"node name {_short(name)} must be 1-100 characters of A-Z a-z 0-9 . _ -"
            )
        if name in seen:
            raise ValidationError(where, f"duplicate node name {name!r}")
        seen.add(name)
        entries.append((name, body, f"nodes.{name}", listed))
    return entries


def _listed_name(body: object, i: int) -> object:
    if not isinstance(body, Mapping):
        raise ValidationError(f"nodes.{i}", f"must be a JSON object, got {_kind(body)}")
    if "name" not in body:
        raise ValidationError(f"nodes.{i}.name", "is required")
    return body["name"]


def _node(name: str, body: object, where: str, listed: bool) -> Node:
    if not isinstance(body, Mapping):
        raise ValidationError(where, f"must be a JSON object, got {_kind(body)}")
    if listed:
        _known_keys(
            body, ("name", *NODE_KEYS), where, "a node has name, task, input, options, after"
        )
    else:
        hint = "a node has task, input, options, after"
        if "name" in body:
            hint += "; its name is its key, a display name goes in options.name"
        _known_keys(body, NODE_KEYS, where, hint)
    task = body.get("task")
    if not isinstance(task, str) or not task.strip():
        raise ValidationError(f"{where}.task", f"must be a task name, got {_short(task)}")
    options = _object(body.get("options"), f"{where}.options")
    for key in options:
        if key not in OPTION_KEYS:
            raise ValidationError(
                f"{where}.options.{key}",
                f"unknown option {key!r} (one of {', '.join(OPTION_KEYS)})",
            )
    edges = _edges(body.get("after"), f"{where}.after")
    return Node(name, task, _object(body.get("input"), f"{where}.input"), options, edges)


def _object(value: object, where: str) -> dict[str, Any]:
    """A shallow copy of ``value``, a JSON object with string keys (``None`` is empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(where, f"must be a JSON object, got {_kind(value)}")
    if not all(isinstance(key, str) for key in value):
        raise ValidationError(where, "keys must be strings")
    return dict(value)


def _edges(after: object, where: str) -> tuple[Edge, ...]:
    if after is None:
        return ()
    if not isinstance(after, list | tuple):
        raise ValidationError(
            where,
            f"must be a list of node names or {{node, on_failure}} objects, got {_kind(after)}",
        )
    return tuple(_edge(entry, f"{where}.{i}") for i, entry in enumerate(after))


def _edge(entry: object, where: str) -> Edge:
    if isinstance(entry, str):
        return Edge(entry)
    if not isinstance(entry, Mapping):
        raise ValidationError(where, f"must be a node name or an object, got {_kind(entry)}")
    _known_keys(entry, EDGE_KEYS, where, "an edge has node, on_failure")
    parent = entry.get("node")
    if not isinstance(parent, str):
        raise ValidationError(f"{where}.node", f"must be a node name, got {_short(parent)}")
    on_failure = entry.get("on_failure", OnFailure.FAIL.value)
    try:
        return Edge(parent, OnFailure(on_failure))
    except ValueError:
        choices = ", ".join(choice.value for choice in OnFailure)
        raise ValidationError(
            f"{where}.on_failure", f"must be one of {choices}, got {_short(on_failure)}"
        ) from None


def _check_edges(nodes: Sequence[Node]) -> None:
    """Each edge names another node of the pipeline, at most once per node."""
    names = {node.name for node in nodes}
    for node in nodes:
        where = f"nodes.{node.name}.after"
        seen: set[str] = set()
        for edge in node.after:
            if edge.parent == node.name:
                raise ValidationError(where, f"node {node.name!r} cannot run after itself")
            if edge.parent not in names:
                raise ValidationError(where, f"unknown node {edge.parent!r}")
            if edge.parent in seen:
                raise ValidationError(where, f"{edge.parent!r} is listed twice")
            seen.add(edge.parent)


def _ordered(nodes: Sequence[Node]) -> tuple[Node, ...]:
    """``nodes`` parents first (Kahn's algorithm, the earliest declared ready node next, so a
    declared order that is already topological is kept); ``ValidationError`` on a cycle."""
    index = {node.name: i for i, node in enumerate(nodes)}
    children: list[list[int]] = [[] for _ in nodes]
    waiting = [len(node.after) for node in nodes]  # parents not yet placed
    for i, node in enumerate(nodes):
        for edge in node.after:
            children[index[edge.parent]].append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(nodes[i])
        for child in children[i]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    if len(order) < len(nodes):
        raise ValidationError("nodes", f"cycle: {' -> '.join(_cycle(nodes, index, waiting))}")
    return tuple(order)


def _cycle(nodes: Sequence[Node], index: Mapping[str, int], waiting: Sequence[int]) -> list[str]:
    """One cycle among the nodes Kahn's algorithm could not place, parent to child, from its
    earliest declared node back to it. Each such node has an unplaced parent, so walking up
    from one (a depth-first walk that never needs to back up) must come round; linear."""
    start = next(i for i, count in enumerate(waiting) if count)
    step: dict[int, int] = {}  # node -> the unplaced parent the walk went to
    at = start
    while at not in step:
        parent = next(index[e.parent] for e in nodes[at].after if waiting[index[e.parent]])
        step[at] = parent
        at = parent
    ring = [at]
    while (up := step[ring[-1]]) != at:
        ring.append(up)
    ring.reverse()  # the walk went child to parent
    first = ring.index(min(ring))
    ring = ring[first:] + ring[:first]
    return [nodes[i].name for i in [*ring, ring[0]]]


def _known_keys(body: Mapping[Any, Any], known: Sequence[str], where: str, hint: str) -> None:
    unknown = [key for key in body if key not in known]
    if unknown:
        prefix = f"{where}." if where else ""
        errors = [(f"{prefix}{key}", f"unknown key {key!r} ({hint})") for key in unknown]
        raise ValidationError(*errors[0], errors=errors)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
