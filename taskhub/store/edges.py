"""Dependencies between tasks, and pipelines: who waits for whom, and the pipelines' records.

An edge says the child waits for the parent, and what the child does if that parent fails or
is cancelled (``on_failure``). Adding edges marks each parent ``has_dependents`` in the same
transaction, so the statement that ends a parent returns that flag fresh and the worker knows
to decide its children; a child is ``blocked`` until it is released (exactly once: a
compare-and-set on ``blocked``) or ended by a parent's failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, exists, func, insert, select, update

from taskhub.domain.errors import NotFoundError, ValidationError
from taskhub.domain.pipelines import OnFailure
from taskhub.domain.records import NewTask, TaskRecord
from taskhub.domain.states import FINAL_STATUSES, Status
from taskhub.store import tables as m
from taskhub.store.rows import task_record
from taskhub.store.tasks import Store

T, E, P = m.tasks, m.task_edges, m.pipelines
FINAL = [status.value for status in FINAL_STATUSES]
ENDED = [Status.FAILED.value, Status.CANCELLED.value]


@dataclass(frozen=True)
class Parent:
    """One parent as its child sees it: the edge's policy and the parent's state now."""

    task_id: str
    on_failure: str
    status: Status
    name: str  # how a reason names it: its node's name, else its display name


@dataclass(frozen=True)
class PipelineRow:
    id: str
    workspace_id: str
    name: str
    created_at: datetime


class EdgeStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- writing ---------------------------------------------------------------------------

    def add_task(
        self, child: NewTask, parents: Sequence[tuple[str, str]], conn: Connection | None = None
    ) -> None:
        """Insert ``child`` (blocked) waiting for ``parents`` (task id, on_failure) of its
        workspace; ``ValidationError`` on ``depends_on`` naming a parent that is not there."""
        with self.store.begin(conn) as c:
            ids = [parent_id for parent_id, _ in parents]
            marked = c.execute(
                update(T)
                .where(T.c.id.in_(ids), T.c.workspace_id == child.workspace_id)
                .values(has_dependents=True)
                .returning(T.c.id)
            )
            missing = set(ids) - {row.id for row in marked}
            if missing:
                raise ValidationError("depends_on", f"no such task: {sorted(missing)[0]}")
            self.store.insert_tasks([child], conn=c)
            rows = [{"child_id": child.id, "parent_id": p, "on_failure": f} for p, f in parents]
            c.execute(insert(E), rows)

    def add_pipeline(
        self,
        pipeline: PipelineRow,
        nodes: Sequence[NewTask],
        edges: Iterable[tuple[str, str, str]],
    ) -> None:
        """The pipeline, its nodes and their edges (child id, parent id, on_failure), in one
        transaction: all of it or nothing."""
        with self.store.begin() as c:
            c.execute(
                insert(P).values(
                    id=pipeline.id,
                    workspace_id=pipeline.workspace_id,
                    name=pipeline.name,
                    created_at=pipeline.created_at,
                )
            )
            self.store.insert_tasks(nodes, conn=c)
            rows = [{"child_id": a, "parent_id": b, "on_failure": f} for a, b, f in edges]
            if rows:
                c.execute(insert(E), rows)

    def unblock(self, child_id: str) -> TaskRecord | None:
        """Release a blocked child: ``None`` if it was released (or ended) already."""
        released = (
            update(T)
            .where(
                T.c.id == child_id, T.c.blocked.is_(True), m.status_by_key() == Status.PENDING.value
            )
            .values(blocked=False)
            .returning(*T.c)
        )
        with self.store.single() as c:
            row = c.execute(released).one_or_none()
        return task_record(row) if row is not None else None

    # -- reading ---------------------------------------------------------------------------

    def children(self, parent_id: str) -> list[str]:
        with self.store.read() as c:
            rows = c.execute(select(E.c.child_id).where(E.c.parent_id == parent_id))
            return [row.child_id for row in rows]

    def parents(self, child_id: str) -> list[Parent]:
        """The child's parents in the order they were given."""
        query = (
            select(T.c.id, T.c.status, T.c.node, T.c.name, E.c.on_failure)
            .join(E, E.c.parent_id == T.c.id)
            .where(E.c.child_id == child_id)
            .order_by(T.c.created_at, T.c.id)
        )
        with self.store.read() as c:
            return [
                Parent(r.id, r.on_failure, Status(r.status), r.node or r.name)
                for r in c.execute(query)
            ]

    def surely_waits(self, child_id: str) -> bool:
        """Whether the child's verdict is ``wait`` for sure: a parent is not final yet and no
        parent ended it (failed or cancelled on a ``fail`` or ``skip`` edge). Counted in the
        database, so a join of many parents is not read row by row on each parent's end."""
        query = (
            select(
                func.count().filter(T.c.status.not_in(FINAL)),
                func.count().filter(
                    T.c.status.in_(ENDED), E.c.on_failure != OnFailure.CONTINUE.value
                ),
            )
            .select_from(E)
            .join(T, T.c.id == E.c.parent_id)
            .where(E.c.child_id == child_id)
        )
        with self.store.read() as c:
            unfinished, ending = c.execute(query).one()
        return bool(unfinished) and not ending

    def waiting_on(self, child_ids: Sequence[str]) -> dict[str, int]:
        """How many parents each blocked child still waits for (not yet final)."""
        query = (
            select(E.c.child_id, func.count())
            .join(T, T.c.id == E.c.parent_id)
            .where(E.c.child_id.in_(child_ids), T.c.status.not_in(FINAL))
            .group_by(E.c.child_id)
        )
        with self.store.read() as c:
            return {row[0]: int(row[1]) for row in c.execute(query)}

    def stuck(self, created_before: datetime, limit: int = 1000) -> list[str]:
        """Blocked waiting tasks with at least one final parent: what the sweep decides again
        (a process that ended a parent may have died before deciding its children)."""
        parent = T.alias("parent")
        final_parent = exists(
            select(E.c.child_id)
            .join(parent, parent.c.id == E.c.parent_id)
            .where(E.c.child_id == T.c.id, parent.c.status.in_(FINAL))
        )
        query = (
            select(T.c.id)
            .where(
                T.c.blocked.is_(True),
                T.c.status.in_([Status.PENDING.value, Status.PAUSED.value]),
                T.c.created_at < created_before,
                final_parent,
            )
            .limit(limit)
        )
        with self.store.read() as c:
            return [row.id for row in c.execute(query)]

    def descendants(self, task_id: str) -> list[str]:
        """Every task that waits, directly or not, for ``task_id`` (breadth first)."""
        seen: dict[str, None] = {}
        frontier = [task_id]
        with self.store.read() as c:
            while frontier:
                rows = c.execute(select(E.c.child_id).where(E.c.parent_id.in_(frontier)))
                frontier = [r.child_id for r in rows if r.child_id not in seen]
                seen.update(dict.fromkeys(frontier))
        return list(seen)

    def pipeline(self, workspace_id: str, pipeline_id: str) -> PipelineRow:
        query = select(P).where(P.c.id == pipeline_id, P.c.workspace_id == workspace_id)
        with self.store.read() as c:
            row = c.execute(query).one_or_none()
        if row is None:
            raise NotFoundError("pipeline", pipeline_id)
        return PipelineRow(row.id, row.workspace_id, row.name, row.created_at)

    def pipelines(
        self, workspace_id: str, *, limit: int, skip: int
    ) -> tuple[list[PipelineRow], int]:
        where = P.c.workspace_id == workspace_id
        query = select(P).where(where).order_by(P.c.created_at.desc(), P.c.id.desc())
        with self.store.read() as c:
            total = c.execute(select(func.count()).select_from(P).where(where)).scalar_one()
            rows = c.execute(query.limit(limit).offset(skip))
            items = [PipelineRow(r.id, r.workspace_id, r.name, r.created_at) for r in rows]
        return items, int(total)

    def nodes(self, pipeline_ids: Sequence[str]) -> dict[str, list[TaskRecord]]:
        """Each pipeline's tasks, in the order they were submitted (parents first)."""
        query = select(T).where(T.c.pipeline_id.in_(pipeline_ids)).order_by(T.c.created_at, T.c.id)
        found: dict[str, list[TaskRecord]] = {pipeline_id: [] for pipeline_id in pipeline_ids}
        with self.store.read() as c:
            for row in c.execute(query):
                found[row.pipeline_id].append(task_record(row))
        return found

    def node_edges(self, pipeline_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """(child id, parent id, on_failure) of every edge inside these pipelines."""
        child = T.alias("child")
        query = (
            select(E.c.child_id, E.c.parent_id, E.c.on_failure)
            .join(child, child.c.id == E.c.child_id)
            .where(child.c.pipeline_id.in_(pipeline_ids))
        )
        with self.store.read() as c:
            return [(r.child_id, r.parent_id, r.on_failure) for r in c.execute(query)]
