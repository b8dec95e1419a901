"""The broker loses messages: restarted empty, refusing writes, delivering twice. The records
in the database are enough to finish every task, each body once, without an operator."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from taskhub import Settings, Status, TaskHub
from taskhub.domain.canvas import chain, group, sig
from taskhub.domain.clock import now

from ...support import running_worker, wait_for, wait_for_status
from .support import Beat, RedisServer, check_invariants, flowing, seconds_until_final
from .tasks import executions_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_a_broker_restarted_empty_mid_flow_loses_no_task(
    fault_hub: TaskHub,
    fault_settings: Settings,
    worker_settings: Settings,
    broker: RedisServer,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    executions = tmp_path / "executions.log"
    work = {"executions": str(executions), "seconds": 0.02}
    ids = [r.id for r in fault_hub.submit_many("faults.work", [work] * 300)]
    with flowing(fault_hub, fault_settings, worker_settings, tmp_path):
        broker.restart_empty()  # every queued message is gone
        recovery_s = seconds_until_final(fault_hub, ids)

    verdict = check_invariants(fault_hub, ids, executions_of(executions))
    report(f"broker restarted empty: all 300 tasks completed {recovery_s:.1f} s after the restart")
    assert verdict.statuses == {Status.COMPLETED: 300}


def test_a_broker_refusing_writes_at_its_memory_limit_loses_no_task(
    fault_hub: TaskHub,
    fault_settings: Settings,
    worker_settings: Settings,
    broker: RedisServer,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    """At maxmemory with noeviction Redis still hands out messages (a pop frees memory) but
    refuses to store them as unacknowledged, to settle acknowledgements, and every publish."""
    executions = tmp_path / "executions.log"
    work = {"executions": str(executions), "seconds": 0.05}
    ids = [r.id for r in fault_hub.submit_many("faults.work", [work] * 200)]
    redis = broker.client()
    with flowing(fault_hub, fault_settings, worker_settings, tmp_path):
        redis.config_set("maxmemory-policy", "noeviction")
        redis.config_set("maxmemory", "1")
        ids += [fault_hub.submit("faults.work", work).id for _ in range(20)]
        time.sleep(3)  # the fault lasts a while: the sweep keeps failing to publish
        redis.config_set("maxmemory", "0")
        recovery_s = seconds_until_final(fault_hub, ids)

    verdict = check_invariants(fault_hub, ids, executions_of(executions))
    report(f"broker at maxmemory for 3 s: 220 tasks completed {recovery_s:.1f} s after it")
    assert verdict.statuses == {Status.COMPLETED: 220}


def test_every_message_delivered_three_times_runs_each_body_once(
    fault_hub: TaskHub, worker_settings: Settings, tmp_path: Path, report: Callable[[str], None]
) -> None:
    executions = tmp_path / "executions.log"
    records = fault_hub.submit_many("faults.work", [{"executions": str(executions)}] * 100)
    ids = [record.id for record in records]
    fault_hub.dispatcher.publish(records)
    fault_hub.dispatcher.publish(records)

    with running_worker(worker_settings, concurrency=2, name="duplicates"):
        elapsed_s = seconds_until_final(fault_hub, ids)
        fault_hub.dispatcher.publish(records)  # and once more after they finished
        queue = worker_settings.default_queue
        wait_for(
            lambda: fault_hub.dispatcher.queue_depths([queue]) == {queue: 0},
            what="the queue to drain",
        )

    verdict = check_invariants(fault_hub, ids, executions_of(executions))
    assert verdict.executions == 100
    report(f"400 messages for 100 tasks: 100 executions, all completed in {elapsed_s:.1f} s")


def test_beat_keeps_sweeping_while_the_broker_is_down(
    fault_hub: TaskHub,
    fault_settings: Settings,
    broker: RedisServer,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    """No worker runs this queue, and the broker dies: the sweep needs neither to end a task
    whose deadline passed, because beat runs it in its own process."""
    deadline = now() + timedelta(seconds=2)
    record = fault_hub.submit("faults.work", {"executions": os.devnull}, deadline=deadline)
    beat = Beat(fault_settings, tmp_path)
    try:
        broker.kill()
        expired = wait_for_status(fault_hub, record.id, Status.FAILED, timeout_s=30)
        late_s = (now() - deadline).total_seconds()
    finally:
        beat.stop()
    assert expired.error is not None and expired.error.message == "deadline exceeded"
    report(f"broker down: beat's sweep expired a missed deadline {late_s:.1f} s after it")


def test_a_broker_restarted_empty_mid_pipeline_still_runs_each_node_once_in_order(
    fault_hub: TaskHub,
    fault_settings: Settings,
    worker_settings: Settings,
    broker: RedisServer,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    """Redis loses every message, released nodes' included: the records still release each
    node once, after all its parents, and the pipeline completes."""
    executions = tmp_path / "executions.log"
    work = {"executions": str(executions), "seconds": 0.02}
    fault_hub.submit_many("faults.work", [work] * 20)  # what flowing() waits for to start
    fan_out = [sig("faults.work", work) for _ in range(60)]
    fan_out_again = [sig("faults.work", work) for _ in range(40)]
    flow = chain(group(fan_out), sig("faults.work", work, name="join"), group(fan_out_again))
    pipeline = fault_hub.pipelines.submit(fault_hub.workspace_id, flow, name="through a restart")
    ids = [node.id for node in pipeline.nodes]
    with flowing(fault_hub, fault_settings, worker_settings, tmp_path):
        broker.restart_empty()
        recovery_s = seconds_until_final(fault_hub, ids)

    verdict = check_invariants(fault_hub, ids, executions_of(executions))
    report(f"broker restarted empty mid-pipeline: 101 nodes completed {recovery_s:.1f} s after")
    assert verdict.statuses == {Status.COMPLETED: 101}
    done = fault_hub.pipelines.get(fault_hub.workspace_id, pipeline.id).nodes
    first, (join,), then = done[:60], done[60:61], done[61:]  # parents before children
    assert join.node == "join" and join.started_at and join.finished_at
    assert all(n.finished_at and n.finished_at <= join.started_at for n in first)
    assert all(n.started_at and n.started_at >= join.finished_at for n in then)
