"""A Claude Code task end to end: the real CLI writes in the project; every step is a turn; ids stay ours."""

from __future__ import annotations

import json
from pathlib import Path

from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply, ToolUse
from tests.support.worker import Worker, load_event, retarget


def test_a_run_writes_a_file_in_the_project_and_records_every_step(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask, project: Path
) -> None:
    # Given Claude asking to write a file, then answering
    write = ToolUse("Write", {"file_path": str(project / "hello.txt"), "content": "hi\n"})
    stub.script(Reply(text="I'll write it.", tool_uses=(write,)), Reply(text="Done: hello.txt written."))
    task = make_task("Write hello.txt saying hi")
    # When the worker runs it
    response = worker.invoke(retarget(load_event("task-run-batch"), [task]))
    # Then the file exists and the task succeeded
    assert response == {"batchItemFailures": []}
    assert (project / "hello.txt").read_text() == "hi\n"
    done = store.tasks.load(task.task_id)
    assert (done.status, done.pending_prompts, done.error) == (TaskStatus.SUCCEEDED, [], None)
    # And every step is a turn, in order
    turns = store.interactions.all(task.task_id)
    assert [(t.role, t.tool_name, t.stop_reason) for t in turns] == [
        (Role.USER, None, None),
        (Role.ASSISTANT, None, None),
        (Role.TOOL, "Write", "tool_use"),
        (Role.TOOL, "Write", "tool_result"),
        (Role.ASSISTANT, None, None),
    ]
    assert json.loads(turns[2].content)["file_path"].endswith("hello.txt")
    assert turns[2].tool_use_id == turns[3].tool_use_id
    assert turns[-1].content == "Done: hello.txt written."
    # And Claude Code ran under the task's own Claude session id, which every request carried
    assert done.claude_session_id is not None
    assert {r.headers.get("x-claude-code-session-id") for r in stub.requests} == {done.claude_session_id}
    # And the turns' usage and cost sum to the task's
    assert sum(t.cost_usd for t in turns) == done.cost_usd > 0
    assert sum(t.usage.total_tokens for t in turns) == done.usage.total_tokens
