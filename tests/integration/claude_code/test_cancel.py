"""A Claude Code task cancelled while it runs: the CLI is stopped, the run ends at once, the cancel stands."""

from __future__ import annotations

from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask, claude_processes, finished, in_background, wait_until
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import Worker, failed_ids, load_event, retarget


def test_a_task_cancelled_while_claude_answers_stops_the_cli_before_the_answer_comes(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given Claude slow to answer: five minutes, far beyond anything this test waits for
    stub.script(Reply(text="Too late.", delay_s=300))
    task = make_task("Take your time.")
    # When the worker runs it and the caller cancels it once Claude Code has asked
    thread, responses = in_background(lambda: worker.invoke(retarget(load_event("task-run-batch"), [task])))
    wait_until(lambda: stub.requests, "Claude Code asked Claude")
    assert claude_processes(), "the CLI runs as a child of the worker"
    store.transitions.cancel(task.owner, task.task_id)
    # Then the handler returns, the record acknowledged, while the answer is still unsent
    assert finished(thread)
    assert stub.answered == []
    assert failed_ids(responses[0]) == set()
    # And the task stays cancelled, with the turn recorded before the cancel, and the prompt still pending
    after = store.tasks.load(task.task_id)
    assert (after.status, after.pending_prompts) == (TaskStatus.CANCELLED, ["Take your time."])
    assert [(t.role, t.content) for t in store.interactions.all(task.task_id)] == [(Role.USER, "Take your time.")]
    # And no Claude Code process is left behind
    assert claude_processes() == []
