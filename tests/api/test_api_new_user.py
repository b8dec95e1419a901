"""What a new user meets first on the API (issue 12): an idempotent repeat answers the whole
record, and a body that is not JSON, or is malformed JSON, is a problem naming ``body``."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from ..support import Worker
from .api_tasks_support import created, wait_until_final

Api = Callable[..., httpx.Client]


def test_an_idempotent_repeat_answers_the_record_with_its_outputs(api: Api, worker: Worker) -> None:
    session = api()
    first = created(session, "tests.outputs", idempotency_key="nightly-1")
    done = wait_until_final(session, first["id"])
    assert done["status"] == "completed"
    assert done["output_names"] == ["notes.txt", "result", "stats"]

    repeat = session.post(
        "/api/v1/tasks", json={"task": "tests.outputs", "idempotency_key": "nightly-1"}
    )
    assert repeat.status_code == 200, repeat.text
    assert repeat.json() == done  # the same record, as GET reads it
