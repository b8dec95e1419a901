"""Pipelines, the pure rules: graphs from the JSON form and from canvas composition, every
refused graph naming its field, what a node does when its parents change, and the pipeline's
status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from taskhub.domain.canvas import chain, chord, group, sig
from taskhub.domain.dependencies import (
    PipelineStatus,
    Verdict,
    pipeline_status,
    propagate,
    verdict,
)
from taskhub.domain.errors import ValidationError
from taskhub.domain.pipelines import Edge, Graph, Node, OnFailure, check_graph, parse_graph

FAIL, SKIP, CONTINUE = OnFailure.FAIL, OnFailure.SKIP, OnFailure.CONTINUE
TASKS = {"etl.extract", "etl.transform", "etl.load", "t", "load", "a", "b", "c", "d"}


def parse(spec: dict[str, Any], max_nodes: int = 1000) -> Graph:
    return parse_graph(spec, max_nodes=max_nodes, known_task=TASKS.__contains__)


def refused(call: Callable[[], object]) -> str:
    """The ``field: message`` of the ValidationError ``call`` raises."""
    with pytest.raises(ValidationError) as caught:
        call()
    return str(caught.value)


def node(name: str, task: str, *after: Edge, **input: Any) -> Node:
    return Node(name, task, dict(input), {}, tuple(after))


# -- graphs, built both ways


def test_a_chain_of_three_runs_each_node_after_the_one_before() -> None:
    expected = Graph(
        "nightly-etl",
        (
            node("extract", "etl.extract"),
            node("transform", "etl.transform", Edge("extract")),
            node("load", "etl.load", Edge("transform")),
        ),
    )
    spec = {
        "name": "nightly-etl",
        "nodes": {
            "extract": {"task": "etl.extract"},
            "transform": {"task": "etl.transform", "after": ["extract"]},
            "load": {"task": "etl.load", "after": ["transform"]},
        },
    }
    parts = (sig("etl.extract"), sig("etl.transform"), sig("etl.load"))
    piped = (sig("etl.extract") | sig("etl.transform") | sig("etl.load")).graph("nightly-etl")

    assert parse(spec) == expected
    assert chain(*parts).graph("nightly-etl") == expected
    assert piped == expected
    assert expected.roots() == ("extract",)
    assert expected.leaves() == ("load",)
    assert expected.children("extract") == ("transform",)
    assert expected.children("load") == ()
    assert expected.node("load").parents == ("transform",)


def test_a_diamond_fans_out_after_a_and_joins_before_d() -> None:
    graph = chain(sig("a"), group(sig("b"), sig("c")), sig("d")).graph("diamond")

    assert graph == Graph(
        "diamond",
        (
            node("a", "a"),
            node("b", "b", Edge("a")),
            node("c", "c", Edge("a")),
            node("d", "d", Edge("b"), Edge("c")),
        ),
    )
    assert graph.children("a") == ("b", "c")
    assert graph.roots() == ("a",)
    assert graph.leaves() == ("d",)
    assert parse(graph.spec()) == graph


def test_a_fan_out_fan_in_of_100_is_the_same_graph_from_canvas_and_from_json() -> None:
    names = ["t", *(f"t-{i}" for i in range(2, 101))]
    spec = {
        "name": "fan",
        "nodes": {
            **{name: {"task": "t", "input": {"i": i}} for i, name in enumerate(names)},
            "load": {"task": "load", "after": names},
        },
    }

    from_canvas = chord([sig("t", {"i": i}) for i in range(100)], sig("load")).graph("fan")

    assert from_canvas == parse(spec)
    assert len(from_canvas.nodes) == 101
    assert from_canvas.roots() == tuple(names)
    assert from_canvas.leaves() == ("load",)
    assert from_canvas.node("t-100").input == {"i": 99}
    assert from_canvas.node("load").parents == tuple(names)
    assert from_canvas.children("t-57") == ("load",)


def test_a_chord_header_may_be_a_group_and_a_chained_edge_takes_the_right_nodes_policy() -> None:
    header = group(sig("etl.transform"), sig("etl.transform"))
    graph = chord(header, sig("etl.load", on_failure="continue")).graph("p")

    assert graph.node("load").after == (
        Edge("transform", CONTINUE),
        Edge("transform-2", CONTINUE),
    )
    assert graph.spec()["nodes"]["load"]["after"] == [
        {"node": "transform", "on_failure": "continue"},
        {"node": "transform-2", "on_failure": "continue"},
    ]


def test_unnamed_nodes_take_their_tasks_last_part_made_unique_in_creation_order() -> None:
    first, second = sig("etl.transform"), sig("etl.transform")
    third = sig("etl.transform")
    given = sig("etl.transform", name="transform-2")

    graph = chain(second, group(third, first), given).graph("p")

    assert [n.name for n in graph.nodes] == [
        "transform-3",
        "transform-4",
        "transform",
        "transform-2",
    ]
    assert chain(sig("my tasks:do it"), sig("etl.")).graph("p").roots() == ("my-tasks-do-it",)


def test_sig_options_and_input_pass_through_to_the_node() -> None:
    source = {"day": "2026-03-01"}
    extract = sig("etl.extract", source, display_name="Extract", priority=7, retries=2)
    source["day"] = "changed later"

    graph = extract.graph("p")

    assert graph.nodes == (
        Node(
            "extract",
            "etl.extract",
            {"day": "2026-03-01"},
            {"name": "Extract", "priority": 7, "retries": 2},
        ),
    )
    assert refused(lambda: sig("t", colour="red").graph("p")) == (
        "nodes.t.options.colour: unknown option 'colour' "
        "(one of name, priority, timeout, retries, retry_delay)"
    )


def test_the_json_form_takes_nodes_as_a_list_of_named_objects() -> None:
    spec = {
        "name": "nightly-etl",
        "nodes": [
            {"name": "extract", "task": "etl.extract", "input": {"day": "mon"}},
            {"name": "load", "task": "etl.load", "after": [{"node": "extract"}]},
        ],
    }

    assert parse(spec) == Graph(
        "nightly-etl",
        (
            node("extract", "etl.extract", day="mon"),
            node("load", "etl.load", Edge("extract")),
        ),
    )


def test_declared_order_is_kept_where_parents_come_first_and_fixed_where_not() -> None:
    spec = {
        "name": "p",
        "nodes": {
            "load": {"task": "load", "after": ["b", {"node": "a", "on_failure": "skip"}]},
            "b": {"task": "b", "after": ["a"]},
            "c": {"task": "c"},
            "a": {"task": "a"},
        },
    }

    graph = parse(spec)

    assert [n.name for n in graph.nodes] == ["c", "a", "b", "load"]
    assert graph.node("load").after == (Edge("b"), Edge("a", SKIP))
    assert graph.roots() == ("c", "a")
    assert graph.leaves() == ("c", "load")
    assert parse(graph.spec()) == graph


def test_a_thousand_nodes_parse_in_one_pass() -> None:
    """Each node after the two before it: 1,000 nodes and ~2,000 edges (linear algorithms
    keep this in milliseconds; no timing is asserted)."""
    nodes = {
        f"n{i}": {"task": "t", "after": [f"n{j}" for j in (i - 1, i - 2) if j >= 0]}
        for i in range(1000)
    }
    graph = parse({"name": "big", "nodes": nodes})

    assert len(graph.nodes) == 1000
    assert graph.children("n500") == ("n501", "n502")
    decided = propagate(graph, {"n0": "failed"})
    assert decided["n999"] == Verdict("fail", "upstream task n998 failed")

    ring = {f"n{i}": {"task": "t", "after": [f"n{(i - 1) % 1000}"]} for i in range(1000)}
    message = refused(lambda: parse({"name": "ring", "nodes": ring}))
    assert message.startswith("nodes: cycle: n0 -> n1 -> n2 -> ")
    assert message.endswith(" -> n998 -> n999 -> n0")


def test_a_graph_built_by_hand_must_list_parents_first() -> None:
    with pytest.raises(ValueError, match="node 'b' comes before its parent 'a'"):
        Graph("p", (node("b", "b", Edge("a")), node("a", "a")))
    with pytest.raises(ValueError, match="node 'a' is listed twice"):
        Graph("p", (node("a", "a"), node("a", "b")))


def test_check_graph_limits_size_and_tasks_of_a_canvas_built_graph() -> None:
    graph = chain(sig("etl.extract"), sig("etl.nope")).graph("p")

    assert refused(lambda: check_graph(graph, max_nodes=1, known_task=TASKS.__contains__)) == (
        "nodes: at most 1 nodes, got 2"
    )
    assert refused(lambda: check_graph(graph, max_nodes=9, known_task=TASKS.__contains__)) == (
        "nodes.nope.task: unknown task 'etl.nope'"
    )


# -- refused graphs, each naming its field


def spec_of(**nodes: Any) -> dict[str, Any]:
    return {"name": "p", "nodes": nodes}


LONG = "x" * 101


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            spec_of(a={"task": "a"}, load={"task": "load", "after": ["a", "transform-9"]}),
            "nodes.load.after: unknown node 'transform-9'",
        ),
        (
            spec_of(
                d={"task": "d", "after": ["b"]},
                a={"task": "a", "after": ["c"]},
                b={"task": "b", "after": ["a"]},
                c={"task": "c", "after": ["b"]},
            ),
            "nodes: cycle: a -> b -> c -> a",
        ),
        (spec_of(x={"task": "etl.nope"}), "nodes.x.task: unknown task 'etl.nope'"),
        (spec_of(x={"input": {}}), "nodes.x.task: must be a task name, got None"),
        (spec_of(**{f"n{i}": {"task": "t"} for i in range(5)}), "nodes: at most 4 nodes, got 5"),
        (spec_of(), "nodes: must hold at least one node"),
        ({"name": "p", "nodes": []}, "nodes: must hold at least one node"),
        ({"name": "p"}, "nodes: must be an object or a list of nodes, got null"),
        ({"nodes": {"a": {"task": "a"}}}, "name: must be a non-empty string"),
        (["a"], "pipeline: must be a JSON object, got list"),
        (
            {"name": "p", "nodes": {"a": {"task": "a"}}, "retries": 3},
            "retries: unknown key 'retries' (a pipeline has name, nodes)",
        ),
        (
            spec_of(**{"has space": {"task": "a"}}),
            "nodes: node name 'has space' must be 1-100 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            spec_of(**{LONG: {"task": "a"}}),
            f"nodes: node name '{'x' * 56}... must be 1-100 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            {"name": "p", "nodes": [{"name": "a", "task": "a"}, {"name": "a", "task": "b"}]},
            "nodes.1.name: duplicate node name 'a'",
        ),
        (
            {"name": "p", "nodes": [{"name": "a", "task": "a"}, {"task": "b"}]},
            "nodes.1.name: is required",
        ),
        (
            {"name": "p", "nodes": [{"name": "", "task": "a"}]},
            "nodes.0.name: node name '' must be 1-100 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            spec_of(a={"task": "a", "after": ["a"]}),
            "nodes.a.after: node 'a' cannot run after itself",
        ),
        (
            spec_of(
                a={"task": "a"},
                b={"task": "b", "after": ["a", {"node": "a", "on_failure": "skip"}]},
            ),
            "nodes.b.after: 'a' is listed twice",
        ),
        (
            spec_of(a={"task": "a"}, b={"task": "b", "after": [{"node": "a", "on_failure": "x"}]}),
            "nodes.b.after.0.on_failure: must be one of fail, skip, continue, got 'x'",
        ),
        (
            spec_of(a={"task": "a"}, b={"task": "b", "after": [{"on_failure": "skip"}]}),
            "nodes.b.after.0.node: must be a node name, got None",
        ),
        (
            spec_of(a={"task": "a"}, b={"task": "b", "after": ["a", 7]}),
            "nodes.b.after.1: must be a node name or an object, got int",
        ),
        (
            spec_of(a={"task": "a"}, b={"task": "b", "after": "a"}),
            "nodes.b.after: must be a list of node names or {node, on_failure} objects, got str",
        ),
        (
            spec_of(a={"task": "a"}, b={"task": "b", "after": [{"node": "a", "when": "x"}]}),
            "nodes.b.after.0.when: unknown key 'when' (an edge has node, on_failure)",
        ),
        (spec_of(x={"task": "a", "input": [1]}), "nodes.x.input: must be a JSON object, got list"),
        (
            spec_of(x={"task": "a", "options": "fast"}),
            "nodes.x.options: must be a JSON object, got str",
        ),
        (
            spec_of(x={"task": "a", "options": {"retries": 2, "queue": "hi"}}),
            "nodes.x.options.queue: unknown option 'queue' "
            "(one of name, priority, timeout, retries, retry_delay)",
        ),
        (
            spec_of(x={"task": "a", "depends_on": ["y"]}),
            "nodes.x.depends_on: unknown key 'depends_on' (a node has task, input, options, after)",
        ),
        (
            spec_of(x={"task": "a", "name": "Extract"}),
            "nodes.x.name: unknown key 'name' (a node has task, input, options, after; "
            "its name is its key, a display name goes in options.name)",
        ),
        (spec_of(x=["a"]), "nodes.x: must be a JSON object, got list"),
    ],
)
def test_a_bad_graph_is_refused_naming_its_field(spec: Any, error: str) -> None:
    assert refused(lambda: parse_graph(spec, max_nodes=4, known_task=TASKS.__contains__)) == error


def test_every_unknown_key_of_a_node_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        parse(spec_of(x={"task": "a", "retry": 1, "priorty": 2}))

    assert caught.value.field == "nodes.x.retry"
    assert [field for field, _ in caught.value.errors] == ["nodes.x.retry", "nodes.x.priorty"]


def test_a_cycle_is_named_from_its_earliest_declared_node_without_its_bystanders() -> None:
    spec = spec_of(
        start={"task": "a"},
        after_loop={"task": "b", "after": ["y"]},
        y={"task": "c", "after": ["start", "x"]},
        x={"task": "d", "after": ["y"]},
    )

    assert refused(lambda: parse(spec)) == "nodes: cycle: y -> x -> y"


def test_canvas_misuse_is_refused() -> None:
    extract = sig("etl.extract")

    assert refused(lambda: chain(extract, sig("etl.load"), extract)) == (
        "nodes: the same sig (etl.extract) is used twice; call sig() for each node"
    )
    assert refused(lambda: group(sig("a", name="x"), sig("b", name="x")).graph("p")) == (
        "nodes: two nodes are named 'x'"
    )
    assert refused(lambda: sig("a", name="no way").graph("p")) == (
        "nodes: node name 'no way' must be 1-100 characters of A-Z a-z 0-9 . _ -"
    )
    assert refused(lambda: sig("a", on_failure="ignore")) == (
        "on_failure: must be one of fail, skip, continue, got 'ignore'"
    )
    assert refused(lambda: sig("")) == "task: must be a task name, got ''"
    assert (
        refused(lambda: sig("a", [1]).graph("p"))  # type: ignore[arg-type]
        == "nodes.a.input: must be a JSON object, got list"
    )
    assert refused(lambda: chain()) == "nodes: chain() needs at least one part"
    assert refused(lambda: group([])) == "nodes: group() needs at least one part"
    assert refused(lambda: extract.graph(" ")) == "name: must be a non-empty string"
    with pytest.raises(TypeError, match=r"chain\(\) takes sig\(\), chain\(\), group\(\)"):
        chain(extract, "etl.load")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        extract | "etl.load"


def test_chain_and_group_take_one_iterable_of_parts_like_celery() -> None:
    graph = chain([sig("a"), group(sig("b") for _ in range(2)), sig("d")]).graph("p")

    assert [(n.name, n.parents) for n in graph.nodes] == [
        ("a", ()),
        ("b", ("a",)),
        ("b-2", ("a",)),
        ("d", ("b", "b-2")),
    ]


# -- what a node does when its parents change


def test_a_node_without_parents_or_with_every_parent_completed_is_released() -> None:
    assert verdict([]) == Verdict("release", None)
    assert verdict([(Edge("a"), "completed", "A"), (Edge("b", SKIP), "completed", "B")]) == (
        Verdict("release", None)
    )


@pytest.mark.parametrize("status", ["pending", "in_progress", "retrying", "paused"])
def test_a_node_waits_while_a_parent_is_not_final(status: str) -> None:
    assert verdict([(Edge("a"), "completed", "A"), (Edge("b"), status, "B")]) == Verdict("wait")


def test_by_default_a_failed_parent_fails_the_node_at_once() -> None:
    parents = [(Edge("a"), "pending", "A"), (Edge("b"), "failed", "Transform orders")]

    assert verdict(parents) == Verdict("fail", "upstream task Transform orders failed")


def test_by_default_a_cancelled_parent_cancels_the_node_at_once() -> None:
    parents = [(Edge("a"), "retrying", "A"), (Edge("b"), "cancelled", "B")]

    assert verdict(parents) == Verdict("cancel", "upstream task B cancelled")


def test_a_skip_edge_skips_the_node_at_once() -> None:
    assert verdict([(Edge("a", SKIP), "failed", "A"), (Edge("b"), "pending", "B")]) == (
        Verdict("cancel", "skipped: upstream A failed")
    )
    assert verdict([(Edge("a", SKIP), "cancelled", "A")]) == (
        Verdict("cancel", "skipped: upstream A cancelled")
    )


def test_a_continue_edge_runs_the_node_once_every_parent_is_final() -> None:
    failed = (Edge("a", CONTINUE), "failed", "A")
    cancelled = (Edge("b", CONTINUE), "cancelled", "B")

    assert verdict([failed, (Edge("c"), "retrying", "C")]) == Verdict("wait")
    assert verdict([failed, cancelled, (Edge("c"), "completed", "C")]) == Verdict("release")


def test_a_retrying_parent_never_releases_the_node_early() -> None:
    assert verdict([(Edge("a", CONTINUE), "retrying", "A")]) == Verdict("wait")
    assert verdict([(Edge("a", SKIP), "retrying", "A")]) == Verdict("wait")


def test_with_several_failed_parents_the_first_in_edge_order_decides() -> None:
    parents = [
        (Edge("a", CONTINUE), "failed", "A"),
        (Edge("b"), "failed", "B"),
        (Edge("c"), "failed", "C"),
    ]
    skips = [(Edge("a", SKIP), "cancelled", "A"), (Edge("b", SKIP), "failed", "B")]

    assert verdict(parents) == Verdict("fail", "upstream task B failed")
    assert verdict(skips) == Verdict("cancel", "skipped: upstream A cancelled")


def test_a_fail_edge_outranks_a_skip_edge_and_a_failure_outranks_a_cancellation() -> None:
    skipped_first = [(Edge("a", SKIP), "failed", "A"), (Edge("b"), "failed", "B")]
    cancelled_first = [(Edge("a"), "cancelled", "A"), (Edge("b"), "failed", "B")]
    cancelled_then_skip = [(Edge("a", SKIP), "failed", "A"), (Edge("b"), "cancelled", "B")]

    assert verdict(skipped_first) == Verdict("fail", "upstream task B failed")
    assert verdict(cancelled_first) == Verdict("fail", "upstream task B failed")
    assert verdict(cancelled_then_skip) == Verdict("cancel", "upstream task B cancelled")


def test_a_status_that_is_not_a_status_is_a_bug() -> None:
    with pytest.raises(ValueError):
        verdict([(Edge("a"), "done", "A")])


def test_propagation_runs_through_a_skip_into_a_fail_edge() -> None:
    """extract fails; transform skips on it; load (fail edge) ends cancelled with transform;
    report (continue after load) runs; audit waits on the still-running check."""
    graph = parse(
        spec_of(
            extract={"task": "etl.extract"},
            check={"task": "etl.extract"},
            transform={
                "task": "etl.transform",
                "after": [{"node": "extract", "on_failure": "skip"}],
            },
            load={"task": "etl.load", "after": ["transform"]},
            report={"task": "t", "after": [{"node": "load", "on_failure": "continue"}]},
            audit={"task": "t", "after": ["check", "load"]},
        )
    )

    decided = propagate(
        graph, {"extract": "failed", "check": "in_progress"}, names={"extract": "Extract"}
    )

    assert decided == {
        "transform": Verdict("cancel", "skipped: upstream Extract failed"),
        "load": Verdict("cancel", "upstream task transform cancelled"),
        "report": Verdict("release"),
        "audit": Verdict("cancel", "upstream task load cancelled"),
    }


def test_propagation_decides_only_for_nodes_waiting_to_be_released() -> None:
    graph = chain(sig("a"), group(sig("b"), sig("c")), sig("d")).graph("diamond")

    assert propagate(graph, {}) == {
        "a": Verdict("release"),
        "b": Verdict("wait"),
        "c": Verdict("wait"),
        "d": Verdict("wait"),
    }
    assert propagate(graph, {"a": "completed", "b": "retrying", "c": "paused"}) == {
        "d": Verdict("wait")
    }
    assert propagate(graph, {"a": "completed", "b": "failed", "c": "in_progress"}) == {
        "d": Verdict("fail", "upstream task b failed")
    }
    assert propagate(graph, {"a": "completed", "b": "completed", "c": "completed"}) == {
        "d": Verdict("release")
    }
    with pytest.raises(ValueError, match="not nodes of pipeline 'diamond': e"):
        propagate(graph, {"a": "completed", "e": "failed"})


# -- the pipeline's status


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["completed", "pending"], "running"),
        (["failed", "retrying"], "running"),
        (["cancelled", "paused"], "running"),
        (["completed", "in_progress"], "running"),
        (["completed", "completed"], "completed"),
        (["completed", "failed", "cancelled"], "failed"),
        (["failed", "completed"], "failed"),
        (["cancelled", "completed"], "cancelled"),
    ],
)
def test_a_pipelines_status_follows_its_nodes(statuses: list[str], expected: str) -> None:
    status = pipeline_status(iter(statuses))

    assert status == expected
    assert isinstance(status, PipelineStatus)


def test_a_pipeline_without_node_statuses_has_no_status() -> None:
    with pytest.raises(ValueError, match="a pipeline has at least one node"):
        pipeline_status([])
