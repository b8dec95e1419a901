"""Shared by the webhook and notification routes: the list envelope ``{items, total, limit,
skip}``, its query parameters, and the words of their problem responses (for
:func:`taskhub.api.problems.problems`)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

Item = TypeVar("Item")

MAX_LIMIT = 100
MAX_SKIP = 1_000_000_000  # the database's OFFSET is a bigint

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Skip = Annotated[int, Query(ge=0, le=MAX_SKIP, description="Items to skip (newest first).")]

NEEDS_KEY = {401: "No API key, or one that is unknown or revoked."}
BAD_BODY = {
    400: "The body is not valid JSON.",
    413: "The body is over the size limit.",
    422: "Invalid input; `field` names it.",
}
BAD_QUERY = {422: "Invalid query parameter; `field` names it."}


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    total: int
    limit: int
    skip: int
