"""Task ids as people type them: a whole id, or a unique prefix of one (``taskhub list`` shows
8 characters; every command that takes an id takes a prefix)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from taskhub.domain.errors import NotFoundError, ValidationError

MIN_ID_PREFIX = 4  # the shortest prefix looked up
MAX_CANDIDATES = 10  # the ids an ambiguous prefix lists
ID_LENGTH = 36  # a uuid4's text
ID_CHARS = re.compile(r"[0-9a-f-]+")


def prefix_of(ref: str) -> str | None:
    """What to look ``ref`` up by: its lowercase prefix, or ``None`` when it is a whole id (or
    no id at all, which the lookup then finds not found). Fewer than :data:`MIN_ID_PREFIX`
    characters is a ``ValidationError``."""
    prefix = ref.strip().lower()
    if len(prefix) >= ID_LENGTH or not ID_CHARS.fullmatch(prefix):
        return None
    if len(prefix) < MIN_ID_PREFIX:
        raise ValidationError(
            "task_id", f"{ref!r} is too short: give at least {MIN_ID_PREFIX} characters"
        )
    return prefix


def the_one(ref: str, ids: Sequence[str]) -> str:
    """The one id ``ref`` names among ``ids`` (those it starts, at most one more than
    :data:`MAX_CANDIDATES`): none is a ``NotFoundError``, several a ``ValidationError``."""
    if not ids:
        raise NotFoundError("task", ref)
    if len(ids) > 1:
        more = ", ..." if len(ids) > MAX_CANDIDATES else ""
        listed = ", ".join(ids[:MAX_CANDIDATES]) + more
        raise ValidationError(
            "task_id", f"{ref!r} is ambiguous, it starts several task ids: {listed}"
        )
    return ids[0]
