"""A traced API request: its transaction is a span, and no span holds the prompt it carried."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from claude_tasks.core.config import Settings
from claude_tasks.core.records import Session
from tests.support.spans import attribute_texts, recorded_spans
from tests.unit.api.conftest import Call

PROMPT = "Summarise the incident report for ticket 48151623."


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    yield from recorded_spans()


def test_creating_a_task_traces_its_transaction_without_the_prompt(
    call: Call, configure: Callable[..., Settings], session: Session, spans: InMemorySpanExporter
) -> None:
    # Given the API with tracing on
    configure(tracing_enabled=True)
    # When a task is created
    result = call("create_task", path={"session_id": session.session_id}, body={"prompt": PROMPT})
    assert result.status == 202
    # Then its one transaction (the session's counter and the task) is a span naming both actions
    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == ["DynamoDB.TransactWriteItems"]
    attributes = finished[0].attributes or {}
    # (the session's and the owner's counters move in the creation's transaction)
    assert set(attributes["claude_tasks.transaction.actions"]) == {"session", "task", "owner"}
    # And no span holds the prompt, nor any part of it
    assert not [t for t in attribute_texts(finished) if "48151623" in t or "incident" in t]


def test_with_tracing_off_a_request_records_no_span(call: Call, session: Session, spans: InMemorySpanExporter) -> None:
    # When a task is created by the API as configured by default
    result = call("create_task", path={"session_id": session.session_id}, body={"prompt": PROMPT})
    # Then nothing was recorded
    assert result.status == 202 and spans.get_finished_spans() == ()
