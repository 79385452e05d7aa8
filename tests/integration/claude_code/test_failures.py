"""A Claude Code task that cannot run fails with a reason a caller can act on; the record is acknowledged."""

from __future__ import annotations

import shutil
from pathlib import Path

from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask, claude_processes
from tests.support.anthropic_stub import AnthropicStub, HttpError
from tests.support.worker import Worker, load_event, retarget


def test_claude_refusing_the_request_fails_the_task_with_its_reason_in_an_error_turn(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given Claude refusing every request as invalid (Claude Code tries again with fewer betas: no retry helps)
    stub.otherwise = HttpError(
        400, "invalid_request_error", "messages: roles must alternate between user and assistant"
    )
    task = make_task("A huge question.")
    # When the worker runs the task
    assert worker.invoke(retarget(load_event("task-run-batch"), [task])) == {"batchItemFailures": []}
    # Then the task failed, its reason naming the API error and carrying Claude's; the last turn, an error, says it
    done = store.tasks.load(task.task_id)
    assert done.status is TaskStatus.FAILED
    assert done.error is not None and "api_error" in done.error and "400 messages: roles must alternate" in done.error
    turns = store.interactions.all(task.task_id)
    assert (turns[0].role, turns[-1].role, turns[-1].content) == (Role.USER, Role.ERROR, done.error)
    # And the prompt stays pending, for a retry
    assert done.pending_prompts == ["A huge question."]


def test_a_session_whose_project_directory_is_gone_fails_the_task_saying_so(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask, project: Path
) -> None:
    # Given a task whose session's project directory was removed
    task = make_task("Write hello.txt")
    shutil.rmtree(project)
    # When the worker runs it
    assert worker.invoke(retarget(load_event("task-run-batch"), [task])) == {"batchItemFailures": []}
    # Then the task failed, its reason naming the directory and what to do, without Claude Code starting
    done = store.tasks.load(task.task_id)
    assert done.status is TaskStatus.FAILED
    assert done.error is not None and str(project) in done.error and "does not exist" in done.error
    assert [t.role for t in store.interactions.all(task.task_id)] == [Role.ERROR]
    assert stub.requests == [] and claude_processes() == []
