"""Pipelines composed in code, the way Celery's canvas composes signatures. Pure.

``sig`` makes a one-node fragment; ``chain`` runs fragments one after another, ``group`` side by
side, ``chord`` runs a body after every part of a header; ``a | b`` is ``chain(a, b)``. A
:class:`Canvas` is immutable: composing makes a new one and leaves its parts as they were.
``Canvas.graph(name)`` names the nodes and checks the result with :func:`parse_graph`'s rules,
so a canvas and the JSON form that spells the same thing give equal graphs:

    chain(sig("etl.extract"), group(sig("etl.transform"), sig("etl.transform")), sig("etl.load"))

is ``extract``, then ``transform`` and ``transform-2`` side by side, then ``load``.

Each ``sig`` is one node: composing the same one twice into a canvas is refused (call ``sig``
again for another node running the same task).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from taskhub.domain.errors import ValidationError
from taskhub.domain.pipelines import Graph, OnFailure, parse_graph

_created = itertools.count(1)  # creation order, for naming nodes that were not given a name
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
BASE_NAME_CHARS = 90  # leaves room for a "-N" suffix within a node name's 100 characters


@dataclass(frozen=True, slots=True)
class Sig:
    """One node of a canvas, before the canvas is named: ``key`` tells nodes apart (and
    orders them by creation), ``parents`` are keys of nodes of the same canvas; each edge's
    ``on_failure`` is this node's."""

    key: int
    task: str
    input: object
    options: dict[str, Any]
    name: str | None
    on_failure: OnFailure
    parents: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Canvas:
    """A fragment of a pipeline: ``nodes`` parents first, its entry nodes ``heads`` (no
    parents) and its exit nodes ``tails`` (no children), as keys of ``nodes``."""

    nodes: tuple[Sig, ...]
    heads: tuple[int, ...]
    tails: tuple[int, ...]

    def __or__(self, other: object) -> Canvas:
        if not isinstance(other, Canvas):
            return NotImplemented
        return chain(self, other)

    def graph(self, name: str) -> Graph:
        """The pipeline ``name`` of these nodes: each unnamed node is named after its task's
        last dotted part, made unique with ``-2``, ``-3``... in creation order (a name given
        to another node is never reused). ``ValidationError`` as :func:`parse_graph` raises
        it, naming the node; tasks and size are not checked (see ``check_graph``)."""
        names = _names(self.nodes)
        nodes = {
            names[node.key]: {
                "task": node.task,
                "input": node.input,
                "options": node.options,
                "after": [
                    {"node": names[parent], "on_failure": node.on_failure.value}
                    for parent in node.parents
                ],
            }
            for node in self.nodes
        }
        spec = {"name": name, "nodes": nodes}
        return parse_graph(spec, max_nodes=len(nodes), known_task=lambda _task: True)


def sig(
    task: str,
    input: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    on_failure: OnFailure | str = OnFailure.FAIL,
    display_name: str | None = None,
    **options: Any,
) -> Canvas:
    """One node running ``task`` with ``input``. ``name`` is its node name (else one is made
    from the task's name), ``on_failure`` what it does when a parent it is chained after
    fails, ``display_name`` its record's name (the ``name`` submission option); ``options``
    are the other submission options (``priority``, ``timeout``, ``retries``,
    ``retry_delay``), checked when the graph is made."""
    if not isinstance(task, str) or not task.strip():
        raise ValidationError("task", f"must be a task name, got {task!r}")
    try:
        policy = OnFailure(on_failure)
    except ValueError:
        choices = ", ".join(choice.value for choice in OnFailure)
        raise ValidationError(
            "on_failure", f"must be one of {choices}, got {on_failure!r}"
        ) from None
    if display_name is not None:
        options = {"name": display_name, **options}
    copied = dict(input) if isinstance(input, Mapping) else input
    node = Sig(next(_created), task, copied, dict(options), name, policy)
    return Canvas((node,), (node.key,), (node.key,))


def chain(*parts: Canvas | Iterable[Canvas]) -> Canvas:
    """``parts`` one after another: every tail of a part is a parent of every head of the
    next. One iterable of parts may stand for the parts, as in Celery."""
    items = _parts(parts, "chain")
    extra: dict[int, tuple[int, ...]] = {}
    for left, right in itertools.pairwise(items):
        for head in right.heads:
            extra[head] = left.tails
    nodes = tuple(
        replace(node, parents=node.parents + extra[node.key]) if node.key in extra else node
        for item in items
        for node in item.nodes
    )
    return _canvas(nodes, items[0].heads, items[-1].tails)


def group(*parts: Canvas | Iterable[Canvas]) -> Canvas:
    """``parts`` side by side: the heads of all are its heads, the tails of all its tails.
    One iterable of parts may stand for the parts, as in Celery."""
    items = _parts(parts, "group")
    return _canvas(
        tuple(node for item in items for node in item.nodes),
        tuple(head for item in items for head in item.heads),
        tuple(tail for item in items for tail in item.tails),
    )


def chord(header: Canvas | Iterable[Canvas], body: Canvas) -> Canvas:
    """``body`` after every part of ``header`` (a group, or the parts of one)."""
    return chain(header if isinstance(header, Canvas) else group(header), body)


def _parts(parts: tuple[Canvas | Iterable[Canvas], ...], kind: str) -> tuple[Canvas, ...]:
    listed = len(parts) == 1 and not isinstance(parts[0], Canvas)
    items: list[Canvas] = []
    for part in parts[0] if listed else parts:  # type: ignore[union-attr]
        if not isinstance(part, Canvas):
            raise TypeError(
                f"{kind}() takes sig(), chain(), group() or chord() parts, got {part!r}"
            )
        items.append(part)
    if not items:
        raise ValidationError("nodes", f"{kind}() needs at least one part")
    return tuple(items)


def _canvas(nodes: tuple[Sig, ...], heads: tuple[int, ...], tails: tuple[int, ...]) -> Canvas:
    seen: set[int] = set()
    for node in nodes:
        if node.key in seen:
            label = node.name or node.task
            raise ValidationError(
                "nodes", f"the same sig ({label}) is used twice; call sig() for each node"
            )
        seen.add(node.key)
    return Canvas(nodes, heads, tails)


def _names(nodes: Iterable[Sig]) -> dict[int, str]:
    """Each node's name: its own, else its task's last dotted part made unique."""
    given: dict[int, str] = {}
    taken: set[str] = set()
    unnamed: list[Sig] = []
    for node in nodes:
        if node.name is None:
            unnamed.append(node)
        elif node.name in taken:
            raise ValidationError("nodes", f"two nodes are named {node.name!r}")
        else:
            given[node.key] = node.name
            taken.add(node.name)
    tries: dict[str, int] = {}  # base name -> the next number to try (1: the bare name)
    for node in sorted(unnamed, key=lambda n: n.key):
        base = _base(node.task)
        n = tries.get(base, 1)
        while (candidate := base if n == 1 else f"{base}-{n}") in taken:
            n += 1
        tries[base] = n + 1
        taken.add(candidate)
        given[node.key] = candidate
    return given


def _base(task: str) -> str:
    """``"etl.transform"`` -> ``"transform"``, with what a node name cannot hold made ``-``."""
    last = task.rstrip(".").rsplit(".", 1)[-1]
    return _NOT_IN_NAME.sub("-", last).strip("-")[:BASE_NAME_CHARS] or "node"
