"""Changes made while a task runs: follow-ups all run in order; a cancellation is never overwritten."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from tests.integration.worker.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import Worker, failed_ids, load_event, retarget


def _in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(call()))
    thread.start()
    return thread, results


def _wait_for_requests(stub: AnthropicStub, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(stub.requests) < count:
        assert time.monotonic() < deadline, "Claude was never asked"
        time.sleep(0.01)


def test_follow_ups_sent_while_running_all_run_in_order(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task whose first answer takes a second
    stub.script(Reply(text="First answer.", delay_s=1.0), Reply(text="Second answer."), Reply(text="Third answer."))
    task = make_task("First question?")
    # When two follow-ups arrive while Claude is still answering the first prompt
    thread, responses = _in_background(lambda: worker.invoke(retarget(load_event("task-run-batch"), [task])))
    _wait_for_requests(stub, 1)
    anthropic.transitions.follow_up(task.owner, task.task_id, "Second question?")
    anthropic.transitions.follow_up(task.owner, task.task_id, "Third question?")
    thread.join(timeout=30)
    # Then the same run answered all three, in order, and none was lost
    assert failed_ids(responses[0]) == set()
    turns = [(t.role, t.content) for t in anthropic.interactions.all(task.task_id)]
    assert turns == [
        (Role.USER, "First question?"),
        (Role.ASSISTANT, "First answer."),
        (Role.USER, "Second question?"),
        (Role.ASSISTANT, "Second answer."),
        (Role.USER, "Third question?"),
        (Role.ASSISTANT, "Third answer."),
    ]
    done = anthropic.tasks.load(task.task_id)
    assert (done.status, done.pending_prompts, done.turns) == (TaskStatus.SUCCEEDED, [], 3)
    # And each request carried the whole conversation so far, Claude asked once per prompt
    assert [len(r.body["messages"]) for r in stub.requests] == [1, 3, 5]


def test_a_task_cancelled_while_running_stays_cancelled_without_a_result(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task whose answer takes a second
    stub.script(Reply(text="Too late.", delay_s=1.0))
    task = make_task()
    # When the caller cancels it while Claude is answering
    thread, responses = _in_background(lambda: worker.invoke(retarget(load_event("task-run-batch"), [task])))
    _wait_for_requests(stub, 1)
    anthropic.transitions.cancel(task.owner, task.task_id)
    thread.join(timeout=30)
    # Then the record is acknowledged, the task stays cancelled, and the reply was not written
    assert failed_ids(responses[0]) == set()
    after = anthropic.tasks.load(task.task_id)
    assert (after.status, after.interaction_count, after.pending_prompts) == (TaskStatus.CANCELLED, 0, [task.prompt])
    assert anthropic.interactions.all(task.task_id) == []
