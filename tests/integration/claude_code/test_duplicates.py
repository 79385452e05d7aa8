"""SQS delivers at least once: two deliveries of one message, handled at once, start one Claude Code run."""

from __future__ import annotations

from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask, claude_processes, finished, in_background, wait_until
from tests.support.anthropic_stub import AnthropicStub, Held, Reply
from tests.support.worker import Worker, load_event, redelivered, retarget


def test_two_deliveries_of_one_message_in_two_containers_at_once_start_one_claude_code_run(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task whose answer Claude holds back, and its message delivered to two worker containers at once
    stub.script(Held(Reply(text="Once.")))
    task = make_task("Only once, please.")
    event, twin = retarget(load_event("task-run-batch"), [task]), worker.twin()
    deliveries = [
        in_background(lambda: worker.invoke(event)),
        in_background(lambda: twin.invoke(redelivered(event, 2))),
    ]
    # When one has reached Claude and the other has returned
    wait_until(lambda: stub.requests and any(not thread.is_alive() for thread, _ in deliveries), "one run, one skip")
    # Then only one Claude Code process runs
    assert len(claude_processes()) == 1
    # And once Claude answers, both records are acknowledged
    stub.release()
    assert all(finished(thread) for thread, _ in deliveries)
    assert [results for _, results in deliveries] == [[{"batchItemFailures": []}]] * 2
    # And Claude was asked once, under the task's id, and the turns were recorded once
    done = store.tasks.load(task.task_id)
    assert (done.status, done.turns) == (TaskStatus.SUCCEEDED, 1)
    assert [r.claude_session_id for r in stub.requests] == [done.claude_session_id]
    assert [(t.role, t.content) for t in store.interactions.all(task.task_id)] == [
        (Role.USER, "Only once, please."),
        (Role.ASSISTANT, "Once."),
    ]
