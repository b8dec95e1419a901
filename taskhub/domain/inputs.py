"""A task's input, checked against its body's signature ``fn(ctx, **input)``.

:class:`InputModel` is built once per definition, at registration: a pydantic model with one
field per parameter after the context, typed by its hint (an unannotated parameter takes any
JSON), required unless it has a default. ``**kwargs`` lets other keys through (typed by its
hint, if any); without it they are refused.

Input is JSON and is read as JSON, strictly: ``"5"`` is not an integer, an ISO 8601 string is a
``datetime``. The stored input stays the JSON that was submitted; the body gets the values its
hints ask for (a ``datetime``, a model, a tuple), checked and converted again in the worker just
before it runs (input its signature refuses there fails at once, with no retry) — skipped for a
body that takes no input, like the benchmark's no-op.
"""

from __future__ import annotations

import inspect
import json
import logging
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from pydantic import ValidationError as PydanticError
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticSchemaGenerationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, PydanticJsonSchemaWarning
from pydantic_core import CoreSchema

from taskhub.domain.errors import DefinitionError, InputError

log = logging.getLogger(__name__)
P = inspect.Parameter
KEYWORD_KINDS = (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)


@dataclass(frozen=True)
class InputModel:
    """What input a task accepts; ``schema`` is its JSON Schema."""

    model: type[BaseModel]
    keys: Mapping[str, str]  # field name -> input key (fields are p0, p1...: no name clashes)
    required: frozenset[str]
    accepts_extra: bool
    checked_in_worker: bool  # False for a body that takes no input (or only untyped **kwargs)
    schema: dict[str, Any]

    def check(self, raw: str, plain: Mapping[str, Any]) -> None:
        """Raise :class:`InputError` unless ``raw`` (``plain`` as JSON text) fits."""
        if plain or self.required:  # no input where none is required always fits
            self._validate(raw, plain)

    def for_body(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments the body gets: the JSON values converted to their hints.
        ``InputError`` if the worker's signature refuses them (it changed since submit)."""
        if not self.checked_in_worker:
            return kwargs
        found = self._validate(json.dumps(kwargs), kwargs)
        values = dict(found.__pydantic_extra__ or {})
        for name in found.model_fields_set & self.keys.keys():
            values[self.keys[name]] = getattr(found, name)
        return values

    def check_keys(self, keys: Iterable[str], field: str) -> None:
        """For an input always made of ``keys`` (a trigger's mapping): each one must be known,
        and every required one there."""
        given = set(keys)
        errors = (
            []
            if self.accepts_extra
            else [
                (f"{field}.{key}", "unexpected key")
                for key in sorted(given - set(self.keys.values()))
            ]
        )
        errors += [
            (field, f"maps no value for the required input {key!r}")
            for key in sorted(self.required - given)
        ]
        if errors:
            raise InputError(errors)

    def _validate(self, raw: str, plain: Mapping[str, Any]) -> BaseModel:
        try:
            return self.model.model_validate_json(raw, strict=True)
        except PydanticError as exc:
            raise InputError(problems(exc, plain)) from None


def input_model(task_name: str, fn: Callable[..., Any]) -> InputModel:
    """The input model of the body ``fn``; :class:`DefinitionError` if it cannot take input."""
    params = _input_params(task_name, fn)
    hints = _hints(fn, params)
    fields: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for index, param in enumerate(p for p in params if p.kind in KEYWORD_KINDS):
        hint = hints.get(param.name, Any)
        fields[f"p{index}"] = (hint, _field(task_name, param, hint))
        keys[f"p{index}"] = param.name
    extra = next((p for p in params if p.kind is P.VAR_KEYWORD), None)
    if extra is not None:
        fields["__pydantic_extra__"] = (dict[str, hints.get(extra.name, Any)], None)  # type: ignore[misc]
    config = ConfigDict(
        extra="allow" if extra else "forbid", arbitrary_types_allowed=True, title=task_name
    )
    model = create_model("Input", __config__=config, **fields)
    return InputModel(
        model=model,
        keys=keys,
        required=frozenset(p.name for p in params if p.kind in KEYWORD_KINDS and _required(p)),
        accepts_extra=extra is not None,
        checked_in_worker=bool(keys) or (extra is not None and extra.name in hints),
        schema=_schema(model),
    )


def _input_params(task_name: str, fn: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters after the context; positional-only ones cannot be given by key."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as exc:
        raise DefinitionError("fn", f"task {task_name!r}: no signature to read ({exc})") from None
    first = params[0] if params else None
    if first is None or first.kind not in (
        P.POSITIONAL_ONLY,
        P.POSITIONAL_OR_KEYWORD,
        P.VAR_POSITIONAL,
    ):
        raise DefinitionError(
            "fn", f"task {task_name!r}: the body takes the context first: fn(ctx, **input)"
        )
    rest = params if first.kind is P.VAR_POSITIONAL else params[1:]
    for param in rest:
        if param.kind is P.POSITIONAL_ONLY:
            raise DefinitionError(
                "fn",
                f"task {task_name!r}: parameter {param.name!r} is positional-only"
                " (input is given by key: fn(ctx, **input))",
            )
    return [p for p in rest if p.kind is not P.VAR_POSITIONAL]


def _hints(fn: Callable[..., Any], params: list[inspect.Parameter]) -> dict[str, Any]:
    """Each parameter's resolved hint; one that cannot be resolved takes any JSON."""
    try:
        resolved = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # a name only imported under TYPE_CHECKING, say: one by one below
        resolved = {}
    hints: dict[str, Any] = {}
    for param in params:
        if param.name in resolved:
            hints[param.name] = resolved[param.name]
        elif param.annotation is not P.empty:
            hints[param.name] = _resolve(fn, param)
    return hints


def _resolve(fn: Callable[..., Any], param: inspect.Parameter) -> Any:
    if not isinstance(param.annotation, str):
        return param.annotation
    try:
        return eval(param.annotation, getattr(fn, "__globals__", {}))  # what get_type_hints does
    except Exception:
        log.warning("%s: the hint of %r does not resolve; it takes any JSON", fn, param.name)
        return Any


def _required(param: inspect.Parameter) -> bool:
    return param.default is P.empty and param.kind is not P.VAR_KEYWORD


def _field(task_name: str, param: inspect.Parameter, hint: Any) -> Any:  # a FieldInfo
    """Required, or optional with its default shown in the schema (never validated, copied or
    given to the body: a key left out is left out, and the body's own default applies)."""
    if _required(param):
        if not _json_can_hold(hint):
            raise DefinitionError(
                "fn",
                f"task {task_name!r}: parameter {param.name!r} is required but JSON input"
                f" cannot hold its type {hint!r}; give it a default, or a JSON type",
            )
        return Field(alias=param.name)
    return Field(None, alias=param.name, json_schema_extra=_shown_default(param.default))


def _json_can_hold(hint: Any) -> bool:
    try:
        TypeAdapter(hint, config=ConfigDict(arbitrary_types_allowed=True)).json_schema()
    except (PydanticInvalidForJsonSchema, PydanticSchemaGenerationError):
        return False
    return True


def _shown_default(default: object) -> Callable[[dict[str, Any]], None]:
    def show(schema: dict[str, Any]) -> None:
        try:
            schema["default"] = json.loads(json.dumps(default))
        except (TypeError, ValueError):
            schema.pop("default", None)

    return show


class _Schema(GenerateJsonSchema):
    """A parameter JSON cannot hold (it has a default: that is the only value) takes none."""

    def handle_invalid_for_json_schema(
        self, schema: CoreSchema | Any, error_info: str
    ) -> JsonSchemaValue:
        return {"not": {}}


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
        return model.model_json_schema(by_alias=True, schema_generator=_Schema)


# -- errors as people read them ---------------------------------------------------------------

EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "string_type": "a string",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dataclass_type": "an object",
    "datetime_type": "an ISO 8601 datetime",
    "datetime_parsing": "an ISO 8601 datetime",
    "datetime_from_date_parsing": "an ISO 8601 datetime",
    "date_type": "an ISO 8601 date",
    "date_parsing": "an ISO 8601 date",
    "date_from_datetime_parsing": "an ISO 8601 date",
    "time_type": "an ISO 8601 time",
    "time_parsing": "an ISO 8601 time",
    "uuid_type": "a UUID",
    "uuid_parsing": "a UUID",
    "none_required": "null",
}
SHOWN_CHARS = 60


def problems(exc: PydanticError, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, message)`` per field at fault, e.g. ``("input.region", "field required")``."""
    found: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        field = field_path(error["loc"], error["type"], data)
        message = describe(error)
        if message not in found.setdefault(field, []):
            found[field].append(message)
    return [(field, _joined(messages)) for field, messages in found.items()]


def field_path(loc: tuple[int | str, ...], kind: str, data: object) -> str:
    """``input.<key>...``: the parts of ``loc`` that are places in ``data`` (the rest name a
    union's members), and the key a ``missing`` error is about."""
    parts, value = ["input"], data
    for index, part in enumerate(loc):
        if _holds(value, part):
            value = value[part]  # type: ignore[index]
        elif not (index == len(loc) - 1 and kind == "missing"):
            continue  # a union member's name, not a place in the input
        parts.append(str(part))
    return ".".join(parts)


def _holds(value: object, part: int | str) -> bool:
    if isinstance(value, Mapping):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def describe(error: Mapping[str, Any]) -> str:
    kind, got = error["type"], shown(error.get("input"))
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unexpected key"
    if kind == "needs_python_object":
        return "cannot be given as JSON input"
    if kind in EXPECTED:
        return f"expected {EXPECTED[kind]}, got {got}"
    message = str(error["msg"])
    if message.startswith("Input should be "):
        return f"expected {message.removeprefix('Input should be ')}, got {got}"
    return f"{message[:1].lower()}{message[1:]}, got {got}"


def shown(value: object) -> str:
    """A value as a message quotes it: a string in quotes, anything else as JSON."""
    try:
        text = repr(value) if isinstance(value, str) else json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 3]}..."


def _joined(messages: list[str]) -> str:
    """``expected an integer or a string, got [1]`` for a union; else each message once."""
    gots = {m.partition(", got ")[2] for m in messages}
    if len(messages) > 1 and len(gots) == 1 and all(m.startswith("expected ") for m in messages):
        expected = [m.removeprefix("expected ").partition(", got ")[0] for m in messages]
        return f"expected {' or '.join(expected)}, got {gots.pop()}"
    return "; ".join(messages)
