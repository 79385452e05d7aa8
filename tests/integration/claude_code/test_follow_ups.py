"""A follow-up resumes the task's Claude Code conversation from the Transcripts table, under the task's own id.

Each run has a fresh CLAUDE_CONFIG_DIR, removed when it ends: the history a follow-up sends can only
come from the store (test_lost_conversation.py shows the other side: no transcript, no resume).
"""

from __future__ import annotations

import json

import boto3

from claude_tasks.claude import clear_backends
from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.models import TranscriptItem
from claude_tasks.store.transcript_layout import partition, stream_of
from tests.integration.claude_code.conftest import MakeTask, run_task
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.worker import Worker


def test_a_follow_up_resumes_the_conversation_under_the_task_s_claude_session_id(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task Claude Code answered once
    stub.script(Reply(text="First answer."), Reply(text="Second answer."))
    task = make_task("First question?")
    run_task(worker, task)
    first = store.tasks.load(task.task_id)
    # When the caller follows up and the worker runs it
    store.transitions.follow_up(task.owner, task.task_id, "Second question?")
    run_task(worker, task)
    # Then the task succeeded, the follow-up recorded as its own user turn
    done = store.tasks.load(task.task_id)
    assert (done.status, done.pending_prompts, done.turns) == (TaskStatus.SUCCEEDED, [], 2)
    assert [(t.role, t.content) for t in store.interactions.all(task.task_id)] == [
        (Role.USER, "First question?"),
        (Role.ASSISTANT, "First answer."),
        (Role.USER, "Second question?"),
        (Role.ASSISTANT, "Second answer."),
    ]
    # And the second run resumed the first one's conversation, under the same id
    assert done.claude_session_id == first.claude_session_id is not None
    assert [r.claude_session_id for r in stub.requests] == [done.claude_session_id] * 2
    before, after = (r.body["messages"] for r in stub.requests)
    assert len(after) > len(before)
    assert {"type": "text", "text": "First answer."} in after[len(before)]["content"]
    assert "First question?" in json.dumps(after[0]) and "Second question?" in json.dumps(after[-1])


def test_a_run_keeps_its_transcript_in_the_transcripts_table(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task
    stub.script(Reply(text="Noted."))
    task = make_task("Remember the word pelican.")
    # When Claude Code runs it
    run_task(worker, task)
    # Then the conversation is in the Transcripts table, under the owner and the task's Claude session id
    claude_session_id = store.tasks.load(task.task_id).claude_session_id
    assert claude_session_id is not None
    items = list(TranscriptItem.query(partition(task.owner, claude_session_id), consistent_read=True))
    main = {stream_of(item.position)[1] for item in items if stream_of(item.position)[2] == ""}
    assert len(main) == 1  # one main stream: the project the run worked in
    entries = store.transcripts.load(task.owner, {"project_key": main.pop(), "session_id": claude_session_id})
    assert entries is not None
    assert "Remember the word pelican." in json.dumps(entries) and "Noted." in json.dumps(entries)


def test_a_follow_up_whose_run_failed_before_claude_code_saw_it_is_asked_again_on_retry(
    worker: Worker, store: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a finished task, and a follow-up whose run failed as it started (no usable API key)
    task = make_task("First question.")
    stub.script(Reply(text="First answer."))
    run_task(worker, task)
    secrets = boto3.client(
        "secretsmanager", region_name=worker.settings.region, endpoint_url=worker.settings.aws_endpoint_url
    )
    secrets.put_secret_value(SecretId=worker.settings.anthropic_secret_id, SecretString="not-set")
    clear_backends()  # a fresh container's backend: the key is read again, not taken from the cache
    store.transitions.follow_up(task.owner, task.task_id, "The follow-up nobody answered.")
    run_task(worker, task)
    assert store.tasks.load(task.task_id).status is TaskStatus.FAILED
    requests = len(stub.requests)
    # When the key is back and the task is retried
    secrets.put_secret_value(SecretId=worker.settings.anthropic_secret_id, SecretString="sk-ant-test-key")
    clear_backends()
    store.transitions.retry(task.owner, task.task_id)
    stub.script(Reply(text="The follow-up's answer."))
    run_task(worker, task)
    # Then the continued run asked Claude the follow-up itself, in the same conversation, and it succeeded
    done = store.tasks.load(task.task_id)
    assert done.status is TaskStatus.SUCCEEDED
    (asked,) = stub.requests[requests:]
    assert asked.claude_session_id == done.claude_session_id
    assert "The follow-up nobody answered." in json.dumps(asked.body["messages"][-1])
    # And its user turn was recorded once
    users = [t.content for t in store.interactions.all(task.task_id) if t.role is Role.USER]
    assert users == ["First question.", "The follow-up nobody answered."]
