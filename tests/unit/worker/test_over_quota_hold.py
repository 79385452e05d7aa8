"""A `task.create` over its owner's quota comes back after the quota's Retry-After, not the visibility timeout.

The message is sent to and received from the task queue (moto), so the worker's ChangeMessageVisibility
acts on a real receipt handle; the test reads the call the worker made and the message's visibility in
moto's queue, bounded by moments taken around the call — never a wall-clock figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
import botocore.client
import pytest
from moto.core.utils import unix_time_millis
from moto.sqs.models import sqs_backends

from claude_tasks.app.run import MIN_HOLD_S, hold_seconds
from claude_tasks.core.config import Settings
from claude_tasks.core.records import NewTask, Session
from claude_tasks.core.usage import QuotaOverride
from claude_tasks.store import Store
from claude_tasks.store.usage import ACTIVE_RETRY_AFTER_S
from tests.support.clock import pin_mid_minute
from tests.support.tables import counts
from tests.support.worker import Worker, failed_ids, load_event, redelivered, with_bodies

VISIBILITY_TIMEOUT_S = 900  # TaskQueue's, as provisioned from template.yaml


@contextmanager
def visibility_calls() -> Iterator[list[dict[str, Any]]]:
    """The parameters of every ChangeMessageVisibility made inside the block (the calls still reach moto)."""
    calls: list[dict[str, Any]] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "ChangeMessageVisibility":
            calls.append(dict(params))
        return original(client, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", spy):
        yield calls


def received_create(settings: Settings, session: Session) -> dict[str, Any]:
    """A task.create for alice sent to the task queue and received from it (in flight for the queue's timeout)."""
    sqs = boto3.client("sqs", region_name=settings.region)
    body = {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": session.owner,
        "prompt": "p",
        "idempotency_key": "over-quota",
    }
    sqs.send_message(QueueUrl=settings.task_queue_url, MessageBody=json.dumps(body))
    (message,) = sqs.receive_message(QueueUrl=settings.task_queue_url, MaxNumberOfMessages=1)["Messages"]
    event = with_bodies(load_event("task-run-batch"), [message["Body"]])
    (record,) = event["Records"]
    record["messageId"], record["receiptHandle"] = message["MessageId"], message["ReceiptHandle"]
    return event


def _visible_at_ms(settings: Settings) -> float:
    """When moto makes the queue's one message visible again (Unix ms)."""
    name = settings.task_queue_url.rsplit("/", 1)[1]
    (message,) = sqs_backends["123456789012"][settings.region].queues[name]._messages
    return float(message.visible_at)


def test_an_over_quota_task_create_is_visible_again_after_the_active_tasks_wait(
    worker: Worker, settings: Settings, store: Store, session: Session
) -> None:
    # Given alice allowed one active task, and one queued; and her task.create received from the queue
    store.usage.set_quota(session.owner, QuotaOverride(max_active_tasks=1))
    store.tasks.create(session.owner, session.session_id, NewTask(prompt="first"))
    event = received_create(settings, session)
    handle = event["Records"][0]["receiptHandle"]
    # When the worker handles it
    before = unix_time_millis()
    with visibility_calls() as calls:
        response = worker.invoke(event)
    after = unix_time_millis()
    # Then the record is reported failed, nothing was created, and the message was made visible again after
    # the active-tasks wait (30 s), not after the queue's 900 s
    assert failed_ids(response) == {event["Records"][0]["messageId"]}
    assert counts()["tasks"] == 1
    assert calls == [
        {"QueueUrl": settings.task_queue_url, "ReceiptHandle": handle, "VisibilityTimeout": ACTIVE_RETRY_AFTER_S}
    ]
    assert ACTIVE_RETRY_AFTER_S < VISIBILITY_TIMEOUT_S
    visible_at = _visible_at_ms(settings)
    assert before + ACTIVE_RETRY_AFTER_S * 1000 <= visible_at <= after + ACTIVE_RETRY_AFTER_S * 1000


def test_the_per_minute_wait_is_the_quotas_retry_after_bounded(
    worker: Worker, settings: Settings, store: Store, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alice may create one task a minute, and has; and her next task.create received from the queue
    # (the clock stopped mid-minute, so the creation and the message fall in the same minute)
    pin_mid_minute(monkeypatch)
    store.usage.set_quota(session.owner, QuotaOverride(max_tasks_per_minute=1))
    store.tasks.create(session.owner, session.session_id, NewTask(prompt="first"))
    event = received_create(settings, session)
    # When the worker handles it
    with visibility_calls() as calls:
        worker.invoke(event)
    # Then the wait is what is left of the minute: at least MIN_HOLD_S, at most 60 s
    (call,) = calls
    assert MIN_HOLD_S <= call["VisibilityTimeout"] <= 60


def test_the_wait_is_at_most_max_hold_s(worker: Worker, settings: Settings, session: Session) -> None:
    # Given a worker that holds a message back at most 5 s, and alice over her active tasks
    store = worker.use(max_hold_s=5)
    store.usage.set_quota(session.owner, QuotaOverride(max_active_tasks=1))
    store.tasks.create(session.owner, session.session_id, NewTask(prompt="first"))
    event = received_create(settings, session)
    # When the worker handles her task.create, Then the 30 s wait is cut to the bound
    with visibility_calls() as calls:
        worker.invoke(event)
    assert [call["VisibilityTimeout"] for call in calls] == [5]


@pytest.mark.parametrize(
    ("retry_after_s", "receive_count", "expected"),
    [
        # the active-tasks limit's 30 s doubles with each receive; the last two hold for max_hold_s
        (ACTIVE_RETRY_AFTER_S, 1, 30),
        (ACTIVE_RETRY_AFTER_S, 2, 60),
        (ACTIVE_RETRY_AFTER_S, 3, 120),
        (ACTIVE_RETRY_AFTER_S, 4, 900),
        (ACTIVE_RETRY_AFTER_S, 5, 900),
        # a per-minute wait starts from what is left of the minute, at least MIN_HOLD_S
        (0, 1, MIN_HOLD_S),
        (0, 3, 4 * MIN_HOLD_S),
        (17, 2, 34),
        # never more than max_hold_s
        (600, 3, 900),
    ],
)
def test_the_hold_doubles_with_each_receive_and_the_last_ones_wait_longest(
    retry_after_s: int, receive_count: int, expected: int
) -> None:
    assert hold_seconds(retry_after_s, receive_count, max_receive_count=5, max_hold_s=900) == expected


def test_with_the_defaults_an_active_tasks_wait_reaches_the_dlq_after_half_an_hour_at_least() -> None:
    holds = [hold_seconds(ACTIVE_RETRY_AFTER_S, n, max_receive_count=5, max_hold_s=900) for n in range(1, 6)]
    assert holds == [30, 60, 120, 900, 900]
    assert sum(holds) == 2010 >= 2 * 900


def test_a_short_max_hold_s_bounds_every_hold() -> None:
    assert [hold_seconds(30, n, max_receive_count=5, max_hold_s=5) for n in range(1, 6)] == [5] * 5


def test_a_redelivered_over_quota_task_create_is_held_longer(
    worker: Worker, settings: Settings, store: Store, session: Session
) -> None:
    # Given alice over her active tasks, and her task.create received from the queue for the 2nd and 4th time
    store.usage.set_quota(session.owner, QuotaOverride(max_active_tasks=1))
    store.tasks.create(session.owner, session.session_id, NewTask(prompt="first"))
    event = received_create(settings, session)
    # When the worker handles each receive, Then the hold doubled, then is the longest allowed
    with visibility_calls() as calls:
        worker.invoke(redelivered(event, 2))
        worker.invoke(redelivered(event, 4))
    assert [call["VisibilityTimeout"] for call in calls] == [2 * ACTIVE_RETRY_AFTER_S, settings.max_hold_s]
