"""A fork of a Claude Code task goes on from its source's conversation under a new Claude session id of its own."""

from __future__ import annotations

import json
from pathlib import Path

from claude_tasks.core.records import AgentOptions, Role, TaskStatus, Workspace
from claude_tasks.store import Store
from tests.integration.claude_code.conftest import MakeTask, run_task
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import Worker


def test_a_fork_resumes_its_source_s_history_under_a_new_id_and_the_source_keeps_its_own(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a finished task
    stub.script(Reply(text="The source's answer."), Reply(text="The fork's answer."), Reply(text="The source again."))
    source = make_task("Where do we start?")
    run_task(worker, source)
    source_id = store.tasks.load(source.task_id).claude_session_id
    # When it is forked with a prompt and the fork runs
    fork, enqueue = store.forks.fork(source.owner, source.task_id, "And in the fork?", None, "fork-1")
    assert enqueue
    run_task(worker, fork)
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
    run_task(worker, source)
    # Then it resumed its own conversation under its own id, which knows nothing of the fork
    again = store.tasks.load(source.task_id)
    assert (again.status, again.claude_session_id) == (TaskStatus.SUCCEEDED, source_id)
    source_request = stub.requests[2]
    assert source_request.claude_session_id == source_id
    history = json.dumps(source_request.body["messages"])
    assert "The source's answer." in history
    assert "And in the fork?" not in history and "The fork's answer." not in history


def test_a_fork_in_its_own_worktree_resumes_the_source_conversation_rather_than_rebuilding_it(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask, git_project: Path
) -> None:
    # Given a finished task that worked in its own worktree of a git project
    stub.script(Reply(text="The source's answer."), Reply(text="The fork's answer."))
    source = make_task("Where do we start?", agent=AgentOptions(workspace=Workspace.WORKTREE))
    run_task(worker, source)
    # When it is forked (the fork gets a worktree of its own, so Claude Code works in another directory)
    fork, _ = store.forks.fork(source.owner, source.task_id, "And in the fork?", None, "fork-wt")
    run_task(worker, fork)
    # Then the fork resumed the source's conversation: its request held the source's history, under its own
    # id, and no system turn says a conversation was lost
    forked = store.tasks.load(fork.task_id)
    assert forked.status is TaskStatus.SUCCEEDED
    assert forked.worktree is not None and forked.worktree.path != store.tasks.load(source.task_id).worktree.path  # type: ignore[union-attr]
    fork_request = stub.requests[-1]
    assert fork_request.claude_session_id == forked.claude_session_id
    assert "The source's answer." in json.dumps(fork_request.body["messages"])
    assert [t for t in store.interactions.all(fork.task_id) if t.role is Role.SYSTEM] == []


def test_a_fork_whose_source_is_gone_starts_from_its_copied_turns(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a fork of a finished task, and the source deleted before the fork ran
    stub.script(Reply(text="The source's answer."), Reply(text="The fork's answer."))
    source = make_task("Where do we start?")
    run_task(worker, source)
    fork, _ = store.forks.fork(source.owner, source.task_id, "And in the fork?", None, "fork-gone")
    store.tasks.delete(source.owner, source.task_id)
    # When the fork runs
    run_task(worker, fork)
    # Then its first request was seeded with the copied turns, then its prompt, and it succeeded
    assert store.tasks.load(fork.task_id).status is TaskStatus.SUCCEEDED
    first = json.dumps(stub.requests[-1].body["messages"])
    assert first.index("The source's answer.") < first.index("And in the fork?")
