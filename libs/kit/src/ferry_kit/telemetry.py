"""OpenTelemetry setup: traces (and the propagator) by setting: off, console or OTLP."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from .settings import KitSettings

_configured = False


def configure(settings: KitSettings, service: str) -> TracerProvider:
    global _configured
    provider = TracerProvider(resource=Resource.create({"service.name": f"ferry-{service}"}))
    if settings.telemetry == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif settings.telemetry == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    # Off, nothing is exported: a global provider would only make FastAPI build a span for
    # every request of every service (its tracing runs once one is installed).
    if settings.telemetry != "off" and not _configured:
        trace.set_tracer_provider(provider)
        _configured = True
    return provider


def current_trace_headers() -> dict[str, str]:
    """The W3C trace context of the current span, to store with an outbox row."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
