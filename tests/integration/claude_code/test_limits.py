"""A Claude Code task's limits are Claude Code's own: a run stopped by one ends the task `exhausted`, saying which."""

from __future__ import annotations

from claude_tasks.core.records import Role, TaskLimits, TaskStatus
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply, ToolUse
from tests.support.worker import Worker, load_event, retarget


def test_a_run_that_reaches_max_turns_ends_the_task_exhausted_naming_the_limit(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task allowed one turn, and Claude wanting a tool and then more
    read = ToolUse("Read", {"file_path": "README.md"})
    stub.script(Reply(text="Let me look.", tool_uses=(read,)), Reply(text="Never asked for."))
    task = make_task("Summarise the README.", limits=TaskLimits(max_turns=1))
    # When the worker runs it
    assert worker.invoke(retarget(load_event("task-run-batch"), [task])) == {"batchItemFailures": []}
    # Then Claude was asked once, and the task is exhausted, its reason naming max_turns
    assert len(stub.requests) == 1
    done = store.tasks.load(task.task_id)
    assert done.status is TaskStatus.EXHAUSTED
    assert done.error is not None and "max_turns" in done.error
    # And the steps taken are recorded, the last a system turn saying why the run ended
    turns = store.interactions.all(task.task_id)
    assert [t.role for t in turns][:2] == [Role.USER, Role.ASSISTANT]
    assert (turns[-1].role, turns[-1].content) == (Role.SYSTEM, done.error)
    assert sum(t.cost_usd for t in turns) == done.cost_usd > 0
