"""GET /admin/dead-letters and POST /admin/dead-letters/redrive: admins only, the reason with each message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import Task, TaskStatus
from claude_tasks.store import Store
from tests.unit.api.conftest import Call

ROUTES = ("list_dead_letters", "redrive_dead_letters")


@pytest.fixture
def dead_letter(settings: Settings) -> Callable[[str], str]:
    """Put `body` in the task queue's DLQ; its message id."""
    sqs = boto3.client("sqs", region_name=settings.region)

    def put(body: str) -> str:
        message_id: str = sqs.send_message(QueueUrl=settings.dlq_url, MessageBody=body)["MessageId"]
        return message_id

    return put


def _task_queue(settings: Settings) -> list[str]:
    sqs: Any = boto3.client("sqs", region_name=settings.region)
    received = sqs.receive_message(QueueUrl=settings.task_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [m["Body"] for m in received.get("Messages", [])]


@pytest.mark.parametrize("name", ROUTES)
def test_a_non_admin_is_refused_403(call: Call, configure: Callable[..., Settings], name: str) -> None:
    # Given only root is an admin
    configure(admin_principals="root")
    # When alice asks
    result = call(name, owner="alice")
    # Then a forbidden problem
    assert result.status == 403
    assert result.json()["type"] == "urn:claude-tasks:problem:forbidden"


def test_an_admin_sees_each_dead_letter_with_its_reason(
    call: Call, configure: Callable[..., Settings], store: Store, dead_letter: Callable[[str], str]
) -> None:
    # Given a dead letter whose reason the worker kept, and one without any
    configure(admin_principals="root")
    explained = dead_letter('{"type": "task.explode"}')
    store.dead_letters.note(explained, "invalid task message: type: no such tag", "MessageRejected", 5)
    unexplained = dead_letter("not json")
    # When root lists them
    result = call("list_dead_letters", owner="root", query={"limit": "10"})
    # Then both, in the contract's shape, each with a reason
    assert result.status == 200, result.body
    body = result.json()
    assert body["next_cursor"] is None
    by_id = {item["message_id"]: item for item in body["items"]}
    assert set(by_id) == {explained, unexplained}
    assert by_id[explained] == {
        "message_id": explained,
        "queue": "tasks",
        "kind": "task.explode",
        "task_id": None,
        "session_id": None,
        "reason": "invalid task message: type: no such tag",
        "sent_at": by_id[explained]["sent_at"],
        "receive_count": 5,
    }
    assert "worker's log" in by_id[unexplained]["reason"]


@pytest.mark.parametrize("limit", ["0", "101", "many"])
def test_a_limit_out_of_range_is_422(call: Call, configure: Callable[..., Settings], limit: str) -> None:
    configure(admin_principals="root")
    assert call("list_dead_letters", owner="root", query={"limit": limit}).status == 422


@pytest.mark.parametrize("body", [{}, {"message_ids": []}])
def test_redrive_without_ids_redrives_every_message(
    call: Call, configure: Callable[..., Settings], settings: Settings, dead_letter: Callable[[str], str], body: Any
) -> None:
    # Given a dead letter
    configure(admin_principals="root")
    message_id = dead_letter("not json")
    # When root redrives without naming any message
    result = call("redrive_dead_letters", owner="root", body=body)
    # Then it went back to the task queue
    assert result.status == 200, result.body
    assert result.json() == {"redriven": [message_id], "refused": []}
    assert _task_queue(settings) == ["not json"]


def test_redriving_a_failed_tasks_message_is_refused_with_the_retry_pointer(
    call: Call,
    configure: Callable[..., Settings],
    task: Task,
    put_in_state: Callable[..., Task],
    dead_letter: Callable[[str], str],
    settings: Settings,
) -> None:
    # Given alice's task failed, and its task.run is in the DLQ
    configure(admin_principals="root")
    put_in_state(task, TaskStatus.FAILED)
    message_id = dead_letter(json.dumps({"type": "task.run", "task_id": task.task_id, "session_id": task.session_id}))
    # When root redrives it
    result = call("redrive_dead_letters", owner="root", body={"message_ids": [message_id]})
    # Then it is refused, saying the task failed and how to retry it; nothing was sent
    assert result.status == 200
    [refusal] = result.json()["refused"]
    assert refusal["message_id"] == message_id
    assert "already failed" in refusal["detail"] and f"POST /tasks/{task.task_id}/retry" in refusal["detail"]
    assert result.json()["redriven"] == [] and _task_queue(settings) == []


@pytest.mark.parametrize("body", [None, [None, None], {"message_ids": "all"}, {"message_ids": [""]}, {"ids": []}])
def test_a_malformed_redrive_body_is_422(call: Call, configure: Callable[..., Settings], body: Any) -> None:
    configure(admin_principals="root")
    assert call("redrive_dead_letters", owner="root", body=body).status == 422


@pytest.mark.parametrize("name", ROUTES)
def test_a_dlq_sqs_cannot_reach_is_a_503(call: Call, configure: Callable[..., Settings], name: str) -> None:
    # Given a DLQ that SQS does not know (deleted, or a wrong DLQ_URL)
    configure(admin_principals="root", dlq_url="https://sqs.us-east-1.amazonaws.com/123456789012/no-such-dlq")
    # When root lists or redrives
    result = call(name, owner="root", body={} if name == "redrive_dead_letters" else None)
    # Then a transient problem that says to try again, not a 500
    assert result.status == 503, result.body
    assert result.json()["type"] == "urn:claude-tasks:problem:dead-letter-queue-unavailable"
    assert result.headers.get("Retry-After") == "1"
