"""What a workspace's plan lets a submission ask for: one place, whoever submits on its behalf.

Deadlines, dependencies (``depends_on``, pipelines) and scheduled tasks (schedules, ``run_at``)
need Growth or Enterprise (``PlanError`` → 403 at the API).
"""

from __future__ import annotations

from collections.abc import Sequence

from taskhub.domain.plans import Feature, require
from taskhub.domain.records import Workspace
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission


def check_submission(
    workspace: Workspace, ask: Submission, depends_on: Sequence[str] | None = None
) -> None:
    """Raise ``PlanError`` (or ``ValidationError``) unless ``workspace`` may submit ``ask``."""
    if ask.deadline is not None:
        require(workspace, Feature.DEADLINES)
    if ask.type is TaskType.SCHEDULED or _held(ask):
        require(workspace, Feature.SCHEDULED)
    if depends_on:
        require(workspace, Feature.DEPENDENCIES)


def _held(ask: Submission) -> bool:
    """A one-off run for later (``run_at`` or ``countdown``): a scheduled task."""
    return ask.countdown is not None or (
        ask.type is not TaskType.SCHEDULED and ask.scheduled_for is not None
    )
