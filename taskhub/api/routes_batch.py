"""Many tasks in one request: ``POST /api/v1/tasks/batch``, each item answered on its own.

Scoped to the API key's workspace and its plan, as a single submit is (``Batches.submit``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from taskhub.api.deps import HubDep, WorkspaceDep
from taskhub.api.problems import error_body, problems
from taskhub.api.schemas import BatchIn, BatchOut
from taskhub.domain.batches import MAX_BATCH_ITEMS, ItemRefused
from taskhub.domain.clock import now
from taskhub.domain.serialize import record_to_dict
from taskhub.services.batches import Outcome

router = APIRouter(tags=["tasks"], responses=problems(401, 422))

MULTI_STATUS = 207


@router.post(
    "/tasks/batch",
    status_code=201,
    response_model=BatchOut,
    responses={
        201: {"description": "Every item submitted and on the broker (or held for `run_at`)."},
        MULTI_STATUS: {
            "model": BatchOut,
            "description": "Mixed: some items refused (or recorded but not yet on the broker); "
            "each item's `status` says which.",
        },
        **problems(400, 403, 413),
    },
)
def submit_batch(
    body: BatchIn, hub: HubDep, workspace: WorkspaceDep, request: Request, response: Response
) -> dict[str, Any]:
    """Submit up to `max_items` tasks of one kind; `items[i]` are the inputs, each with any
    option of its own over the shared ones. Answers each item in order: `status` 201 and its
    `task`, 202 (recorded, not yet on the broker), or 422/403 and its `problem` (`field`
    names it within the request: `items.3.input.region`). Valid items go in even when
    others are refused (then 207), unless `all_or_nothing`: then any refused item refuses the
    batch, 422 (or 403) listing every item's fault in `errors`, and nothing is written. A
    fault in what the items share (`task`, a shared option, its plan) refuses the batch."""
    items = [item.item() for item in body.items]
    outcomes = hub.batches.submit(
        workspace, body.task, items, body.options(), all_or_nothing=body.all_or_nothing
    )
    answers = [_answer(index, outcome, request.url.path) for index, outcome in enumerate(outcomes)]
    refused = sum(1 for answer in answers if answer["status"] >= 400)
    if any(answer["status"] != 201 for answer in answers):
        response.status_code = MULTI_STATUS
    return {
        "items": answers,
        "submitted": len(answers) - refused,
        "refused": refused,
        "max_items": MAX_BATCH_ITEMS,
    }


def _answer(index: int, outcome: Outcome, path: str) -> dict[str, Any]:
    if isinstance(outcome, ItemRefused):
        problem = error_body(outcome.error, path)
        return {"index": index, "status": problem["status"], "task": None, "problem": problem}
    status = 202 if outcome.awaits_publish(now()) else 201
    return {"index": index, "status": status, "task": record_to_dict(outcome), "problem": None}
