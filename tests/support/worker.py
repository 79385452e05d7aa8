"""Drive the real worker Lambda in tests and benchmarks: its environment, SQS events from events/sqs, a context."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from claude_tasks.app.run import TaskExecutor
from claude_tasks.claude import ClaudeBackend, clear_backends
from claude_tasks.core.config import Settings, get_settings
from claude_tasks.core.records import Session, Task
from claude_tasks.store import Store
from tests.support.handlers import load_handler

EVENTS = Path(__file__).resolve().parents[2] / "events" / "sqs"
Body = str | Mapping[str, Any]


def load_event(name: str) -> dict[str, Any]:
    """The sample event `events/sqs/<name>.json` (the one `sam local invoke` uses)."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def run_body(task: Task) -> dict[str, str]:
    return {"type": "task.run", "task_id": task.task_id, "session_id": task.session_id}


def with_bodies(event: dict[str, Any], bodies: Sequence[Body], receive_count: int = 1) -> dict[str, Any]:
    """A copy of `event` with one record per body (the file's first record is the pattern), fresh message ids."""
    pattern = event["Records"][0]
    records = []
    for body in bodies:
        record = copy.deepcopy(pattern)
        record["messageId"] = str(uuid.uuid4())
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        records.append(record)
    return {"Records": records}


def retarget(event: dict[str, Any], tasks: Sequence[Task]) -> dict[str, Any]:
    """A copy of `event` whose well-formed `task.run` records name `tasks`, in order (records of that
    kind beyond `tasks` are dropped); every other record is kept as it is."""
    targets = iter(tasks)
    records = []
    for record in copy.deepcopy(event["Records"]):
        body = _json(record["body"])
        if body.get("type") == "task.run" and {"task_id", "session_id"} <= set(body):
            task = next(targets, None)
            if task is None:
                continue
            record["body"] = json.dumps(run_body(task))
        records.append(record)
    return {"Records": records}


def for_session(event: dict[str, Any], session: Session) -> dict[str, Any]:
    """A copy of `event` whose `task.create` records target `session` (its id and owner)."""
    event = copy.deepcopy(event)
    for record in event["Records"]:
        body = _json(record["body"])
        if body.get("type") == "task.create":
            record["body"] = json.dumps({**body, "session_id": session.session_id, "owner": session.owner})
    return event


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def redelivered(event: dict[str, Any], receive_count: int) -> dict[str, Any]:
    """The same messages (same ids) received again."""
    event = copy.deepcopy(event)
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return event


def failed_ids(response: Mapping[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def message_ids(event: Mapping[str, Any], *indexes: int) -> set[str]:
    return {event["Records"][i]["messageId"] for i in indexes}


@dataclass
class LambdaContextStub:
    """What Powertools and the worker read from Lambda's context object."""

    remaining_s: float = 150.0
    function_name: str = "WorkerFunction"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:WorkerFunction"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


def environment(settings: Settings) -> dict[str, str | None]:
    """The variables under which `get_settings()` returns `settings` (None: unset)."""
    env: dict[str, str | None] = {}
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        env[str(info.validation_alias)] = None if value is None else str(value)
    return env


@dataclass
class Worker:
    """The worker handler module, freshly imported under `settings`; `use` swaps in an executor for a test."""

    module: ModuleType
    settings: Settings

    def invoke(self, event: dict[str, Any], remaining_s: float = 150.0) -> Any:
        return self.module.lambda_handler(event, LambdaContextStub(remaining_s))

    def twin(self) -> Worker:
        """Another container of the same function: its own module, processor and executor."""
        return Worker(load_handler("worker"), self.settings)

    def use(self, backend: ClaudeBackend | None = None, **overrides: Any) -> Store:
        """Rebind the handler's executor to these settings (and this backend double); returns its store."""
        settings = self.settings.model_copy(update=overrides)
        store = Store(settings)
        backend_for = None if backend is None else (lambda _name: backend)
        setattr(self.module, "executor", TaskExecutor(store, settings, backend_for=backend_for))  # noqa: B010
        return store


def loaded_worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """The real worker handler, loaded with `settings` in its environment (a fixture's body: yields once)."""
    for name, value in environment(settings).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    clear_backends()
    yield Worker(load_handler("worker"), settings)
    get_settings.cache_clear()
    clear_backends()


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS poller builds from messages received with `MessageSystemAttributeNames=["All"]`."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:claude-tasks-tasks",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def deliver_once(worker: Worker, sqs: Any, url: str) -> int:
    """One turn of Lambda's SQS poller: receive up to 10 messages (visible again at once if they fail), invoke
    the worker, delete the acknowledged ones; returns how many were received. After `maxReceiveCount`
    receives, the queue's redrive (moto's too) moves a message to the DLQ."""
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    if received:
        failed = {f["itemIdentifier"] for f in worker.invoke(sqs_event(received))["batchItemFailures"]}
        for message in received:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(received)
