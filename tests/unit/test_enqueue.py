"""A task answered 2xx is on its way to the worker: a failed send after the commit is a 503, never silent."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from claude_tasks.app.queue import TaskQueue
from claude_tasks.app.service import TaskService
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import QueueUnavailable
from claude_tasks.core.records import NewTask, TaskStatus
from claude_tasks.store import Store


def _sent(settings: Settings) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=settings.region)
    batch = sqs.receive_message(QueueUrl=settings.task_queue_url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in batch.get("Messages", [])]


def test_a_send_that_fails_once_is_retried_by_botocore(store: Store, settings: Settings, session_factory) -> None:
    # Given a queue whose first send attempt cannot connect
    queue = TaskQueue(settings)
    attempts = 0

    def refuse_first(request: Any, **_: object) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise EndpointConnectionError(endpoint_url=request.url)

    queue._sqs.meta.events.register_first("before-send.sqs.SendMessage", refuse_first)
    session = session_factory()
    # When a task is created
    task = TaskService(store, queue).create_task("alice", session.session_id, NewTask(prompt="p"), None)
    # Then botocore's retry sent its run
    assert attempts == 2
    assert _sent(settings) == [{"type": "task.run", "task_id": task.task_id, "session_id": session.session_id}]


def test_a_send_that_still_fails_is_queue_unavailable_and_a_replay_sends_it(
    store: Store, settings: Settings, session_factory
) -> None:
    # Given a queue that refuses the send (after botocore's own retries)
    queue = TaskQueue(settings)
    service = TaskService(store, queue)
    session = session_factory()
    with Stubber(queue._sqs) as stub:
        stub.add_client_error("send_message", service_error_code="ServiceUnavailable", http_status_code=503)
        # When a task is created, Then the caller is told the task was saved and how to queue it
        with pytest.raises(QueueUnavailable) as refused:
            service.create_task("alice", session.session_id, NewTask(prompt="p"), "key-1")
    (task,) = store.tasks.all_in_session("alice", session.session_id)
    assert task.task_id in str(refused.value) and "Idempotency-Key" in str(refused.value)
    assert task.status is TaskStatus.QUEUED and _sent(settings) == []
    # When the same request is sent again with the same key, Then the same task's run is sent
    again = service.create_task("alice", session.session_id, NewTask(prompt="p"), "key-1")
    assert again.task_id == task.task_id
    assert _sent(settings) == [{"type": "task.run", "task_id": task.task_id, "session_id": session.session_id}]
