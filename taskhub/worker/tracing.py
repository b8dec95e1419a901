"""Optional OpenTelemetry traces: a task's submit, its publish and its run in one trace.

Off unless ``TASKHUB_TRACING=true``; it needs the ``[otel]`` extra (``pip install
'taskhub[otel]'``). :func:`start` instruments Celery with ``opentelemetry-instrumentation-celery``
(a producer span per message sent, a consumer span per task run, the trace context carried in
the message's headers) and opens taskhub's own spans: ``taskhub.submit`` around writing the
record and publishing it (the publish span is its child); the run span gets the record's
workspace and attempt once the worker claimed it; ``taskhub.complete``, a child of the run span,
covers the writer thread committing a success. A process that already set a tracer provider
(for example under ``opentelemetry-instrument``) keeps it; otherwise spans go to an OTLP/HTTP
exporter that reads the standard ``OTEL_EXPORTER_OTLP_*`` variables, named
``OTEL_SERVICE_NAME`` (default ``taskhub``). A pool process forks with the provider and
flushes it when it exits.

With tracing off, or before :func:`start`, every function here does nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from taskhub.domain.errors import ValidationError
from taskhub.domain.settings import Settings

log = logging.getLogger(__name__)
FLUSH_TIMEOUT_MS = 5_000
MISSING = "needs the [otel] extra: pip install 'taskhub[otel]'"

_tracer: Any = None  # an opentelemetry Tracer once started
_provider: Any = None


def start(settings: Settings) -> None:
    """Begin tracing in this process if ``settings`` ask for it (once; later calls do nothing).
    Raises ``ValidationError`` (field ``tracing``) when the ``[otel]`` extra is missing."""
    global _tracer, _provider
    if not settings.tracing or _tracer is not None:
        return
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
    except ImportError as exc:
        raise ValidationError("tracing", MISSING) from exc
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):  # nobody configured one: ours
        provider = _otlp_provider()
        trace.set_tracer_provider(provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _provider, _tracer = provider, trace.get_tracer("taskhub")


def _otlp_provider() -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ValidationError("tracing", MISSING) from exc
    name = os.environ.get("OTEL_SERVICE_NAME") or "taskhub"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


class Span:
    """What a traced block may add to its span (nothing when tracing is off)."""

    def __init__(self, span: Any = None) -> None:
        self._span = span

    def set(self, **attributes: str | int) -> None:
        if self._span is not None:
            self._span.set_attributes({f"taskhub.{k}": v for k, v in attributes.items()})


@contextmanager
def span(name: str, parent: object = None, **attributes: str | int) -> Iterator[Span]:
    """A span named ``name`` around the block, current within it (``taskhub.*`` attributes);
    a child of ``parent`` (what :func:`current` returned, in another thread) if given."""
    if _tracer is None:
        yield Span()
        return
    with _tracer.start_as_current_span(name, context=parent) as current:
        traced = Span(current)
        traced.set(**attributes)
        yield traced


def current() -> object:
    """The current trace context, to continue in another thread (``None`` when off)."""
    if _tracer is None:
        return None
    from opentelemetry import context

    return context.get_current()


def annotate(**attributes: str | int) -> None:
    """Add ``taskhub.*`` attributes to the current span (the task's run span, in a worker)."""
    if _tracer is not None:
        from opentelemetry import trace

        Span(trace.get_current_span()).set(**attributes)


def flush() -> None:
    """Send the spans still buffered (a pool process before it exits, a hub when it closes)."""
    flushing = _provider is not None and hasattr(_provider, "force_flush")
    if flushing and not _provider.force_flush(FLUSH_TIMEOUT_MS):
        log.warning("tracing: spans still unsent after %d ms", FLUSH_TIMEOUT_MS)
