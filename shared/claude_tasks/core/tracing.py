"""Spans of the work a trace is read for — each Claude call, each DynamoDB transaction — through OpenTelemetry.

Why OpenTelemetry's API in our code, and nothing else of it (measured on this machine; the README's
design notes have the figures): Powertools' Tracer needs `aws-xray-sdk`, in maintenance since
2026-02-25 and unsupported from 2027-02-25, and importing it was ~0.1 s of every cold start
whether or not anyone read a trace. The OpenTelemetry API records nothing by itself: its spans
are no-ops until an SDK is installed, which in AWS is the ADOT Lambda layer the template adds
when `Tracing=active` and `AdotLayerArn` is given (it also exports to X-Ray and traces botocore
and httpx calls underneath ours). Lambda's active tracing alone shows only the invocation.

`from opentelemetry import trace` costs ~0.03 s of CPU, so this module imports it only when
`TRACING_ENABLED` is on, on the first span: a function that does not trace never loads it.

What a span may carry: names, ids, counts, token figures and error types — never a prompt,
a reply, an exception's message or an item's content (`tests/integration/worker/test_tracing.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span as OtelSpan

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int]
Attributes = Mapping[str, AttributeValue | None]
INSTRUMENTATION_NAME = "claude_tasks"

_lock = threading.Lock()
_otel_tracer: Any = None  # opentelemetry.trace.Tracer once the first span was asked for


class Span:
    """The open span of a traced block: attributes known only at its end are added through it.

    With tracing off it is `NO_SPAN`, which drops them.
    """

    def __init__(self, otel: OtelSpan | None) -> None:
        self._otel = otel

    def set(self, attributes: Attributes) -> None:
        """Add `attributes` (None values are left out). Identifiers and figures only: never content."""
        if self._otel is not None:
            self._otel.set_attributes(_present(attributes))


NO_SPAN = Span(None)


class Tracer:
    """Opens spans when `enabled` (the settings' `tracing_enabled`); otherwise does nothing and imports nothing."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    @contextmanager
    def span(self, name: str, attributes: Attributes | None = None) -> Iterator[Span]:
        """A span named `name` around the block, a child of the current one (the invocation's, under ADOT).

        An exception leaves the block as it came; the span records only its type (a message may
        quote a prompt or an item), with the status ERROR.
        """
        if not self.enabled:
            yield NO_SPAN
            return
        tracer = _tracer()
        with tracer.start_as_current_span(
            name, attributes=_present(attributes or {}), record_exception=False, set_status_on_exception=False
        ) as current:
            try:
                yield Span(current)
            except BaseException as error:
                from opentelemetry.trace import Status, StatusCode

                current.set_attribute("error.type", type(error).__name__)
                current.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise


def _present(attributes: Attributes) -> dict[str, AttributeValue]:
    return {name: value for name, value in attributes.items() if value is not None}


def _tracer() -> Any:
    """The process's OpenTelemetry tracer, from the global provider (the SDK's, where one is installed)."""
    global _otel_tracer
    if _otel_tracer is None:
        with _lock:
            if _otel_tracer is None:
                from opentelemetry import trace  # deferred: only a traced function pays for the import

                _otel_tracer = trace.get_tracer(INSTRUMENTATION_NAME)
    return _otel_tracer
