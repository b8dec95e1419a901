"""What a workspace's plan lets a submission ask for: one place, whoever submits on its behalf.

Deadlines and dependencies need Growth or Enterprise (``PlanError`` → 403 at the API). On those
plans dependencies are still refused, naming the field: they arrive with pipelines, and a
dependency silently ignored would run a task before the work it waits for.
"""

from __future__ import annotations

from collections.abc import Sequence

from taskhub.domain.errors import ValidationError
from taskhub.domain.plans import Feature, require
from taskhub.domain.records import Workspace
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission

DEPENDENCIES_LATER = (
    "dependencies between tasks arrive with pipelines and are not available yet; "
    "submit the task once the tasks it depends on have completed"
)


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
        raise ValidationError("depends_on", DEPENDENCIES_LATER)


def _held(ask: Submission) -> bool:
    """A one-off run for later (``run_at`` or ``countdown``): a scheduled task."""
    return ask.countdown is not None or (
        ask.type is not TaskType.SCHEDULED and ask.scheduled_for is not None
    )
