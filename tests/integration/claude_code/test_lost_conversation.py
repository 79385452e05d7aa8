"""A follow-up whose transcript is gone from the store is rebuilt: a new Claude session, seeded with the recorded
turns, claimed in place of the old id, which stays taken (retired)."""

from __future__ import annotations

import json

from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import ClaudeSessionClaim
from tests.integration.claude_code.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import Worker, load_event, retarget


def test_a_follow_up_without_its_transcript_continues_in_a_new_claude_session_seeded_with_the_turns(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task Claude Code answered, whose transcript was then deleted from the store
    stub.script(Reply(text="The first answer."), Reply(text="Answered again."))
    task = make_task("What is the plan?")
    event = retarget(load_event("task-run-batch"), [task])
    assert worker.invoke(event) == {"batchItemFailures": []}
    old_id = store.tasks.load(task.task_id).claude_session_id
    assert old_id is not None
    store.transcripts.delete(task.owner, old_id)
    # When the caller follows up and the worker runs it
    store.transitions.follow_up(task.owner, task.task_id, "And then?")
    assert worker.invoke(event) == {"batchItemFailures": []}
    # Then the task succeeded under a new Claude session id, and a system turn says why
    done = store.tasks.load(task.task_id)
    assert (done.status, done.pending_prompts) == (TaskStatus.SUCCEEDED, [])
    assert done.claude_session_id not in (None, old_id)
    turns = store.interactions.all(task.task_id)
    assert [(t.role, t.content) for t in turns if t.role is not Role.SYSTEM] == [
        (Role.USER, "What is the plan?"),
        (Role.ASSISTANT, "The first answer."),
        (Role.USER, "And then?"),
        (Role.ASSISTANT, "Answered again."),
    ]
    (note,) = [t for t in turns if t.role is Role.SYSTEM]
    assert old_id in note.content and done.claude_session_id in note.content and "not found" in note.content
    # And the old id's claim is kept, retired; the new id is the task's
    old, new = ClaudeSessionClaim.get(old_id), ClaudeSessionClaim.get(done.claude_session_id)
    assert (old.task_id, new.task_id) == (task.task_id, task.task_id)
    assert old.retired_at is not None and new.retired_at is None
    # And Claude was asked under the new id, with the recorded turns and the follow-up in its first message
    (rebuilt,) = [r for r in stub.requests if r.claude_session_id == done.claude_session_id]
    assert [r.claude_session_id for r in stub.requests] == [old_id, done.claude_session_id]
    seed = json.dumps(rebuilt.body["messages"][0])
    assert seed.index("What is the plan?") < seed.index("The first answer.") < seed.index("And then?")
    # And the tables keep every invariant
    assert consistency_report(store).violations == []
