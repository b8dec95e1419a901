"""Shared by the webhook and notification routes: the list envelope ``{items, total, limit,
skip}``, its query parameters, and the OpenAPI description of their problem responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from taskhub.api.schemas import Problem

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


def problems(*described: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these status codes, each problem+json with its description."""
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        code: {"model": Problem, "description": text, "content": content}
        for codes in described
        for code, text in codes.items()
    }
