"""``@task``: register a function as a taskhub task, with its defaults, by name.

Definitions are plain data collected at import time (like Celery's ``shared_task``); each
:class:`~taskhub.hub.TaskHub` binds them to its own Celery app. Each carries the model of the
input its body takes (:mod:`taskhub.domain.inputs`), built once here. A name is one function's: a
second function registering it raises :class:`~taskhub.domain.errors.DuplicateTaskError` (the same
function again, as ``importlib.reload`` does, replaces it).
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from taskhub.domain.errors import DuplicateTaskError, UnknownTaskError, ValidationError
from taskhub.domain.inputs import InputModel, input_model

F = TypeVar("F", bound=Callable[..., Any])

PRIORITY_MIN, PRIORITY_MAX, DEFAULT_PRIORITY = 0, 9, 5
MAX_TITLE_CHARS = 120  # a default display name longer than this is cut, with an ellipsis
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class TaskDefinition:
    """A registered task: the function and the defaults every submission starts from."""

    name: str
    fn: Callable[..., Any] = field(compare=False)
    description: str = ""
    timeout_s: float | None = None
    retries: int = 0
    retry_delay_s: float = 1.0
    retry_backoff: float = 2.0
    priority: int = DEFAULT_PRIORITY
    queue: str | None = None
    dont_retry: tuple[type[BaseException], ...] = ()
    steps: tuple[str, ...] = ()
    inputs: InputModel = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", input_model(self.name, self.fn))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @property
    def title(self) -> str:
        """The display name of its tasks when none is given: :func:`summary` of its
        description (the docstring), else its name."""
        return summary(self.description) or self.name


def summary(description: str, limit: int = MAX_TITLE_CHARS) -> str:
    """A docstring's summary line: its first paragraph on one line (a summary may wrap), only
    the first sentence when that paragraph has more, cut to ``limit`` with an ellipsis."""
    paragraph = " ".join(description.strip().split("\n\n")[0].split())
    sentence = SENTENCE_END.split(paragraph, maxsplit=1)[0]
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    if not sentence[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]  # no half word
    return cut.rstrip(",;: ") + "…"


REGISTRY: dict[str, TaskDefinition] = {}


@overload
def task(fn: F, /) -> TaskDefinition: ...
@overload
def task(
    *,
    name: str | None = ...,
    description: str | None = ...,
    timeout_s: float | None = ...,
    retries: int = ...,
    retry_delay_s: float = ...,
    retry_backoff: float = ...,
    priority: int = ...,
    queue: str | None = ...,
    dont_retry: tuple[type[BaseException], ...] = ...,
    steps: tuple[str, ...] = ...,
) -> Callable[[F], TaskDefinition]: ...


def task(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Register ``fn(ctx, **input)`` as a task. Usable bare (``@task``) or with options."""

    def register(func: Callable[..., Any]) -> TaskDefinition:
        name = options.pop("name", None) or f"{func.__module__}.{func.__qualname__}"
        description = options.pop("description", None) or inspect.getdoc(func) or ""
        definition = TaskDefinition(name=name, fn=func, description=description, **options)
        validate_definition(definition)
        _check_name_is_free(definition)
        REGISTRY[name] = definition
        return definition

    return register(fn) if fn is not None else register


def validate_definition(d: TaskDefinition) -> None:
    check_priority(d.priority)
    if d.timeout_s is not None and d.timeout_s <= 0:
        raise ValidationError("timeout_s", "must be greater than 0")
    if d.retries < 0:
        raise ValidationError("retries", "must be 0 or more")
    if d.retry_delay_s < 0 or d.retry_backoff < 1:
        raise ValidationError("retry_delay_s", "delay must be >= 0 and backoff >= 1")
    if len(set(d.steps)) != len(d.steps):
        raise ValidationError("steps", "step names must be unique")


def _check_name_is_free(new: TaskDefinition) -> None:
    """The same function again (a reload) may replace itself; another one may not."""
    registered = REGISTRY.get(new.name)
    if registered is not None and _where(registered.fn) != _where(new.fn):
        raise DuplicateTaskError(new.name, _where(registered.fn), _where(new.fn))


def _where(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def check_priority(priority: object) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValidationError("priority", f"must be an integer, got {priority!r}")
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise ValidationError(
            "priority", f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}, got {priority}"
        )
    return priority


def lookup(name: str) -> TaskDefinition:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownTaskError(name, _hint(name)) from None


def _hint(name: str) -> str:
    """What to tell someone whose task name is not registered in this process."""
    close = difflib.get_close_matches(name, REGISTRY, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return " (is the module defining it imported here? list it in TASKHUB_IMPORTS)"


def task_name(task: str | TaskDefinition) -> str:
    """The registered name ``task`` stands for."""
    return task.name if isinstance(task, TaskDefinition) else task
