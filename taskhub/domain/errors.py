"""The one exception tree. HTTP and CLI map it once; driver errors are wrapped at the store.

TaskhubError
├── ValidationError          bad input (field at fault in ``.field``; all of them in ``.errors``)
│   ├── UnknownTaskError     no task registered under that name
│   ├── InputError           input that does not fit the task's signature (``input.<key>``)
│   ├── DefinitionError      a ``@task`` taskhub refuses, raised at import
│   │   └── DuplicateTaskError  the name is taken by another function
│   ├── OutputTooLargeError  an output over the configured limit
│   └── PayloadError         a webhook's body taskhub cannot use (HTTP 400)
├── NotFoundError            no such record in this workspace
├── TransitionError          the record's status does not allow the change
├── StoreError               the database failed (wraps the driver's error)
├── DispatchError            the broker failed (wraps kombu's error)
└── TaskTimeoutError         ``wait`` gave up before the task finished
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class TaskhubError(Exception):
    """Root of every error taskhub raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole, whatever the subclass's ``__init__`` takes: an error raised in a pool
        process reaches Celery's handlers as itself, not as its nearest picklable base."""
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[TaskhubError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ValidationError(TaskhubError, ValueError):
    """Input that taskhub refuses; ``field`` names the part at fault (the first, when
    ``errors`` lists several ``(field, message)`` pairs)."""

    def __init__(self, field: str, message: str, *, errors: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.errors: tuple[tuple[str, str], ...] = tuple(errors) or ((field, message),)


class UnknownTaskError(ValidationError):
    def __init__(self, task_name: str, hint: str = "") -> None:
        message = f"no task is registered under the name {task_name!r}"
        super().__init__("task", f"{message}{hint}")
        self.task_name = task_name


class InputError(ValidationError):
    """Input that does not fit the task's signature; ``errors`` lists every field at fault."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        field, message = errors[0]
        super().__init__(field, message, errors=errors)


class DefinitionError(ValidationError):
    """A ``@task`` definition taskhub refuses; raised when its module is imported."""


class DuplicateTaskError(DefinitionError):
    def __init__(self, task_name: str, registered: str, new: str) -> None:
        super().__init__(
            "name",
            f"task {task_name!r} is already registered by {registered}; {new} cannot take it"
            " (give one of them another name)",
        )
        self.task_name = task_name
        self.registered = registered
        self.new = new


class OutputTooLargeError(ValidationError):
    def __init__(self, name: str, size: int, limit: int) -> None:
        super().__init__("output", f"output {name!r} is {size} bytes; the limit is {limit} bytes")


class PayloadError(ValidationError):
    """A received webhook's body is unusable: not JSON, or a mapped pointer that is absent."""


class NotFoundError(TaskhubError, LookupError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"no {kind} {ident!r}")
        self.kind = kind
        self.ident = ident


class ConflictError(TaskhubError):
    """The request clashes with what already exists."""


class AuthError(TaskhubError):
    """Missing or invalid credentials; the message never includes the secret."""


class PlanError(TaskhubError):
    """The workspace's plan does not include ``feature``; ``plan`` is the cheapest that does."""

    def __init__(self, feature: str, current: str, plan: str) -> None:
        super().__init__(f"{feature} need the {plan} plan; this workspace is on {current}")
        self.feature = feature
        self.current = current
        self.plan = plan


class TransitionError(ConflictError):
    """A requested change the record's current status does not allow; ``reason`` says why
    (``"it is <status>"`` unless the status alone does not explain it)."""

    def __init__(self, task_id: str, action: str, status: str, reason: str | None = None) -> None:
        self.reason = reason or f"it is {status}"
        super().__init__(f"cannot {action} task {task_id}: {self.reason}")
        self.task_id = task_id
        self.action = action
        self.status = status


class StoreError(TaskhubError):
    """The database failed; ``__cause__`` holds the driver's error."""

    def __init__(self, message: str, *, disconnected: bool = False) -> None:
        super().__init__(message)
        self.disconnected = disconnected  # the connection was lost: an idempotent retry may work

    @classmethod
    def of(cls, exc: Exception) -> StoreError:
        """The error to raise ``from exc`` for a driver or SQLAlchemy error ``exc``."""
        message = f"database error: {exc.__class__.__name__}: {exc}"
        return cls(message, disconnected=_is_disconnect(exc))


def _is_disconnect(exc: Exception) -> bool:
    """Whether ``exc`` says the connection itself failed (dropped, closed, unreachable)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    names = {kind.__name__ for kind in type(exc).__mro__}
    return bool(names & {"OperationalError", "InterfaceError"})


class DispatchError(TaskhubError):
    """The broker failed; the record stays and the sweep publishes it again."""


class TaskTimeoutError(TaskhubError, TimeoutError):
    def __init__(self, task_id: str, status: str, timeout_s: float) -> None:
        super().__init__(f"task {task_id} is still {status} after {timeout_s:g} s")
        self.task_id = task_id
        self.status = status
