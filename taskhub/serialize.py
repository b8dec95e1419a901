"""Records as plain JSON: the one shape the CLI's ``--json`` (and, later, the REST API) emit.

Datetimes become ISO 8601 strings, enums their values, tuples lists; a task's options are
flattened into the top level and its progress carries its human ``label``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from .records import Output, TaskRecord


def to_jsonable(value: object) -> Any:
    """``value`` with datetimes, enums, dataclasses and tuples turned into JSON types."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    return value


def record_to_dict(record: TaskRecord) -> dict[str, Any]:
    """A task record as a JSON-able dict, keys in the record's field order."""
    data: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name == "options":
            data.update(to_jsonable(value))
        elif f.name == "progress":
            data["progress"] = {**to_jsonable(value), "label": record.progress.label}
        else:
            data[f.name] = to_jsonable(value)
    return data


def output_to_dict(output: Output) -> dict[str, Any]:
    """A named output as a JSON-able dict."""
    result: dict[str, Any] = to_jsonable(output)
    return result
