"""Where a pipeline's picture puts each node: layers by depth, wide layers wrapped. Pure.

A node's depth is its longest path from a root (a node with no parents), so every edge points
down. A layer holds the nodes of one depth, in the order given (the pipeline's, parents
first); a layer wider than ``per_row`` wraps onto more rows, so a 100-node fan-out stays a
readable block instead of one very wide line. Coordinates are pixels of the SVG the page draws.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

NODE_W = 160
NODE_H = 36
GAP_X = 24
GAP_Y = 56  # between rows; a row wrapped from the same layer sits closer
WRAP_GAP_Y = 20
MARGIN = 16
PER_ROW = 8
DASHED = frozenset({"skip", "continue"})  # edge policies drawn dashed: the child may still run


@dataclass(frozen=True, slots=True)
class Box:
    """A node's rectangle: top-left corner ``(x, y)``, :data:`NODE_W` by :data:`NODE_H`."""

    name: str
    depth: int
    x: int
    y: int

    @property
    def center_x(self) -> int:
        return self.x + NODE_W // 2


@dataclass(frozen=True, slots=True)
class Line:
    """An edge from the parent's bottom to the child's top."""

    parent: str
    child: str
    x1: int
    y1: int
    x2: int
    y2: int
    dashed: bool


@dataclass(frozen=True, slots=True)
class Layout:
    boxes: tuple[Box, ...]
    lines: tuple[Line, ...]
    width: int
    height: int


def depths(nodes: Sequence[str], edges: Sequence[tuple[str, str, str]]) -> dict[str, int]:
    """Each node's longest distance from a root. ``edges`` are ``(child, parent, policy)``;
    ``ValueError`` for an edge naming an unknown node, or a cycle."""
    children: dict[str, list[str]] = {name: [] for name in nodes}
    waiting = dict.fromkeys(nodes, 0)
    for child, parent, _ in edges:
        if child not in children or parent not in children:
            raise ValueError(f"edge {parent!r} -> {child!r} names an unknown node")
        children[parent].append(child)
        waiting[child] += 1
    found = {name: 0 for name in nodes if not waiting[name]}
    ready = deque(found)
    while ready:  # Kahn's order: a node is placed once all its parents are
        parent = ready.popleft()
        for child in children[parent]:
            found[child] = max(found.get(child, 0), found[parent] + 1)
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
    if any(waiting.values()):
        raise ValueError("the graph has a cycle")
    return found


def layout(
    nodes: Sequence[str], edges: Sequence[tuple[str, str, str]], *, per_row: int = PER_ROW
) -> Layout:
    """Boxes for ``nodes`` (names, in order) and lines for ``edges`` (``(child, parent,
    policy)``): layers top to bottom by depth, each row centred, at most ``per_row`` a row."""
    if per_row < 1:
        raise ValueError("per_row must be at least 1")
    depth = depths(nodes, edges)
    layers: dict[int, list[str]] = {}
    for name in nodes:
        layers.setdefault(depth[name], []).append(name)
    rows = [
        (d, layer[i : i + per_row])
        for d, layer in sorted(layers.items())
        for i in range(0, len(layer), per_row)
    ]
    widest = max((len(row) for _, row in rows), default=0)
    width = 2 * MARGIN + widest * NODE_W + max(0, widest - 1) * GAP_X
    boxes: dict[str, Box] = {}
    y = MARGIN
    for i, (d, row) in enumerate(rows):
        if i:
            y += NODE_H + (WRAP_GAP_Y if rows[i - 1][0] == d else GAP_Y)
        row_width = len(row) * NODE_W + (len(row) - 1) * GAP_X
        x = (width - row_width) // 2
        for name in row:
            boxes[name] = Box(name, d, x, y)
            x += NODE_W + GAP_X
    height = (y + NODE_H + MARGIN) if rows else 2 * MARGIN
    lines = tuple(_line(boxes[parent], boxes[child], policy) for child, parent, policy in edges)
    return Layout(tuple(boxes[name] for name in nodes), lines, width, height)


def _line(parent: Box, child: Box, policy: str) -> Line:
    return Line(
        parent.name,
        child.name,
        parent.center_x,
        parent.y + NODE_H,
        child.center_x,
        child.y,
        policy in DASHED,
    )
