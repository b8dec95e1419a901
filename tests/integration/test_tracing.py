"""``TASKHUB_TRACING=true``: a task's submit, publish, run and completion are one OpenTelemetry
trace, sent over OTLP/HTTP by the process that submitted it (the CLI) and by a real worker.

The collector is this test's: an HTTP server that decodes the OTLP protobuf requests. Tracing is
process-wide once started, so only the subprocesses trace; this process only receives.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from taskhub import Settings, Status, TaskHub

from ..conftest import make_settings
from ..support import ROOT, running_worker, settings_env, wait_for, wait_for_status

Spans = list[dict[str, Any]]


class Collector(ThreadingHTTPServer):
    """Receives ``POST /v1/traces`` and keeps each span: name, ids, attributes, service."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: Spans = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self) -> Spans:
        with self.lock:
            return list(self.spans)


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        spans = [
            _span(scope_span, resource.resource)
            for resource in request.resource_spans
            for scopes in resource.scope_spans
            for scope_span in scopes.spans
        ]
        with self.server.lock:
            self.server.spans += spans
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value"))


def _span(span: Any, resource: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace": span.trace_id.hex(),
        "id": span.span_id.hex(),
        "parent": span.parent_span_id.hex(),
        "attributes": {a.key: _value(a.value) for a in span.attributes},
        "service": {a.key: _value(a.value) for a in resource.attributes}.get("service.name"),
    }


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_traced_task_is_one_trace_from_its_submit_to_its_completion(
    settings: Settings, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker and a CLI that trace, exporting to our collector (the standard variables)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # ms: spans go out promptly
    queue = f"q-{uuid.uuid4().hex[:8]}"
    traced = make_settings(
        settings.home, database_url=settings.database_url, default_queue=queue, tracing=True
    )
    hub = TaskHub(make_settings(settings.home, database_url=settings.database_url))
    try:
        with running_worker(traced, concurrency=1, name="traced"):
            # When a task is submitted from the command line and runs
            submitted = subprocess.run(
                [sys.executable, "-m", "taskhub.cli", "submit", "tests.echo", "-q"],
                input=b"",
                capture_output=True,
                cwd=ROOT,
                env=settings_env(traced),
                timeout=60,
            )
            assert submitted.returncode == 0, submitted.stderr.decode()
            task_id = submitted.stdout.decode().strip()
            record = wait_for_status(hub, task_id, Status.COMPLETED)

            def spans_of_the_task() -> Spans | None:
                spans = collector.received()
                names = {s["name"] for s in spans}
                wanted = {"taskhub.submit", "apply_async/tests.echo", "run/tests.echo"}
                wanted.add("taskhub.complete")
                return spans if wanted <= names else None

            spans = wait_for(spans_of_the_task, timeout_s=30, what="the task's four spans")
    finally:
        hub.close()
    by_name = {s["name"]: s for s in spans}
    names = ("taskhub.submit", "apply_async/tests.echo", "run/tests.echo", "taskhub.complete")
    submit, publish, run, complete = (by_name[n] for n in names)
    # Then the four are one trace: the publish is the submit's child, the run the publish's,
    # and committing its success (in the pool process's writer thread) the run's
    assert submit["trace"] == publish["trace"] == run["trace"] == complete["trace"]
    assert publish["parent"] == submit["id"] and run["parent"] == publish["id"]
    assert complete["parent"] == run["id"]
    assert complete["attributes"]["taskhub.task_id"] == task_id
    # And taskhub's attributes name the task, its workspace and the attempt that ran
    assert submit["attributes"]["taskhub.task_id"] == task_id
    assert submit["attributes"]["taskhub.task_name"] == "tests.echo"
    assert submit["attributes"]["taskhub.workspace_id"] == record.workspace_id
    assert run["attributes"]["taskhub.workspace_id"] == record.workspace_id
    assert run["attributes"]["taskhub.attempt"] == 1
    assert run["attributes"]["celery.task_name"] == "tests.echo"
    # And both processes name themselves as the service "taskhub" (no OTEL_SERVICE_NAME set)
    assert {s["service"] for s in (submit, publish, run, complete)} == {"taskhub"}


def test_tracing_without_the_otel_extra_is_a_clear_error() -> None:
    # Given a Python where the OpenTelemetry packages cannot be imported
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from taskhub.domain.errors import ValidationError\n"
        "from taskhub.domain.settings import Settings\n"
        "from taskhub.worker import tracing\n"
        "try:\n"
        "    tracing.start(Settings(tracing=True))\n"
        "except ValidationError as exc:\n"
        "    print(exc.field, '|', exc)\n"
    )
    # When tracing starts, Then it names the setting and the extra to install
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, cwd=ROOT, check=True, timeout=60
    )
    assert out.stdout.decode().strip().startswith("tracing | ")
    assert "pip install 'taskhub[otel]'" in out.stdout.decode()
