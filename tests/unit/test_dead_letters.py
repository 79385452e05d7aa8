"""Dead letters with their reason: the record the worker leaves, the listing that joins it, the redrive.

moto in-process, the queues and their redrive policy from template.yaml: a message reaches the DLQ the
way SQS moves it there, after `maxReceiveCount` receives the real worker handler failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from claude_tasks.app.dead_letter_notes import note_failure
from claude_tasks.app.dead_letter_views import NO_REASON
from claude_tasks.app.dead_letters import DeadLetterQueues
from claude_tasks.app.delivery import Delivery
from claude_tasks.claude import RetryableClaudeError
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import Forbidden
from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store
from tests.conftest import TaskFactory
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker, deliver_once, loaded_worker, run_body

ADMIN = "root"


@pytest.fixture
def admin_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_principals": ADMIN})


@pytest.fixture
def worker(admin_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    yield from loaded_worker(admin_settings, monkeypatch)


@pytest.fixture
def queues(admin_settings: Settings) -> DeadLetterQueues:
    return DeadLetterQueues(Store(admin_settings), admin_settings)


@pytest.fixture
def sqs(settings: Settings) -> Any:
    return boto3.client("sqs", region_name=settings.region)


@pytest.fixture
def exhaust(worker: Worker, sqs: Any) -> Callable[[str], str]:
    """Send `body` to the task queue and deliver it to the worker until SQS moves it to the DLQ; its id."""

    def run(body: str) -> str:
        url = worker.settings.task_queue_url
        message_id: str = sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]
        for _ in range(worker.settings.max_receive_count + 1):  # the receive after the last moves it
            deliver_once(worker, sqs, url)
        return message_id

    return run


def _bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [m["Body"] for m in messages]


def test_a_reason_is_kept_only_on_the_last_receive(store: Store, settings: Settings) -> None:
    # Given a message that failed on receives 1..4 of 5
    for receive in range(1, settings.max_receive_count):
        note_failure(store, settings, Delivery("m-1", receive), "RetryLater", f"busy {receive}")
    # Then nothing is kept: most such failures are retried into a success
    assert store.dead_letters.all() == {}
    # When it fails on the last receive too
    note_failure(store, settings, Delivery("m-1", settings.max_receive_count), "GaveUp", "overloaded")
    # Then that reason is kept, with the receive it came from
    kept = store.dead_letters.all()["m-1"]
    assert (kept.reason, kept.failure, kept.receive_count) == ("overloaded", "GaveUp", settings.max_receive_count)


def test_a_message_that_is_not_json_is_listed_with_the_workers_reason(
    exhaust: Callable[[str], str], queues: DeadLetterQueues
) -> None:
    # Given a message that is not JSON, delivered until SQS moved it to the DLQ
    message_id = exhaust("not json {")
    # When an admin lists the dead letters
    [letter] = queues.letters(ADMIN, 50).items
    # Then it is there with the worker's reason, and no kind or ids to show
    assert letter.message_id == message_id and letter.queue == "tasks"
    assert letter.reason is not None and letter.reason.startswith("invalid task message")
    assert (letter.kind, letter.task_id, letter.receive_count) == (None, None, 5)
    assert letter.sent_at is not None


def test_a_message_of_the_wrong_schema_shows_its_kind_and_ids(
    exhaust: Callable[[str], str], queues: DeadLetterQueues
) -> None:
    # Given a task.run missing its session id
    exhaust(json.dumps({"type": "task.run", "task_id": "t-1"}))
    # When listed
    [letter] = queues.letters(ADMIN, 50).items
    # Then the fields it had are shown, and the reason names the missing one
    assert (letter.kind, letter.task_id, letter.session_id) == ("task.run", "t-1", None)
    assert "session_id" in (letter.reason or "")


def test_a_poison_task_that_exhausts_its_receives_is_failed_and_its_redrive_points_to_retry(
    worker: Worker, exhaust: Callable[[str], str], queues: DeadLetterQueues, task_factory: TaskFactory, sqs: Any
) -> None:
    # Given Claude overloaded on every call: the task fails on its last receive and its message is dead-lettered
    store = worker.use(ScriptedClaude(*[RetryableClaudeError("anthropic HTTP 529 overloaded_error")] * 10))
    task = task_factory()
    message_id = exhaust(json.dumps(run_body(task)))
    assert store.tasks.load(task.task_id).status is TaskStatus.FAILED
    # When listed, then the reason says what gave up and on which receive
    [letter] = queues.letters(ADMIN, 50).items
    assert (letter.kind, letter.task_id, letter.session_id) == ("task.run", task.task_id, task.session_id)
    assert "overloaded_error" in (letter.reason or "") and "receive 5 of 5" in (letter.reason or "")
    # When it is redriven
    result = queues.redrive(ADMIN, [message_id])
    # Then it is refused: the task already failed, and the detail points to its retry
    assert result.redriven == []
    [refusal] = result.refused
    assert refusal.message_id == message_id
    assert "already failed" in refusal.detail and f"POST /tasks/{task.task_id}/retry" in refusal.detail
    # And the message stays in the DLQ, visible
    assert _bodies(sqs, worker.settings.dlq_url) == [json.dumps(run_body(task))]


def test_a_task_run_whose_task_is_gone_is_refused(
    store: Store, queues: DeadLetterQueues, admin_settings: Settings, sqs: Any
) -> None:
    # Given a task.run in the DLQ for a task that no longer exists
    body = json.dumps({"type": "task.run", "task_id": "gone-task", "session_id": "gone-session"})
    message_id = sqs.send_message(QueueUrl=admin_settings.dlq_url, MessageBody=body)["MessageId"]
    # When it is listed, then no reason was recorded, and the listing says where to look
    [letter] = queues.letters(ADMIN, 50).items
    assert letter.reason == NO_REASON and letter.task_id == "gone-task"
    # When it is redriven (all of them), then it is refused as pointless
    result = queues.redrive(ADMIN, [])
    assert [r.message_id for r in result.refused] == [message_id]
    assert "no longer exists" in result.refused[0].detail


def test_redrive_sends_the_message_back_and_forgets_its_reason(
    exhaust: Callable[[str], str], queues: DeadLetterQueues, admin_settings: Settings, store: Store, sqs: Any
) -> None:
    # Given a dead-lettered message the worker could not read
    message_id = exhaust("not json {")
    # When it is redriven
    result = queues.redrive(ADMIN, [message_id, "no-such-message"])
    # Then it is back on the task queue and out of the DLQ, its reason dropped; an unknown id is refused
    assert result.redriven == [message_id]
    assert [(r.message_id, "not in a dead-letter queue" in r.detail) for r in result.refused] == [
        ("no-such-message", True)
    ]
    assert _bodies(sqs, admin_settings.task_queue_url) == ["not json {"]
    assert _bodies(sqs, admin_settings.dlq_url) == []
    assert store.dead_letters.all() == {}


def test_a_queued_tasks_message_is_redriven(
    queues: DeadLetterQueues, task_factory: TaskFactory, admin_settings: Settings, sqs: Any
) -> None:
    # Given a task still queued whose task.run was dead-lettered (a duplicate run is a no-op for the worker)
    task = task_factory()
    message_id = sqs.send_message(QueueUrl=admin_settings.dlq_url, MessageBody=json.dumps(run_body(task)))["MessageId"]
    # When redriven, then it is sent back
    assert queues.redrive(ADMIN, [message_id]).redriven == [message_id]


def test_the_claude_code_dlq_is_listed_and_redriven_to_its_own_queue(admin_settings: Settings, sqs: Any) -> None:
    # Given a deployment with Claude Code: its queue and DLQ, and a message in that DLQ
    code_queue = sqs.create_queue(QueueName="claude-code")["QueueUrl"]
    code_dlq = sqs.create_queue(QueueName="claude-code-dlq")["QueueUrl"]
    settings = admin_settings.model_copy(update={"claude_code_queue_url": code_queue, "claude_code_dlq_url": code_dlq})
    queues = DeadLetterQueues(Store(settings), settings)
    message_id = sqs.send_message(QueueUrl=code_dlq, MessageBody="garbled")["MessageId"]
    # When listed and redriven
    [letter] = queues.letters(ADMIN, 50).items
    result = queues.redrive(ADMIN, [])
    # Then it is the claude-code queue's, and went back there, not to the task queue
    assert (letter.message_id, letter.queue) == (message_id, "claude-code")
    assert result.redriven == [message_id]
    assert _bodies(sqs, code_queue) == ["garbled"] and _bodies(sqs, settings.task_queue_url) == []


def test_the_listing_stops_at_the_limit_and_leaves_every_message_visible(
    queues: DeadLetterQueues, admin_settings: Settings, sqs: Any
) -> None:
    # Given 12 messages in the DLQ
    for n in range(12):
        sqs.send_message(QueueUrl=admin_settings.dlq_url, MessageBody=f"letter {n}")
    # When 5 are listed
    assert len(queues.letters(ADMIN, 5).items) == 5
    # Then all 12 are still there to be received
    assert len(queues.letters(ADMIN, 100).items) == 12


def test_only_admins_see_or_redrive_dead_letters(queues: DeadLetterQueues) -> None:
    with pytest.raises(Forbidden):
        queues.letters("alice", 10)
    with pytest.raises(Forbidden):
        queues.redrive("alice", [])
