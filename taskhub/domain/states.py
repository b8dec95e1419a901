"""The one state machine. Every status change names an action; this table says where it may go.

The store turns each action into a single compare-and-set ``UPDATE ... WHERE status IN
(allowed)``: zero rows updated means the change is stale and nothing happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    def __str__(self) -> str:
        return self.value


FINAL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


class StepStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class TaskType(StrEnum):
    MANUAL = "manual"
    SCHEDULED = "scheduled"
    TRIGGERED = "triggered"


class Outcome(StrEnum):
    """A final outcome, the thing a notification is about."""

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[Status]
    target: Status


def _t(action: str, sources: set[Status], target: Status) -> Transition:
    return Transition(action, frozenset(sources), target)


P, R, IP, PA = Status.PENDING, Status.RETRYING, Status.IN_PROGRESS, Status.PAUSED

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # worker side
        _t("start", {P, R}, IP),
        _t("take_over", {IP}, IP),  # the previous execution's worker is gone
        _t("complete", {IP}, Status.COMPLETED),
        _t("schedule_retry", {IP}, R),
        _t("fail", {IP}, Status.FAILED),
        _t("expire", {P, R}, Status.FAILED),  # deadline passed before it started
        _t("refuse", {P, R}, Status.FAILED),  # no worker knows its task name
        _t("stop_cancelled", {IP}, Status.CANCELLED),  # honoured at a checkpoint, or forced
        _t("stop_paused", {IP}, PA),  # honoured at a step boundary
        # dependencies: a parent failed or was cancelled, so this waiting task never runs
        _t("fail_upstream", {P, PA}, Status.FAILED),
        _t("cancel_upstream", {P, PA}, Status.CANCELLED),
        # people side
        _t("cancel", {P, R, PA}, Status.CANCELLED),
        _t("pause", {P, R}, PA),
        _t("resume", {PA}, P),
        _t("retry", {Status.FAILED, Status.CANCELLED}, P),
    )
}


def transition(action: str) -> Transition:
    return TRANSITIONS[action]


def allowed(action: str, status: Status) -> bool:
    return status in TRANSITIONS[action].sources
