"""The pipeline picture's layout (taskhub.web.graph): layers by depth, wrapped rows, edges."""

from __future__ import annotations

import pytest

from taskhub.web.graph import NODE_H, NODE_W, depths, layout

DIAMOND_NODES = ["top", "left", "right", "join"]
DIAMOND_EDGES = [
    ("left", "top", "fail"),
    ("right", "top", "skip"),
    ("join", "left", "fail"),
    ("join", "right", "continue"),
]


def test_a_node_sits_one_layer_below_its_deepest_parent() -> None:
    nodes = ["a", "b", "c", "d"]
    edges = [("b", "a", "fail"), ("c", "b", "fail"), ("d", "a", "fail"), ("d", "c", "fail")]
    assert depths(nodes, edges) == {"a": 0, "b": 1, "c": 2, "d": 3}


def test_the_order_given_does_not_change_the_depths() -> None:
    assert depths(list(reversed(DIAMOND_NODES)), DIAMOND_EDGES) == depths(
        DIAMOND_NODES, DIAMOND_EDGES
    )


def test_a_diamond_is_three_rows_and_every_edge_points_down() -> None:
    picture = layout(DIAMOND_NODES, DIAMOND_EDGES)
    rows = {box.name: box.y for box in picture.boxes}
    assert rows["top"] < rows["left"] == rows["right"] < rows["join"]
    assert [box.name for box in picture.boxes] == DIAMOND_NODES
    for line in picture.lines:
        assert line.y2 > line.y1
    assert {(line.parent, line.child): line.dashed for line in picture.lines} == {
        ("top", "left"): False,
        ("top", "right"): True,
        ("left", "join"): False,
        ("right", "join"): True,
    }


def test_boxes_never_overlap_and_fit_in_the_picture() -> None:
    nodes = ["root", *[f"n{i}" for i in range(100)], "sink"]
    edges = [(f"n{i}", "root", "fail") for i in range(100)]
    edges += [("sink", f"n{i}", "fail") for i in range(100)]
    picture = layout(nodes, edges, per_row=10)
    spots = {(box.x, box.y) for box in picture.boxes}
    assert len(spots) == len(nodes)
    for box in picture.boxes:
        assert box.x >= 0 and box.x + NODE_W <= picture.width
        assert box.y >= 0 and box.y + NODE_H <= picture.height
    assert picture.width < 10 * (NODE_W + 40)  # wrapped: 10 a row, not 100 side by side
    assert len({box.y for box in picture.boxes}) == 12  # root, 10 rows of 10, sink


def test_an_empty_graph_is_an_empty_picture() -> None:
    picture = layout([], [])
    assert picture.boxes == () and picture.lines == () and picture.width > 0


@pytest.mark.parametrize(
    ("nodes", "edges"),
    [
        (["a", "b"], [("a", "b", "fail"), ("b", "a", "fail")]),
        (["a"], [("a", "ghost", "fail")]),
    ],
)
def test_a_cycle_or_an_unknown_node_is_refused(
    nodes: list[str], edges: list[tuple[str, str, str]]
) -> None:
    with pytest.raises(ValueError):
        layout(nodes, edges)
