"""The ETL pipeline example (workers/etl_pipeline.py): the graph it builds, and its figures."""

from __future__ import annotations

import pytest

from taskhub.domain.pipelines import Edge
from workers.etl_pipeline import batch_rows, nightly_etl, transformed_total


def test_nightly_etl_of_5_is_extract_then_5_transforms_then_load() -> None:
    graph = nightly_etl(5).graph("nightly-etl")
    transforms = [f"transform-{i}" for i in range(5)]
    assert [n.name for n in graph.nodes] == ["extract", *transforms, "load"]
    by_name = {n.name: n for n in graph.nodes}
    assert by_name["extract"].task == "etl.extract" and by_name["extract"].after == ()
    assert by_name["extract"].input == {"batches": 5}
    for i, name in enumerate(transforms):
        assert by_name[name].task == "etl.transform"
        assert by_name[name].input == {"batch": i}
        assert by_name[name].after == (Edge("extract"),)
    assert by_name["load"].task == "etl.load" and by_name["load"].input == {"batches": 5}
    assert by_name["load"].after == tuple(Edge(name) for name in transforms)
    edges = {(n.name, e.parent) for n in graph.nodes for e in n.after}
    assert len(edges) == 10
    assert graph.children("extract") == tuple(transforms)
    assert graph.children("load") == ()


def test_the_totals_load_sums_are_the_transforms_own() -> None:
    assert batch_rows(1) == list(range(10, 20))
    assert transformed_total(1) == 2 * sum(range(10, 20))


def test_a_pipeline_needs_a_batch() -> None:
    with pytest.raises(ValueError, match="batches"):
        nightly_etl(0)
