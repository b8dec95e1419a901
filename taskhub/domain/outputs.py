"""Named outputs: text stays text, anything else is stored as JSON; size is capped."""

from __future__ import annotations

import json

from taskhub.domain.errors import OutputTooLargeError, ValidationError
from taskhub.domain.records import Output


class OutputCodec:
    """Named outputs: text stays text, anything else is stored as JSON; size is capped."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def encode(self, name: str, value: object) -> Output:
        if isinstance(value, str):
            content, content_type = value, "text/plain"
        else:
            try:
                content, content_type = json.dumps(value), "application/json"
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    "output", f"{name!r} is not JSON-serialisable: {exc}"
                ) from exc
        size = len(content.encode())
        if size > self.max_bytes:
            raise OutputTooLargeError(name, size, self.max_bytes)
        return Output(name, content_type, content, size)
