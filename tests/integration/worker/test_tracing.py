"""A traced task run: the Claude call and each DynamoDB transaction are spans, and no span holds what was said.

The real worker handler and the real `anthropic` SDK against the local Messages API stub, with
OpenTelemetry's SDK recording in memory (in AWS, the ADOT layer's SDK exports the same spans).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store
from tests.integration.worker.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, HttpError, Reply
from tests.support.spans import attribute_texts, recorded_spans
from tests.support.worker import Worker, failed_ids, load_event, retarget

PROMPT = "Which prime numbers lie between 7919 and 7933?"
REPLY = "Only 7927 lies strictly between them."


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    yield from recorded_spans()


@pytest.fixture
def traced(worker: Worker, stub: AnthropicStub) -> Store:
    """The handler's executor with tracing on, calling Claude with the anthropic backend at the stub."""
    return worker.use(
        claude_backend="anthropic", anthropic_base_url=stub.url, claude_timeout_s=30.0, tracing_enabled=True
    )


def test_a_traced_turn_has_the_claude_call_and_each_transaction_as_spans_without_prompt_or_reply(
    worker: Worker,
    traced: Store,
    stub: AnthropicStub,
    make_task: MakeTask,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the SDK's own switch for content in its spans turned on in the environment (it must not apply)
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE", "content")
    # And a queued task, and Claude answering it
    stub.script(Reply(text=REPLY, input_tokens=20, output_tokens=9))
    task = make_task(PROMPT)
    spans.clear()  # the task's creation is the test's setup, not the run
    # When the worker runs its record with tracing on
    response = worker.invoke(retarget(load_event("task-run-batch"), [task]))
    assert failed_ids(response) == set()
    assert traced.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    finished = spans.get_finished_spans()
    by_name = {span.name: span for span in finished}
    # Then the record, the Claude call (with the SDK's own span under it) and the transactions are spans
    assert set(by_name) == {
        "task.message",
        "chat claude-sonnet-4-6",
        "anthropic.messages.create",
        "DynamoDB.TransactWriteItems",
    }
    call = by_name["chat claude-sonnet-4-6"]
    assert call.attributes is not None
    assert (call.attributes["gen_ai.provider.name"], call.attributes["gen_ai.usage.output_tokens"]) == ("anthropic", 9)
    sdk_call = by_name["anthropic.messages.create"]
    assert sdk_call.parent is not None and sdk_call.parent.span_id == call.context.span_id
    # And under the record's span, in the order they ran: the lease, Claude, the turn's record
    record = by_name["task.message"]
    children = sorted((s for s in finished if s.parent and s.parent.span_id == record.context.span_id),
                      key=lambda s: s.start_time or 0)  # fmt: skip
    assert [s.name for s in children] == [
        "DynamoDB.TransactWriteItems",
        "chat claude-sonnet-4-6",
        "DynamoDB.TransactWriteItems",
    ]
    lease, turn = (s.attributes or {} for s in children if s.name.startswith("DynamoDB"))
    # (the lease moves the task from queued to running in its session's and owner's counters too)
    assert lease["claude_tasks.transaction.actions"] == ("task", "session", "owner")
    assert "claude-tasks-interactions" in str(turn["aws.dynamodb.table_names"])
    # And no span holds the prompt or the reply, nor any part of them
    texts = attribute_texts(finished)
    assert not [t for t in texts if PROMPT in t or REPLY in t or "7927" in t or "7919" in t]


def test_a_failed_claude_call_is_an_error_span_naming_the_error_type_only(
    worker: Worker, traced: Store, stub: AnthropicStub, make_task: MakeTask, spans: InMemorySpanExporter
) -> None:
    # Given Claude refusing the request with a message that quotes the prompt
    stub.script(HttpError(400, "invalid_request_error", f"cannot answer: {PROMPT}"))
    task = make_task(PROMPT)
    spans.clear()
    # When the worker runs the task
    worker.invoke(retarget(load_event("task-run-batch"), [task]))
    # Then the task failed, and the Claude call's span is an error naming only the error's type
    assert traced.tasks.load(task.task_id).status is TaskStatus.FAILED
    finished = spans.get_finished_spans()
    call = next(s for s in finished if s.name.startswith("chat "))
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes is not None and call.attributes["error.type"] == "FatalClaudeError"
    assert not [t for t in attribute_texts(finished) if "7919" in t]


def test_with_tracing_off_no_span_is_recorded(
    worker: Worker, stub: AnthropicStub, make_task: MakeTask, spans: InMemorySpanExporter
) -> None:
    # Given the handler as deployed without tracing
    store = worker.use(claude_backend="anthropic", anthropic_base_url=stub.url, claude_timeout_s=30.0)
    stub.script(Reply(text=REPLY))
    task = make_task(PROMPT)
    # When the worker runs the task
    worker.invoke(retarget(load_event("task-run-batch"), [task]))
    # Then it ran, and nothing was recorded
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    assert spans.get_finished_spans() == ()
