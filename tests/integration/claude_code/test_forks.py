"""A fork of a Claude Code task goes on from its source's conversation under a new Claude session id of its own."""

from __future__ import annotations

import json

from claude_tasks.core.records import Role, Task, TaskStatus
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import Worker, load_event, retarget


def _run(worker: Worker, task: Task) -> None:
    assert worker.invoke(retarget(load_event("task-run-batch"), [task])) == {"batchItemFailures": []}


def test_a_fork_resumes_its_source_s_history_under_a_new_id_and_the_source_keeps_its_own(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a finished task
    stub.script(Reply(text="The source's answer."), Reply(text="The fork's answer."), Reply(text="The source again."))
    source = make_task("Where do we start?")
    _run(worker, source)
    source_id = store.tasks.load(source.task_id).claude_session_id
    # When it is forked with a prompt and the fork runs
    fork, enqueue = store.forks.fork(source.owner, source.task_id, "And in the fork?", None, "fork-1")
    assert enqueue
    _run(worker, fork)
    # Then the fork succeeded under a new Claude session id, which its request carried
    forked = store.tasks.load(fork.task_id)
    assert forked.status is TaskStatus.SUCCEEDED
    assert forked.claude_session_id not in (None, source_id)
    fork_request = stub.requests[1]
    assert fork_request.claude_session_id == forked.claude_session_id
    # And that request held the source's history before the fork's prompt
    history = json.dumps(fork_request.body["messages"])
    assert history.index("Where do we start?") < history.index("The source's answer.") < history.index("in the fork?")
    assert [(t.role, t.content) for t in store.interactions.all(fork.task_id)][-2:] == [
        (Role.USER, "And in the fork?"),
        (Role.ASSISTANT, "The fork's answer."),
    ]
    # When the source is followed up afterwards
    store.transitions.follow_up(source.owner, source.task_id, "Back in the source?")
    _run(worker, source)
    # Then it resumed its own conversation under its own id, which knows nothing of the fork
    again = store.tasks.load(source.task_id)
    assert (again.status, again.claude_session_id) == (TaskStatus.SUCCEEDED, source_id)
    source_request = stub.requests[2]
    assert source_request.claude_session_id == source_id
    history = json.dumps(source_request.body["messages"])
    assert "The source's answer." in history
    assert "And in the fork?" not in history and "The fork's answer." not in history
