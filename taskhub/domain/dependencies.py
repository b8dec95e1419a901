"""Dependencies: what a node (or a task submitted with ``depends_on``) does when its parents
change, and a pipeline's status. Pure: the worker side brings the statuses.

A node is released (submitted to run) once every parent is final and each parent either
completed or ended failed/cancelled on a ``continue`` edge. A parent that ends failed or
cancelled on a ``fail`` or ``skip`` edge ends the node at once, without waiting for the
others, and the node never runs.

Precedence, when several parents are final and not completed (first match wins; within a
rule, the first parent in the node's ``after`` order decides):

1. a parent ``failed`` on a ``fail`` edge: the node ``fail``\\ s, "upstream task X failed";
2. a parent ``cancelled`` on a ``fail`` edge: the node is ``cancel``\\ led, "upstream task X
   cancelled";
3. a parent ``failed`` or ``cancelled`` on a ``skip`` edge: the node is ``cancel``\\ led,
   "skipped: upstream X failed" (or "... cancelled");
4. any parent not final (``retrying`` and ``paused`` included): ``wait``;
5. otherwise ``release``; failed or cancelled parents on ``continue`` edges do not hold it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from taskhub.domain.pipelines import Edge, Graph, OnFailure
from taskhub.domain.states import Status

# -- what a node does when its parents change


@dataclass(frozen=True, slots=True)
class Verdict:
    """``release`` the node to run, ``wait`` for more parents, or end it now: ``fail`` or
    ``cancel``. ``reason`` is set exactly when the node ends, and is what its record shows."""

    action: Literal["wait", "release", "fail", "cancel"]
    reason: str | None = None


WAIT = Verdict("wait")
RELEASE = Verdict("release")


def verdict(parents: Sequence[tuple[Edge, str, str]]) -> Verdict:
    """What a node does, given each parent as ``(edge, status, display name)`` in the node's
    ``after`` order; statuses are :class:`Status` values (``ValueError`` on another). The
    rules and their precedence are the module's. A node without parents is released."""
    best: tuple[int, Verdict] | None = None
    waiting = False
    for edge, status, name in parents:
        state = Status(status)
        if state is Status.COMPLETED:
            continue
        if not state.is_final:
            waiting = True
            continue
        if edge.on_failure is OnFailure.CONTINUE:
            continue
        ended = "failed" if state is Status.FAILED else "cancelled"
        if edge.on_failure is OnFailure.SKIP:
            rank, decided = 2, Verdict("cancel", f"skipped: upstream {name} {ended}")
        elif state is Status.FAILED:
            return Verdict("fail", f"upstream task {name} failed")  # nothing outranks it
        else:
            rank, decided = 1, Verdict("cancel", f"upstream task {name} cancelled")
        if best is None or rank < best[0]:
            best = (rank, decided)
    if best is not None:
        return best[1]
    return WAIT if waiting else RELEASE


ENDED_BY = {"fail": Status.FAILED, "cancel": Status.CANCELLED}


def propagate(
    graph: Graph, statuses: Mapping[str, str], *, names: Mapping[str, str] | None = None
) -> dict[str, Verdict]:
    """The verdict for every node still waiting to be released: ``pending``, or absent from
    ``statuses`` (taken as pending). A node that would ``fail`` or ``cancel`` counts as failed
    or cancelled for its own children, transitively; running, retrying and paused nodes are
    left alone and count as not final. Reasons name parents by ``names`` (display names),
    else by node name. ``ValueError`` for a status of a node not in ``graph``."""
    strangers = [name for name in statuses if name not in graph]
    if strangers:
        raise ValueError(f"not nodes of pipeline {graph.name!r}: {', '.join(strangers)}")
    labels = names or {}
    effective: dict[str, Status] = {}
    decided: dict[str, Verdict] = {}
    for node in graph.nodes:
        status = Status(statuses.get(node.name, Status.PENDING))
        if status is Status.PENDING:
            parents = [(e, effective[e.parent], labels.get(e.parent, e.parent)) for e in node.after]
            decided[node.name] = verdict(parents)
            status = ENDED_BY.get(decided[node.name].action, Status.PENDING)
        effective[node.name] = status
    return decided


# -- the pipeline's status


class PipelineStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


def pipeline_status(statuses: Iterable[str]) -> PipelineStatus:
    """From its nodes' statuses: ``running`` while any node is not final (paused and retrying
    included); then ``completed`` if every node completed; else ``failed`` if any failed (even
    when a ``continue`` child completed after it); else ``cancelled``. ``ValueError`` for no
    statuses (a pipeline has at least one node) or a string that is not a :class:`Status`."""
    seen = {Status(status) for status in statuses}
    if not seen:
        raise ValueError("a pipeline has at least one node")
    if not all(status.is_final for status in seen):
        return PipelineStatus.RUNNING
    if seen == {Status.COMPLETED}:
        return PipelineStatus.COMPLETED
    if Status.FAILED in seen:
        return PipelineStatus.FAILED
    return PipelineStatus.CANCELLED
