"""Tasks a real worker runs, seen over HTTP: outputs, attempts, and server-sent events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from taskhub import Settings, TaskHub
from taskhub import streams as sse
from taskhub.api import create_app
from taskhub.api.routes_tasks import _attachment

from ..support import Worker, wait_for
from .api_support import client, new_workspace, serving
from .api_tasks_support import Stream, created, open_stream, problem, wait_until_final

Api = Callable[..., httpx.Client]


def test_outputs_progress_and_downloads(api: Api, worker: Worker) -> None:
    session = api()
    task_id = created(session, "tests.outputs")["id"]
    record = wait_until_final(session, task_id)
    assert record["status"] == "completed", record
    assert record["output_names"] == ["notes.txt", "result", "stats"]
    assert record["progress"]["percent"] == 100  # completed
    assert record["progress"]["message"] == record["progress"]["label"] == "half way"
    assert record["attempt"] == 1 and record["attempts"] == [] and record["error"] is None
    assert record["started_at"] and record["finished_at"] and record["worker"]

    base = f"/api/v1/tasks/{task_id}/outputs"
    result = session.get(f"{base}/result")
    assert result.headers["content-type"].startswith("text/plain") and result.text == "done"
    stats = session.get(f"{base}/stats")
    assert stats.headers["content-type"] == "application/json" and stats.json() == {"rows": 3}
    notes = session.get(f"{base}/notes.txt")
    assert notes.headers["content-type"].startswith("text/plain") and notes.text == "hello\n"
    assert "content-disposition" not in notes.headers
    download = session.get(f"{base}/notes.txt", params={"download": "1"})
    assert download.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    assert download.text == "hello\n"
    problem(session.get(f"{base}/missing.csv"), 404)


def test_an_output_name_that_is_not_a_plain_filename_is_escaped() -> None:
    assert _attachment('a b"c.txt') == (
        "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%20b%22c.txt"
    )
    assert _attachment("rapport–été.csv").startswith('attachment; filename="rapport__t_.csv";')


def test_a_failed_task_shows_its_attempts_and_can_run_again(api: Api, worker: Worker) -> None:
    session = api()
    task_id = created(session, "tests.flaky", input={"fail_times": 0, "permanent": True})["id"]
    failed = wait_until_final(session, task_id)
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "PermanentError"
    assert failed["error"]["message"] == "this will never work"
    assert "Traceback" in failed["error"]["traceback"]
    assert [a["error"]["type"] for a in failed["attempts"]] == ["PermanentError"]
    assert problem(session.post(f"/api/v1/tasks/{task_id}/cancel"), 409)["current_status"] == (
        "failed"
    )
    again = session.post(f"/api/v1/tasks/{task_id}/retry")
    assert again.status_code == 200 and again.json()["run"] == 2
    assert wait_until_final(session, task_id)["status"] == "failed"


# -- server-sent events -------------------------------------------------------------------------


def test_a_task_stream_follows_steps_and_ends_after_the_final_event(
    api: Api, worker: Worker, scratch: Path
) -> None:
    session = api()
    gate, log = scratch / "gate", scratch / "log"
    task_id = created(session, "tests.pipeline", input={"log_path": str(log), "gate": str(gate)})[
        "id"
    ]
    with open_stream(session, f"/api/v1/tasks/{task_id}/events") as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        stream = Stream(reply)
        first = stream.next()
        assert first.event == "task" and first.retry == 2000
        assert first.data["id"] == task_id and first.data["task_name"] == "tests.pipeline"
        assert datetime.fromisoformat(first.id or "") == datetime.fromisoformat(
            first.data["updated_at"]
        )

        def at_crunch(event: object) -> bool:
            data = getattr(event, "data", {})
            return data["step"] == {"name": "crunch", "status": "running"}

        # the worker may already be at crunch when the stream opens: then it is the first event
        crunching = (first if at_crunch(first) else stream.until(at_crunch)[-1]).data
        assert crunching["status"] == "in_progress"
        assert crunching["progress"]["label"] == "Step 2 of 3"
        gate.touch()
        rest = stream.until(lambda e: e.data["status"] in ("completed", "failed"))
        assert rest[-1].data["status"] == "completed"
        assert stream.rest() == []  # the server ended the stream after the final event
    updated = [datetime.fromisoformat(e.data["updated_at"]) for e in [first, *rest]]
    assert updated == sorted(updated)


def test_a_task_stream_reports_each_change_a_person_makes(idle_api: Api) -> None:
    session = idle_api()
    task_id = created(session)["id"]
    with open_stream(session, f"/api/v1/tasks/{task_id}/events") as reply:
        stream = Stream(reply)
        assert stream.next().data["status"] == "pending"
        for action, status in (("pause", "paused"), ("resume", "pending"), ("cancel", "cancelled")):
            session.post(f"/api/v1/tasks/{task_id}/{action}").raise_for_status()
            assert stream.until(lambda e: True)[-1].data["status"] == status
        assert stream.rest() == []


def test_a_finished_task_stream_sends_its_final_state_and_ends(idle_api: Api) -> None:
    session = idle_api()
    task_id = created(session)["id"]
    session.post(f"/api/v1/tasks/{task_id}/cancel").raise_for_status()
    with open_stream(session, f"/api/v1/tasks/{task_id}/events") as reply:
        events = Stream(reply).rest()
    assert [(e.event, e.data["status"]) for e in events] == [("task", "cancelled")]


def test_the_workspace_stream_sends_only_its_own_tasks_and_resumes(
    idle_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, theirs = idle_api(), idle_api()
    since = created(mine)["created_at"]  # a task from before the stream is not sent
    with open_stream(mine, "/api/v1/events", params={"since": since}) as reply:
        stream = Stream(reply)
        created(theirs)
        ours = created(mine)
        event = stream.next(keep=lambda e: e.event == "task")
        assert event.data["id"] == ours["id"] and event.data["status"] == "pending"
        mine.post(f"/api/v1/tasks/{ours['id']}/cancel").raise_for_status()
        cancelled = stream.next(keep=lambda e: e.event == "task")
        assert (cancelled.data["id"], cancelled.data["status"]) == (ours["id"], "cancelled")
        monkeypatch.setattr(sse, "KEEPALIVE_S", 0.2)
        quiet = stream.next()
        assert quiet.comments == ["keep-alive"] and quiet.event is None
    resumed = {"Last-Event-ID": event.id or ""}
    with open_stream(mine, "/api/v1/events", headers=resumed) as reply:
        again = Stream(reply).next(keep=lambda e: e.event == "task")
        assert again.id == cancelled.id and again.data["status"] == "cancelled"


def test_a_since_without_an_offset_is_utc(idle_api: Api) -> None:
    session = idle_api()
    record = created(session)
    before = datetime.fromisoformat(record["created_at"]) - timedelta(milliseconds=1)
    since = before.replace(tzinfo=None).isoformat()  # no offset
    with open_stream(session, "/api/v1/events", params={"since": since}) as reply:
        first = Stream(reply).next(keep=lambda e: e.event == "task")
    assert first.data["id"] == record["id"]


def test_bad_stream_positions_are_422(idle_api: Api) -> None:
    session = idle_api()
    problem(session.get("/api/v1/events", params={"since": "yesterday"}), 422, "since")
    bad = session.get("/api/v1/events", headers={"Last-Event-ID": "42"})
    problem(bad, 422, "Last-Event-ID")


def test_streams_end_when_the_client_disconnects(idle_settings: Settings) -> None:
    hub = TaskHub(idle_settings)
    app = create_app(hub)
    try:
        with serving(hub, app) as url:
            _, key = new_workspace(hub)
            with client(url, key) as session:
                task_id = created(session)["id"]
                for path in ("/api/v1/events", f"/api/v1/tasks/{task_id}/events"):
                    with open_stream(session, path) as reply:
                        assert reply.status_code == 200
                        wait_for(lambda: app.state.open_streams == 1, what="the stream to open")
                    wait_for(lambda: app.state.open_streams == 0, what="the stream to end")
    finally:
        hub.close()
