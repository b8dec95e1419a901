"""The one exception tree. HTTP and CLI map it once; driver errors are wrapped at the store.

TaskhubError
├── ValidationError          bad input (field at fault in ``.field``)
│   ├── UnknownTaskError     no task registered under that name
│   ├── OutputTooLargeError  an output over the configured limit
│   └── PayloadError         a webhook's body taskhub cannot use (HTTP 400)
├── NotFoundError            no such record in this workspace
├── TransitionError          the record's status does not allow the change
├── StoreError               the database failed (wraps the driver's error)
├── DispatchError            the broker failed (wraps kombu's error)
└── TaskTimeoutError         ``wait`` gave up before the task finished
"""

from __future__ import annotations


class TaskhubError(Exception):
    """Root of every error taskhub raises on purpose."""


class ValidationError(TaskhubError, ValueError):
    """Input that taskhub refuses; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownTaskError(ValidationError):
    def __init__(self, task_name: str) -> None:
        super().__init__("task", f"no task is registered under the name {task_name!r}")
        self.task_name = task_name


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

    @classmethod
    def of(cls, exc: Exception) -> StoreError:
        """The error to raise ``from exc`` for a driver or SQLAlchemy error ``exc``."""
        return cls(f"database error: {exc.__class__.__name__}: {exc}")


class DispatchError(TaskhubError):
    """The broker failed; the record stays and the sweep publishes it again."""


class TaskTimeoutError(TaskhubError, TimeoutError):
    def __init__(self, task_id: str, status: str, timeout_s: float) -> None:
        super().__init__(f"task {task_id} is still {status} after {timeout_s:g} s")
        self.task_id = task_id
        self.status = status
