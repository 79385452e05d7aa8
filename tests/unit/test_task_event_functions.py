"""The task events and replies functions on in-process moto: stream records in, events on the bus, replies out.

A rule on the bus copies every event to a queue the test reads, as a consumer's rule would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings, get_settings
from claude_tasks.core.records import NewTask, Session
from claude_tasks.store import Store
from claude_tasks_dev.local.stream import StreamReader
from tests.conftest import SessionFactory
from tests.support.handlers import load_handler
from tests.support.worker import LambdaContextStub, environment

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture
def handlers(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    """The two functions, freshly imported with the test's resources in their environment."""
    for name, value in environment(settings).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield {"events": load_handler("events"), "replies": load_handler("replies")}
    get_settings.cache_clear()


@pytest.fixture
def bus_copy(settings: Settings) -> str:
    """A queue receiving every event the bus gets (a consumer's rule on the service's source)."""
    sqs = boto3.client("sqs", region_name=settings.region)
    url = sqs.create_queue(QueueName="bus-copy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=settings.region)
    pattern = json.dumps({"source": [settings.event_source]})
    events.put_rule(Name="copy", EventBusName=settings.event_bus_name, EventPattern=pattern)
    events.put_targets(Rule="copy", EventBusName=settings.event_bus_name, Targets=[{"Id": "copy", "Arn": arn}])
    return url


@pytest.fixture
def session(session_factory: SessionFactory) -> Session:
    return session_factory(owner="alice")


def _received(settings: Settings, url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=settings.region)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return [
        {**json.loads(m["Body"]), "attributes": m.get("MessageAttributes", {})} for m in messages.get("Messages", [])
    ]


def _reply_queue(settings: Settings, name: str) -> str:
    url: str = boto3.client("sqs", region_name=settings.region).create_queue(QueueName=name)["QueueUrl"]
    return url


def test_the_events_function_puts_each_status_change_on_the_bus(
    handlers: dict[str, ModuleType], settings: Settings, store: Store, session: Session, bus_copy: str
) -> None:
    # Given the stream records of a task created, then cancelled, and a title edit between (no event)
    task = store.tasks.create("alice", session.session_id, NewTask(prompt="hidden"))
    store.tasks.update("alice", task.task_id, {"title": "t"})
    store.transitions.cancel("alice", task.task_id)
    records = StreamReader(None, settings.region, settings.tasks_table).read()
    # When the pipe invokes the function with them (a JSON array of records)
    answer = handlers["events"].lambda_handler(json.loads(json.dumps(records)), LambdaContextStub())
    # Then two events reach the bus, from the service, typed by status, with the task's ids
    assert answer == {"records": 3, "events": 2}
    received = _received(settings, bus_copy)
    assert [(e["source"], e["detail-type"]) for e in received] == [
        ("claude-task-server", "Task Queued"),
        ("claude-task-server", "Task Cancelled"),
    ]
    assert {e["detail"]["task_id"] for e in received} == {task.task_id}


def test_the_replies_function_sends_a_terminal_event_to_its_reply_queue(
    handlers: dict[str, ModuleType], settings: Settings
) -> None:
    # Given a terminal event of a task whose task.create named a queue under the prefix
    queue = _reply_queue(settings, "claude-tasks-reply-pipeline")
    event = _bus_event(status="succeeded", reply_to=queue)
    # When the reply rule invokes the function
    answer = handlers["replies"].lambda_handler(event, LambdaContextStub())
    # Then the queue receives the event's detail, its id as a message attribute
    assert answer == {"sent": True}
    (reply,) = _received(settings, queue)
    assert reply["status"] == "succeeded" and reply["task_id"] == event["detail"]["task_id"]
    assert reply["attributes"]["event_id"]["StringValue"] == event["detail"]["event_id"]


@pytest.mark.parametrize(
    ("status", "queue_name"),
    [("running", "claude-tasks-reply-pipeline"), ("failed", "someone-elses-queue")],
)
def test_the_replies_function_sends_nothing_before_the_end_or_outside_the_prefix(
    handlers: dict[str, ModuleType], settings: Settings, status: str, queue_name: str
) -> None:
    # Given an event that is not terminal, or names a queue outside the allowed prefix
    queue = _reply_queue(settings, queue_name)
    # When the function receives it
    answer = handlers["replies"].lambda_handler(_bus_event(status=status, reply_to=queue), LambdaContextStub())
    # Then nothing is sent
    assert answer == {"sent": False}
    assert _received(settings, queue) == []


def _bus_event(status: str, reply_to: str) -> dict[str, Any]:
    """The sample bus event (`events/eventbridge/task-failed.json`), as another status and queue."""
    event: dict[str, Any] = json.loads((EVENTS / "eventbridge" / "task-failed.json").read_text())
    event["detail-type"] = f"Task {status.capitalize()}"
    event["detail"].update(status=status, reply_to=reply_to)
    return event


def test_the_sample_batch_makes_the_sample_events(handlers: dict[str, ModuleType], bus_copy: str) -> None:
    # Given the pipe's sample batch (`sam local invoke TaskEventsFunction -e events/pipes/task-stream-batch.json`)
    batch = json.loads((EVENTS / "pipes" / "task-stream-batch.json").read_text())
    # When the function publishes it
    answer = handlers["events"].lambda_handler(batch, LambdaContextStub())
    # Then its last event is the sample the replies function is given (reply_to aside: the sample names one)
    settings = get_settings()
    received = _received(settings, bus_copy)
    assert answer == {"records": 3, "events": 3}
    sample = json.loads((EVENTS / "eventbridge" / "task-failed.json").read_text())
    assert received[-1]["detail"] == {**sample["detail"], "reply_to": None}
    assert received[-1]["detail-type"] == sample["detail-type"]
