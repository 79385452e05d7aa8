"""The layers as the code runs them: a record through the worker only ever calls downward
(function → app → store / claude → core), never back up into a caller's layer (no callbacks)."""

from __future__ import annotations

from typing import Any

from tests.support.claude_double import ScriptedClaude
from tests.support.layer_trace import LayerTrace
from tests.unit.worker.conftest import MakeTask, Run


def test_a_worker_record_only_calls_downward(run: Run, make_task: MakeTask, claude: ScriptedClaude) -> None:
    # Given a queued task
    task = make_task()
    # When its record runs through the real worker handler, traced call by call
    trace = LayerTrace()
    response: Any = trace.run(lambda: run(task))
    # Then it ran, and no lower layer called a higher one (no callback into the handler or the application)
    assert response == {"batchItemFailures": []}
    print(f"\nworker record: {trace.summary()}")
    assert trace.upward_calls == []
    assert {"function", "app", "store", "core"} <= trace.files_by_layer().keys()
