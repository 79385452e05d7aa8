"""Through the real queue (moto server's SQS, redrive policy from template.yaml): what fails lands in the DLQ."""

from __future__ import annotations

import json
from typing import Any

import boto3

from claude_tasks.claude import RetryableClaudeError
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Role, TaskStatus
from tests.integration.worker.conftest import MakeTask
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker, deliver_once, run_body


def _sqs(settings: Settings) -> Any:
    return boto3.client("sqs", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)


def _poll_until_empty(worker: Worker, rounds: int = 12) -> None:
    """Lambda's poller in miniature: receive, invoke, delete the acknowledged; failed ones come back at once."""
    sqs, url = _sqs(worker.settings), worker.settings.task_queue_url
    for _ in range(rounds):
        if not deliver_once(worker, sqs, url):
            return
    raise AssertionError("the queue never drained")


def _dead_letters(settings: Settings) -> list[str]:
    messages = _sqs(settings).receive_message(QueueUrl=settings.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def test_poison_lands_in_the_dlq_and_good_messages_are_processed(worker: Worker, make_task: MakeTask) -> None:
    # Given a good task.run and a poison message on the task queue
    store = worker.use(ScriptedClaude())
    task = make_task()
    for body in (json.dumps(run_body(task)), "not json at all"):
        _sqs(worker.settings).send_message(QueueUrl=worker.settings.task_queue_url, MessageBody=body)
    # When the worker polls until the queue is empty
    _poll_until_empty(worker)
    # Then the poison message is in the DLQ, alone, and the good task ran once
    assert _dead_letters(worker.settings) == ["not json at all"]
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    assert [t.role for t in store.interactions.all(task.task_id)] == [Role.USER, Role.ASSISTANT]


def test_a_task_failing_on_every_receive_is_failed_and_its_message_dead_lettered(
    worker: Worker, make_task: MakeTask
) -> None:
    # Given Claude overloaded on every call
    store = worker.use(ScriptedClaude(*[RetryableClaudeError("anthropic HTTP 529 overloaded_error")] * 10))
    task = make_task()
    _sqs(worker.settings).send_message(QueueUrl=worker.settings.task_queue_url, MessageBody=json.dumps(run_body(task)))
    # When the worker polls until the queue is empty
    _poll_until_empty(worker)
    # Then the task failed on the last allowed receive, saying why, and the message is in the DLQ
    failed = store.tasks.load(task.task_id)
    assert failed.status is TaskStatus.FAILED and "overloaded_error" in (failed.error or "")
    assert failed.attempts == worker.settings.max_receive_count - 1
    assert [t.role for t in store.interactions.all(task.task_id)] == [Role.ERROR]
    assert _dead_letters(worker.settings) == [json.dumps(run_body(task))]
