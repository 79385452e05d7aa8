"""Each Claude call the worker makes is in its metrics: latency, tokens by kind, cost, or the kind of failure.

The real worker handler, the real `anthropic` SDK against the Messages API stub; the figures are read
from the CloudWatch embedded metric format (EMF) blob Powertools prints when the invocation ends.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store
from tests.integration.worker.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, HttpError, Reply
from tests.support.worker import Worker, failed_ids, load_event, retarget


def _emitted(output: str) -> dict[str, Any]:
    """The metric values of the invocation's EMF blob (one JSON line with an `_aws` key), each summed."""
    blobs = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line]
    assert len(blobs) == 1, output
    (directive,) = blobs[0]["_aws"]["CloudWatchMetrics"]
    values = {metric["Name"]: blobs[0][metric["Name"]] for metric in directive["Metrics"]}
    return {name: sum(value) if isinstance(value, list) else value for name, value in values.items()}


def test_an_answered_call_publishes_its_latency_tokens_and_cost(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Claude answering with known token counts
    stub.script(Reply(text="4", input_tokens=21, output_tokens=7, cache_read_input_tokens=3))
    task = make_task("What is 2 + 2?")
    capsys.readouterr()
    # When the worker runs the task
    assert failed_ids(worker.invoke(retarget(load_event("task-run-batch"), [task]))) == set()
    # Then the invocation's metrics hold the call's tokens, its cost and a latency no longer than the turn took
    done = anthropic.tasks.load(task.task_id)
    assert done.status is TaskStatus.SUCCEEDED
    emitted = _emitted(capsys.readouterr().out)
    assert emitted["ClaudeCalls"] == 1.0
    assert (emitted["ClaudeInputTokens"], emitted["ClaudeOutputTokens"], emitted["ClaudeCacheReadTokens"]) == (
        21.0,
        7.0,
        3.0,
    )
    assert emitted["ClaudeCostUsd"] == pytest.approx(done.cost_usd)
    (turn,) = [i for i in anthropic.interactions.all(task.task_id) if i.role == "assistant"]
    assert emitted["ClaudeLatency"] == float(turn.duration_ms)
    assert emitted["TaskSucceeded"] == 1.0


def test_a_refused_call_is_counted_as_fatal(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Claude refusing the request (400: trying again cannot help)
    stub.script(HttpError(400, "invalid_request_error"))
    task = make_task("What is 2 + 2?")
    capsys.readouterr()
    # When the worker runs the task
    worker.invoke(retarget(load_event("task-run-batch"), [task]))
    # Then the failure is counted by its kind, and no answered call is
    emitted = _emitted(capsys.readouterr().out)
    assert emitted["ClaudeCallsFatal"] == 1.0
    assert "ClaudeCalls" not in emitted and "ClaudeLatency" not in emitted
