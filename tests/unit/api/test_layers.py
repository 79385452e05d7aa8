"""The layers as the code runs them: a request through the API only ever calls downward
(function → app → store → core), never back up into a caller's layer."""

from __future__ import annotations

from claude_tasks.core.records import Session
from tests.support.layer_trace import LayerTrace
from tests.unit.api.conftest import Call


def test_a_create_task_request_only_calls_downward(call: Call, session: Session) -> None:
    # When a task is created through the real API handler, traced call by call
    trace = LayerTrace()
    result = trace.run(
        lambda: call("create_task", owner=session.owner, path={"session_id": session.session_id}, body={"prompt": "hi"})
    )
    # Then it was accepted, and no lower layer called a higher one
    assert result.status == 202
    print(f"\ncreate-task request: {trace.summary()}")
    assert trace.upward_calls == []
    assert {"function", "app", "store", "core"} <= trace.files_by_layer().keys()
