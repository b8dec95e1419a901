"""``TaskHubClient``: the SDK over HTTP (:class:`~taskhub.sdk.TaskhubSDK`, as the local
:class:`~taskhub.hub.TaskHub`), the API's problem+json answers raised as the same error tree."""

from __future__ import annotations

import builtins
import itertools
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from taskhub.domain.batches import MAX_BATCH_ITEMS
from taskhub.domain.errors import (
    AuthError,
    ConflictError,
    InputError,
    NotFoundError,
    PlanError,
    TaskhubError,
    TaskTimeoutError,
    TransitionError,
    UnknownTaskError,
    ValidationError,
)
from taskhub.domain.paging import Page
from taskhub.domain.records import Notification, Output, TaskRecord
from taskhub.domain.registry import TaskDefinition, task_name
from taskhub.domain.serialize import record_from_dict
from taskhub.domain.states import Outcome, Status
from taskhub.domain.submissions import Seconds

API = "/api/v1"
NOT_DISPATCHED = "the server recorded it but its broker could not take it yet (HTTP 202)"
ITEM = re.compile(r"^items\.(\d+)")  # a batch item's field: items.3.input.region
INPUT_FIELD = re.compile(r"^(items\.\d+\.)?input\.")


class TaskHubClient:
    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {key}"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TaskHubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the SDK, as on TaskHub ------------------------------------------------------------

    def submit(
        self,
        task: str | TaskDefinition,
        input: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        priority: int | None = None,
        timeout: Seconds | None = None,
        retries: int | None = None,
        retry_delay: Seconds | None = None,
        deadline: datetime | None = None,
        idempotency_key: str | None = None,
        run_at: datetime | None = None,
        countdown: Seconds | None = None,
        depends_on: Sequence[str] | None = None,
    ) -> TaskRecord:
        sent = _options(
            task,
            name=name,
            priority=priority,
            timeout=timeout,
            retries=retries,
            retry_delay=retry_delay,
            deadline=deadline,
            run_at=run_at,
            countdown=countdown,
            input=input or {},
            idempotency_key=idempotency_key,
            depends_on=list(depends_on) if depends_on else None,
        )
        return _record(self._send("POST", "/tasks", json=sent))

    def submit_many(
        self,
        task: str | TaskDefinition,
        inputs: Iterable[dict[str, Any]],
        *,
        name: str | None = None,
        priority: int | None = None,
        timeout: Seconds | None = None,
        retries: int | None = None,
        retry_delay: Seconds | None = None,
        deadline: datetime | None = None,
        run_at: datetime | None = None,
        countdown: Seconds | None = None,
    ) -> builtins.list[TaskRecord]:
        """One ``POST /tasks/batch`` per :data:`MAX_BATCH_ITEMS` inputs, each all or nothing;
        their records, in input order. A refused input raises as locally (``InputError``,
        ``ValidationError``, ``PlanError``), its field naming it by its place among all the
        inputs (``items.1003.input.region``); nothing of its batch is written, but the batches
        before it were."""
        sent = _options(
            task,
            name=name,
            priority=priority,
            timeout=timeout,
            retries=retries,
            retry_delay=retry_delay,
            deadline=deadline,
            run_at=run_at,
            countdown=countdown,
            all_or_nothing=True,
        )
        records: builtins.list[TaskRecord] = []
        items = iter(inputs)
        while batch := builtins.list(itertools.islice(items, MAX_BATCH_ITEMS)):
            body = {**sent, "items": [{"input": item or {}} for item in batch]}
            try:
                reply = self._send("POST", "/tasks/batch", json=body)
            except ValidationError as exc:
                raise _shifted(exc, len(records)) from None
            records += _batch_records(reply)
        return records

    def get(self, task_id: str) -> TaskRecord:
        return record_from_dict(self._call("GET", f"/tasks/{task_id}"))

    def list(
        self,
        *,
        status: Status | str | None = None,
        task: str | None = None,
        limit: int = 25,
        skip: int = 0,
        after: str | None = None,
    ) -> Page:
        params: dict[str, Any] = {"limit": limit, "skip": skip}
        if after is not None:
            params["after"] = after
        if status is not None:
            params["status"] = Status(status).value
        if task is not None:
            params["task"] = task
        page = self._call("GET", "/tasks", params=params)
        items = [record_from_dict(item) for item in page["items"]]
        total, exact = int(page["total"]), bool(page.get("total_exact", True))
        return Page(items, total, limit, skip, page.get("next_cursor"), total_exact=exact)

    def output(self, task_id: str, name: str = "result") -> Output:
        reply = self._send("GET", f"/tasks/{task_id}/outputs/{name}")
        content_type = reply.headers.get("content-type", "").split(";")[0]
        return Output(name, content_type, reply.text, len(reply.content))

    def wait(self, task_id: str, *, timeout_s: float = 60.0, poll_s: float = 0.2) -> TaskRecord:
        give_up = time.monotonic() + timeout_s
        while True:
            record = self.get(task_id)
            if record.status.is_final:
                return record
            if time.monotonic() >= give_up:
                raise TaskTimeoutError(task_id, record.status.value, timeout_s)
            time.sleep(poll_s)

    def cancel(self, task_id: str) -> TaskRecord:
        return self._act(task_id, "cancel")

    def pause(self, task_id: str) -> TaskRecord:
        return self._act(task_id, "pause")

    def resume(self, task_id: str) -> TaskRecord:
        return self._act(task_id, "resume")

    def retry(self, task_id: str) -> TaskRecord:
        return self._act(task_id, "retry")

    def notifications(self, limit: int = 50) -> builtins.list[Notification]:
        page = self._call("GET", "/notifications", params={"limit": limit})
        return [_notification(item) for item in page["items"]]

    # -- pipelines: the API's JSON (its nodes are summaries, not records; see taskhub.sdk) --

    def submit_pipeline(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """POST the JSON form (``{name, nodes}``); the pipeline as the API answers it: ``{id,
        name, status, created_at, counts, nodes, edges}``."""
        result: dict[str, Any] = self._call("POST", "/pipelines", json=dict(spec))
        return result

    def pipeline(self, pipeline_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/pipelines/{pipeline_id}")
        return result

    def cancel_pipeline(self, pipeline_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/pipelines/{pipeline_id}/cancel")
        return result

    # -- HTTP ------------------------------------------------------------------------------

    def _act(self, task_id: str, action: str) -> TaskRecord:
        return _record(self._send("POST", f"/tasks/{task_id}/{action}"))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            reply = self._http.request(method, API + path, **kwargs)
        except httpx.HTTPError as exc:
            raise TaskhubError(f"taskhub API unreachable: {exc}") from exc
        if reply.status_code >= 400:
            raise _problem_error(reply, path)
        return reply


def _record(reply: httpx.Response) -> TaskRecord:
    """The record in an answer; a 202 says the server kept it but could not publish it yet."""
    record = record_from_dict(reply.json())
    if reply.status_code == 202:
        return replace(record, dispatch_error=NOT_DISPATCHED)
    return record


def _batch_records(reply: httpx.Response) -> builtins.list[TaskRecord]:
    """The records of an all-or-nothing batch's answer (an item with 202: not yet published)."""
    answers = reply.json()["items"]
    return [
        replace(record_from_dict(answer["task"]), dispatch_error=NOT_DISPATCHED)
        if answer["status"] == 202
        else record_from_dict(answer["task"])
        for answer in answers
    ]


def _shifted(error: ValidationError, offset: int) -> ValidationError:
    """``error`` with ``items.<n>`` renamed ``items.<offset + n>``: its place among all inputs."""
    if not offset:
        return error

    def shift(field: str) -> str:
        return ITEM.sub(lambda m: f"items.{int(m.group(1)) + offset}", field)

    errors = [(shift(field), message) for field, message in error.errors]
    if isinstance(error, InputError):
        return InputError(errors)
    return ValidationError(shift(error.field), error.message, errors=errors)


def _options(
    task: str | TaskDefinition,
    *,
    name: str | None,
    priority: int | None,
    timeout: Seconds | None,
    retries: int | None,
    retry_delay: Seconds | None,
    deadline: datetime | None,
    run_at: datetime | None,
    countdown: Seconds | None,
    **more: object,
) -> dict[str, Any]:
    """The request body's fields a submit and a batch share (and ``more``), as JSON; those
    left out (``None``) are not sent, so the task's defaults apply."""
    body = {
        "task": task_name(task),
        "name": name,
        "priority": priority,
        "timeout": _seconds(timeout),
        "retries": retries,
        "retry_delay": _seconds(retry_delay),
        "deadline": deadline.isoformat() if deadline else None,
        "run_at": run_at.isoformat() if run_at else None,
        "countdown": _seconds(countdown),
        **more,
    }
    return {key: value for key, value in body.items() if value is not None}


def _seconds(value: Seconds | None) -> float | None:
    return value.total_seconds() if isinstance(value, timedelta) else value


def _problem_error(reply: httpx.Response, path: str) -> TaskhubError:
    try:
        problem: dict[str, Any] = reply.json()
    except ValueError:
        problem = {}
    detail = str(problem.get("detail") or reply.reason_phrase)
    code = reply.status_code
    if code == 422:
        return _validation_error(problem, detail)
    if code == 404:
        parts = path.split("/")  # "/tasks/<id>/...", "/pipelines/<id>"
        if len(parts) > 2:
            return NotFoundError(parts[1].removesuffix("s"), parts[2])
        return NotFoundError("task", path)
    if code == 409 and problem.get("current_status"):
        parts = path.strip("/").split("/")
        reason = detail.partition(": ")[2] or None  # "cannot pause task X: <reason>"
        return TransitionError(parts[1], parts[-1], str(problem["current_status"]), reason)
    if code == 409:
        return ConflictError(detail)
    if code == 401:
        return AuthError(detail)
    if code == 403:
        return PlanError(
            str(problem.get("feature")), str(problem.get("current_plan")), str(problem.get("plan"))
        )
    return TaskhubError(f"HTTP {code}: {detail}")


def _validation_error(problem: dict[str, Any], detail: str) -> ValidationError:
    """The 422's error as raised locally, with every ``(field, message)`` of its ``errors``."""
    field = str(problem.get("field") or "")
    listed = problem.get("errors") or ()
    errors = [(str(e.get("field", "")), str(e.get("message", ""))) for e in listed]
    errors = errors or [(field, detail.removeprefix(f"{field}: "))]
    if problem.get("task_name"):
        name = str(problem["task_name"])
        return UnknownTaskError(name, errors[0][1].removeprefix(UnknownTaskError(name).message))
    if all(INPUT_FIELD.match(f) for f, _ in errors):
        return InputError(errors)
    return ValidationError(*errors[0], errors=errors)


def _notification(data: dict[str, Any]) -> Notification:
    when = datetime.fromisoformat
    return Notification(
        id=data["id"],
        workspace_id=data.get("workspace_id", ""),
        task_id=data["task_id"],
        outcome=Outcome(data["outcome"]),
        kind=data["kind"],
        title=data["title"],
        description=data["description"],
        created_at=when(data["created_at"]),
        read_at=when(data["read_at"]) if data.get("read_at") else None,
    )
