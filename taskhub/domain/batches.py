"""Many tasks of one kind in one request (pure): each item's own options over the shared
ones, and what became of an item the service refused.

An item's error names it: ``items.3.input.region`` (its index in the request, then the field
as a single submission would name it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from taskhub.domain.errors import InputError, PlanError, ValidationError
from taskhub.domain.submissions import Submission

MAX_BATCH_ITEMS = 1000  # the most items one batch request takes
WHEN = ("scheduled_for", "countdown")  # run_at or countdown: an item giving one replaces both
OWN = tuple(f.name for f in fields(Submission) if f.name not in ("type", "origin", *WHEN))


@dataclass(frozen=True)
class BatchItem:
    """One task of a batch: its input, and the options it sets itself (``None``: the shared)."""

    input: object = None
    ask: Submission | None = None


def merged(shared: Submission, own: Submission | None) -> Submission:
    """``shared`` with what ``own`` sets (not ``None``) in its place; an item that gives
    ``run_at`` or ``countdown`` replaces both (it may not give one while the batch gives the
    other)."""
    if own is None:
        return shared
    changes = {name: getattr(own, name) for name in OWN if getattr(own, name) is not None}
    if own.scheduled_for is not None or own.countdown is not None:
        changes |= {name: getattr(own, name) for name in WHEN}
    return replace(shared, **changes)


def item_field(index: int, field: str) -> str:
    """``items.3.input.region``: an item's field, named within the request."""
    return f"items.{index}.{field}" if field else f"items.{index}"


@dataclass(frozen=True)
class ItemRefused:
    """An item not submitted: ``error`` is what submitting it alone would have raised, its
    fields named within the request (:func:`item_field`)."""

    index: int
    error: ValidationError | PlanError


def refused(index: int, error: ValidationError | PlanError) -> ItemRefused:
    """The item at ``index`` refused with ``error``, its fields renamed ``items.<index>....``."""
    if isinstance(error, PlanError):
        return ItemRefused(index, error)
    named = [(item_field(index, field), message) for field, message in error.errors]
    if isinstance(error, InputError):
        return ItemRefused(index, InputError(named))
    first, message = item_field(index, error.field), error.message
    return ItemRefused(index, ValidationError(first, message, errors=named))


def all_refused(items: Sequence[ItemRefused]) -> ValidationError | PlanError:
    """One error for a batch refused whole: every item's field errors (a plan's refusal as
    ``items.<n>``), or the plan's error if that is all there is."""
    named: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item.error, PlanError):
            named.append((item_field(item.index, ""), str(item.error)))
        else:
            named += item.error.errors
    if all(isinstance(item.error, PlanError) for item in items):
        return items[0].error
    if all(isinstance(item.error, InputError) for item in items):
        return InputError(named)
    return ValidationError(*named[0], errors=named)
