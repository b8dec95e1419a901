"""Paging for the dashboard's lists (schedules, triggers, pipelines, notifications): ``limit``
and ``skip`` read from the URL query (``ValidationError`` naming the one that is not valid), and
the previous/next links (``templates/_paging.html``). :func:`number` reads any whole-number
query parameter the same way (the history's ``views.Listing`` too)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from taskhub.domain.errors import ValidationError

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_SKIP = 1_000_000_000


class BadQuery(Exception):
    """A query parameter a page cannot take: answered once (``taskhub.web.install``) with a
    422 page naming it."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class Pager:
    path: str
    limit: int = PAGE_SIZE
    skip: int = 0

    @classmethod
    def parse(cls, path: str, query: Mapping[str, str]) -> Pager:
        return cls(
            path,
            limit=number(query.get("limit"), "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE),
            skip=number(query.get("skip"), "skip", 0, 0, MAX_SKIP),
        )

    def url(self, skip: int) -> str:
        query = [f"limit={self.limit}"] if self.limit != PAGE_SIZE else []
        query += [f"skip={skip}"] if skip else []
        return f"{self.path}?{'&'.join(query)}" if query else self.path

    def previous_url(self) -> str | None:
        return self.url(max(0, self.skip - self.limit)) if self.skip else None

    def next_url(self, shown: int, total: int) -> str | None:
        return self.url(self.skip + self.limit) if self.skip + shown < total else None

    def links(self, shown: int, total: int) -> dict[str, Any]:
        """What ``_paging.html`` and a list's count read: ``total`` and the two links."""
        next_url = self.next_url(shown, total)
        return {"total": total, "previous_url": self.previous_url(), "next_url": next_url}


def get_pager(request: Request) -> Pager:
    """The page's ``limit`` and ``skip`` (a dependency); a bad one is a 422 naming it."""
    try:
        return Pager.parse(request.url.path, request.query_params)
    except ValidationError as exc:
        raise BadQuery(exc) from None


PagerDep = Annotated[Pager, Depends(get_pager)]


def number(value: str | None, name: str, default: int, low: int, high: int) -> int:
    """``value`` as a whole number in ``[low, high]`` (``default`` when absent), else
    ``ValidationError`` naming the parameter ``name``."""
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(name, "must be a whole number") from None
    if not low <= number <= high:
        raise ValidationError(name, f"must be between {low} and {high}")
    return number
