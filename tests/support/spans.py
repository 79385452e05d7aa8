"""The spans the service records, caught in memory: OpenTelemetry's SDK, as the ADOT layer installs it in AWS.

The global tracer provider can be set once per process, so every test shares one, with one in-memory
exporter that each test empties first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@cache
def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """A fixture's body: the exporter, emptied, and emptied again after the test."""
    exporter = _exporter()
    exporter.clear()
    yield exporter
    exporter.clear()


def attribute_texts(spans: Sequence[ReadableSpan]) -> list[str]:
    """Every attribute value, event attribute and status description of `spans`, as text."""
    texts: list[str] = []
    for span in spans:
        for attributes in [span.attributes or {}, *((event.attributes or {}) for event in span.events)]:
            for value in attributes.values():
                texts.extend(map(str, value) if isinstance(value, tuple | list) else [str(value)])
        texts.append(span.name)
        if span.status.description:
            texts.append(span.status.description)
    return texts
