"""Pipelines run by real workers: every node a record from the start, released by its
parents' records, exactly once; failures, skips and cancels decided from the records."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from taskhub import Settings, Status, TaskHub, ValidationError
from taskhub.domain.canvas import chain, chord, group, sig
from taskhub.domain.dependencies import PipelineStatus
from taskhub.domain.errors import PlanError
from taskhub.services.pipelines import Pipeline

from ..conftest import own_queue
from ..support import running_worker, wait_for


def finished(hub: TaskHub, pipeline_id: str, timeout_s: float = 60) -> Pipeline:
    def done() -> Pipeline | None:
        found = hub.pipelines.get(hub.workspace_id, pipeline_id)
        return found if found.status is not PipelineStatus.RUNNING else None

    return wait_for(done, timeout_s=timeout_s, what="the pipeline to finish")


def by_node(p: Pipeline) -> dict[str, Status]:
    return {n.node or "": n.status for n in p.nodes}


def test_a_chain_of_three_runs_in_order_each_after_its_parent(settings: Settings) -> None:
    hub, queue = own_queue(settings)
    flow = chain(
        sig("tests.echo", {"value": 1}, name="a"), sig("tests.echo", {"value": 2}, name="b")
    )
    flow = flow | sig("tests.echo", {"value": 3}, name="c")
    submitted = hub.pipelines.submit(hub.workspace_id, flow, name="abc")
    assert [n.node for n in submitted.nodes] == ["a", "b", "c"]
    assert [n.blocked for n in submitted.nodes] == [False, True, True]
    assert submitted.waiting == {"b": 1, "c": 1} and submitted.status is PipelineStatus.RUNNING

    with running_worker(queue, name="chain"):
        done = finished(hub, submitted.id)
    assert done.status is PipelineStatus.COMPLETED
    a, b, c = done.nodes
    assert a.finished_at and b.started_at and b.finished_at and c.started_at
    assert a.finished_at <= b.started_at and b.finished_at <= c.started_at
    hub.close()


def test_a_diamond_joins_after_both_branches(settings: Settings) -> None:
    hub, queue = own_queue(settings)
    diamond = chain(
        sig("tests.echo", {"value": "top"}, name="top"),
        group(sig("tests.echo", {"value": "l"}, name="left"), sig("tests.echo", name="right")),
        sig("tests.echo", {"value": "join"}, name="join"),
    )
    submitted = hub.pipelines.submit(hub.workspace_id, diamond, name="diamond")
    assert submitted.waiting["join"] == 2
    with running_worker(queue, name="diamond"):
        done = finished(hub, submitted.id)
    nodes = {n.node: n for n in done.nodes}
    assert set(by_node(done).values()) == {Status.COMPLETED}
    for side in ("left", "right"):
        assert nodes[side].finished_at and nodes["join"].started_at
        assert nodes[side].finished_at <= nodes["join"].started_at
    hub.close()


def test_a_fan_out_of_100_then_fan_in_runs_the_join_once_after_all(settings: Settings) -> None:
    hub, queue = own_queue(settings)
    fan = chord(
        [sig("tests.echo", {"value": i}) for i in range(100)], sig("tests.noop", name="load")
    )
    submitted = hub.pipelines.submit(hub.workspace_id, fan, name="fan")
    assert len(submitted.nodes) == 101 and submitted.waiting == {"load": 100}
    with running_worker(queue, name="fan", concurrency=2):
        done = finished(hub, submitted.id, timeout_s=120)
    assert done.status is PipelineStatus.COMPLETED
    load = next(n for n in done.nodes if n.node == "load")
    assert load.attempt == 1 and load.run == 1
    last = max(n.finished_at for n in done.nodes if n.node != "load" and n.finished_at)
    assert load.started_at is not None and load.started_at >= last
    hub.close()


def test_a_failure_in_the_middle_fails_what_waits_for_it_skips_and_continues_as_told(
    settings: Settings,
) -> None:
    hub, queue = own_queue(settings)
    spec = {
        "name": "mixed",
        "nodes": {
            "extract": {"task": "tests.echo", "input": {"value": 1}},
            "broken": {
                "task": "tests.flaky",
                "input": {"fail_times": 0, "permanent": True},
                "after": ["extract"],
            },
            "fails": {"task": "tests.echo", "after": ["broken"]},
            "skips": {"task": "tests.echo", "after": [{"node": "broken", "on_failure": "skip"}]},
            "after_skip": {"task": "tests.echo", "after": ["skips"]},
            "goes_on": {
                "task": "tests.echo",
                "input": {"value": "anyway"},
                "after": [{"node": "broken", "on_failure": "continue"}, "extract"],
            },
        },
    }
    submitted = hub.pipelines.submit(hub.workspace_id, spec)
    with running_worker(queue, name="mixed"):
        done = finished(hub, submitted.id)
    assert by_node(done) == {
        "extract": Status.COMPLETED,
        "broken": Status.FAILED,
        "fails": Status.FAILED,
        "skips": Status.CANCELLED,
        "after_skip": Status.CANCELLED,
        "goes_on": Status.COMPLETED,
    }
    nodes = {n.node: n for n in done.nodes}
    assert nodes["fails"].error and nodes["fails"].error.message == "upstream task broken failed"
    assert (
        nodes["skips"].error and nodes["skips"].error.message == "skipped: upstream broken failed"
    )
    for never in ("fails", "skips", "after_skip"):
        assert nodes[never].started_at is None
    assert done.status is PipelineStatus.FAILED
    hub.close()


def test_cancelling_a_pipeline_cancels_its_unfinished_nodes(
    settings: Settings, scratch: Path
) -> None:
    hub, queue = own_queue(settings)
    gate = {"gate": str(scratch / "gate"), "started": str(scratch / "started")}
    flow = chain(sig("tests.block", gate, name="slow"), sig("tests.echo", name="next"))
    submitted = hub.pipelines.submit(hub.workspace_id, flow | sig("tests.echo", name="last"))
    with running_worker(queue, name="cancel"):
        wait_for(lambda: (scratch / "started").exists(), timeout_s=20, what="the first node")
        hub.pipelines.cancel(hub.workspace_id, submitted.id)
        (scratch / "gate").write_text("go")  # it checks no checkpoint: it completes
        done = finished(hub, submitted.id)
    states = by_node(done)
    assert states["next"] is Status.CANCELLED and states["last"] is Status.CANCELLED
    assert done.status is PipelineStatus.CANCELLED or states["slow"] is Status.COMPLETED
    assert all(n.started_at is None for n in done.nodes if n.node != "slow")
    hub.close()


def test_a_bad_graph_is_refused_naming_the_field_and_nothing_is_written(hub: TaskHub) -> None:
    echo = {"task": "tests.echo"}
    cases = [
        ({"a": {**echo, "after": ["b"]}}, "nodes.a.after"),
        ({"a": {**echo, "after": ["b"]}, "b": {**echo, "after": ["a"]}}, "nodes"),
        ({"a": {"task": "no.such.task"}}, "nodes.a.task"),
        ({"a": {**echo, "input": {"bogus": 1}}}, "nodes.a.input.bogus"),
        ({"a": {**echo, "options": {"priority": 99}}}, "nodes.a.priority"),
    ]
    before = hub.list(limit=1).total
    for nodes, field in cases:
        with pytest.raises(ValidationError) as refused:
            hub.pipelines.submit(hub.workspace_id, {"name": "bad", "nodes": nodes})
        assert refused.value.field == field, (nodes, refused.value)
    assert hub.list(limit=1).total == before


def test_a_worker_killed_during_a_node_runs_it_again_then_its_children_once(
    settings: Settings, scratch: Path
) -> None:
    hub, queue = own_queue(settings)
    log, gate, started = scratch / "steps.log", scratch / "gate", scratch / "started"
    work = {"log_path": str(log), "gate": str(gate), "started": str(started)}
    flow = chain(sig("tests.pipeline", work, name="crunch"), sig("tests.echo", name="after"))
    submitted = hub.pipelines.submit(hub.workspace_id, flow)

    with running_worker(queue, concurrency=1, name="victim"):
        pid = int(
            wait_for(
                lambda: started.exists() and started.read_text().split()[0],
                what="the node to start",
            )
        )
        os.kill(pid, signal.SIGKILL)
        gate.touch()
        done = finished(hub, submitted.id)

    crunch, after = done.nodes
    assert (crunch.status, crunch.attempt) == (Status.COMPLETED, 2)
    assert (after.status, after.attempt, after.run) == (Status.COMPLETED, 1, 1)


def test_pipelines_need_a_plan_with_dependencies(hub: TaskHub) -> None:
    starter = hub.accounts.create_workspace(f"pipes-{os.getpid()}-{id(hub)}", "starter")
    with pytest.raises(PlanError) as refused:
        hub.pipelines.submit_checked(starter, chain(sig("tests.echo"), sig("tests.echo")))
    assert refused.value.feature == "dependencies"
    assert hub.pipelines.page(starter.id)[1] == 0


def test_a_node_reads_its_parents_outputs_and_sees_which_failed(settings: Settings) -> None:
    hub, queue = own_queue(settings)
    spec = {
        "name": "sums",
        "nodes": {
            "one": {"task": "tests.echo", "input": {"value": 1}},
            "two": {"task": "tests.echo", "input": {"value": 2}},
            "broken": {"task": "tests.flaky", "input": {"fail_times": 0, "permanent": True}},
            "total": {
                "task": "tests.sum_parents",
                "after": ["one", "two", {"node": "broken", "on_failure": "continue"}],
            },
        },
    }
    submitted = hub.pipelines.submit(hub.workspace_id, spec)
    with running_worker(queue, name="sums"):
        done = finished(hub, submitted.id)
    total = next(n for n in done.nodes if n.node == "total")
    assert total.status is Status.COMPLETED
    result = json.loads(hub.output(total.id).content)
    assert result == {
        "total": 3,
        "parents": {"one": "completed", "two": "completed", "broken": "failed"},
    }
    hub.close()


def test_a_failure_in_the_middle_of_each_shape_fails_only_what_waits_for_it(
    settings: Settings,
) -> None:
    hub, queue = own_queue(settings)
    broken = {"fail_times": 0, "permanent": True}
    shapes = {
        "chain": chain(sig("tests.echo", name="a"), sig("tests.flaky", broken, name="b"))
        | sig("tests.echo", name="c"),
        "diamond": chain(
            sig("tests.echo", name="top"),
            group(sig("tests.flaky", broken, name="left"), sig("tests.echo", name="right")),
            sig("tests.echo", name="join"),
        ),
        "fan": chord(
            [sig("tests.echo", {"value": i}) for i in range(9)]
            + [sig("tests.flaky", broken, name="bad")],
            sig("tests.echo", name="load"),
        ),
    }
    submitted = {
        shape: hub.pipelines.submit(hub.workspace_id, flow, name=shape)
        for shape, flow in shapes.items()
    }
    with running_worker(queue, name="shapes"):
        done = {shape: finished(hub, p.id) for shape, p in submitted.items()}
    chain_, diamond, fan = (by_node(done[s]) for s in ("chain", "diamond", "fan"))
    assert chain_ == {"a": Status.COMPLETED, "b": Status.FAILED, "c": Status.FAILED}
    assert (diamond["left"], diamond["right"], diamond["join"]) == (
        Status.FAILED,
        Status.COMPLETED,
        Status.FAILED,
    )
    assert fan["bad"] is Status.FAILED and fan["load"] is Status.FAILED
    assert sum(status is Status.COMPLETED for status in fan.values()) == 9
    assert {p.status for p in done.values()} == {PipelineStatus.FAILED}
    hub.close()


def test_a_parent_being_retried_never_releases_its_child_early(settings: Settings) -> None:
    hub, queue = own_queue(settings)
    flow = sig("tests.flaky", {"fail_times": 2}, name="flaky") | sig("tests.echo", name="child")
    submitted = hub.pipelines.submit(hub.workspace_id, flow)
    with running_worker(queue, name="retrying"):
        done = finished(hub, submitted.id)
    flaky, child = done.nodes
    assert (flaky.status, flaky.attempt) == (Status.COMPLETED, 3)
    assert child.started_at and flaky.finished_at and child.started_at >= flaky.finished_at
    assert (child.attempt, child.run) == (1, 1)
    hub.close()
