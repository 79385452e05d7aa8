"""A Claude Code run that reaches its invocation's deadline stops cleanly and is continued by the next invocation,
in the same Claude session."""

from __future__ import annotations

import json
from functools import partial

from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import (
    AgentClock,
    MakeTask,
    finished,
    in_background,
    queued_runs,
    wait_until,
)
from tests.support.anthropic_stub import AnthropicStub, Held, Reply
from tests.support.worker import Worker, load_event, retarget, run_body, with_bodies


def test_a_run_stopped_at_the_deadline_is_handed_off_and_continued_in_the_same_claude_session(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask, agent_clock: AgentClock
) -> None:
    # Given a task whose first answer Claude holds back
    stub.script(Held(Reply(text="Too late.")), Reply(text="Continued, and done."))
    task = make_task("A long job.")
    # When the invocation's deadline comes while Claude Code waits on Claude
    thread, responses = in_background(lambda: worker.invoke(retarget(load_event("task-run-batch"), [task])))
    wait_until(lambda: stub.requests, "Claude Code asked Claude")
    agent_clock.pass_deadline()
    # Then the invocation returns with the record acknowledged, and the task handed to a fresh one
    assert finished(thread)
    assert responses == [{"batchItemFailures": []}]
    stopped = store.tasks.load(task.task_id)
    assert (stopped.status, stopped.pending_prompts) == (TaskStatus.QUEUED, ["A long job."])
    assert run_body(task) in queued_runs(worker.settings)
    # And a system turn says the run stopped before the deadline
    turns = store.interactions.all(task.task_id)
    assert [t.role for t in turns] == [Role.USER, Role.SYSTEM]
    assert "deadline" in turns[-1].content
    # When the next invocation runs the queued message
    agent_clock.reset()
    assert worker.invoke(with_bodies(load_event("task-run-batch"), [run_body(task)])) == {"batchItemFailures": []}
    # Then it continued the same Claude session, whose history holds the prompt, and the task succeeded
    done = store.tasks.load(task.task_id)
    assert (done.status, done.pending_prompts, done.turns) == (TaskStatus.SUCCEEDED, [], 1)
    assert [r.claude_session_id for r in stub.requests] == [done.claude_session_id] * 2
    assert "A long job." in json.dumps(stub.requests[1].body["messages"])
    # And a system turn says it continued; the prompt was recorded once
    turns = store.interactions.all(task.task_id)
    assert [t.role for t in turns] == [Role.USER, Role.SYSTEM, Role.SYSTEM, Role.ASSISTANT]
    assert "Continuing" in turns[2].content
    assert turns[-1].content == "Continued, and done."


def test_a_run_that_keeps_stopping_without_a_step_ends_failed_rather_than_going_on_for_ever(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask, agent_clock: AgentClock
) -> None:
    # Given a task whose every answer takes longer than an invocation
    task = make_task("A job longer than any invocation.")
    limit = worker.settings.max_receive_count
    for attempt in range(1, limit + 1):
        stub.script(Held(Reply(text="Never in time.")))
        asked = len(stub.requests)
        # When each invocation's deadline comes before Claude answers
        event = with_bodies(load_event("task-run-batch"), [run_body(task)])
        thread, responses = in_background(partial(worker.invoke, event))
        wait_until(partial(_more_than, stub, asked), f"Claude Code asked Claude (run {attempt})")
        agent_clock.pass_deadline()
        assert finished(thread)
        agent_clock.reset()
        assert responses == [{"batchItemFailures": []}]
        # Then each stop without a step counts as an attempt
        assert store.tasks.load(task.task_id).attempts == attempt
    # And the next delivery ends the task failed, saying why, instead of starting the CLI again
    requests = len(stub.requests)
    assert worker.invoke(with_bodies(load_event("task-run-batch"), [run_body(task)])) == {"batchItemFailures": []}
    failed = store.tasks.load(task.task_id)
    assert failed.status is TaskStatus.FAILED and "did not finish" in (failed.error or "")
    assert len(stub.requests) == requests


def _more_than(stub: AnthropicStub, count: int) -> bool:
    return len(stub.requests) > count
