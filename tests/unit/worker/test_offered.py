"""A pipeline's task.create is held to the API's rules: strict types, only what this deployment runs, and an
idempotency key means one request."""

from __future__ import annotations

from typing import Any

import pytest

from claude_tasks.core.records import Session
from tests.support.claude_double import ScriptedClaude
from tests.support.tables import counts
from tests.support.worker import Worker, failed_ids
from tests.unit.worker.conftest import Run


def _create(session: Session, **fields: Any) -> dict[str, Any]:
    return {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": session.owner,
        "prompt": "p",
        "idempotency_key": "k",
        **fields,
    }


@pytest.mark.parametrize(
    ("overrides", "fields", "reason"),
    [
        ({}, {"model": "gpt-4o"}, "model 'gpt-4o' is not offered by this deployment"),
        ({"enabled_backends": "offline", "claude_backend": "bedrock"}, {}, "backend 'bedrock' is not offered"),
        ({"anthropic_key_configured": False, "claude_backend": "anthropic"}, {}, "needs an Anthropic API key"),
        ({}, {"limits": {"max_turns": "3"}}, "limits.max_turns: Input should be a valid integer"),
        ({}, {"limits": {"max_tokens": True}}, "limits.max_tokens: Input should be a valid integer"),
    ],
)
def test_a_task_create_the_deployment_cannot_run_is_rejected_saying_why(
    worker: Worker,
    run: Run,
    session: Session,
    caplog: pytest.LogCaptureFixture,
    overrides: dict[str, Any],
    fields: dict[str, Any],
    reason: str,
) -> None:
    # Given a worker with these settings, and a pipeline's task.create
    claude = ScriptedClaude()
    worker.use(claude, **overrides)
    # When the worker receives it
    response = run(body=_create(session, **fields))
    # Then it is rejected as a message (to the DLQ by redrive), saying why; no task, no Claude call
    assert len(failed_ids(response)) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "record not acknowledged"]
    assert logged.__dict__["kind"] == "MessageRejected" and reason in logged.__dict__["reason"]
    assert counts()["tasks"] == 0
    assert claude.requests == []


def test_a_task_create_replayed_with_another_prompt_is_rejected(
    run: Run, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: a pipeline's task.create that made a task
    message = _create(session)
    assert failed_ids(run(body=message)) == set()
    # When: the same key arrives with another prompt
    response = run(body={**message, "prompt": "q"})
    # Then: rejected (to the DLQ by redrive) saying why, and still one task
    assert len(failed_ids(response)) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "record not acknowledged"]
    assert logged.__dict__["kind"] == "MessageRejected" and "different request" in logged.__dict__["reason"]
    assert counts()["tasks"] == 1
