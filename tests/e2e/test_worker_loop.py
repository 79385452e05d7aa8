"""The local SQS event source and schedule in process, with recording handlers, against the embedded AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings
from claude_tasks_dev.checkout import repo_root
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.handlers import LambdaFunction
from claude_tasks_dev.local.resources import provision
from claude_tasks_dev.local.schedule import Schedule
from claude_tasks_dev.local.sqs_event import failed_ids
from claude_tasks_dev.local.worker_loop import WorkerLoop
from tests.e2e.local_stack import wait_until

SAMPLE = json.loads((repo_root() / "events" / "sqs" / "task-run-batch.json").read_text())


class Worker:
    """Records batches; fails the records whose body is in `failing`, or raises when `explode` is set."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.failing: set[str] = set()
        self.explode = False

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.batches.append(event["Records"])
        if self.explode:
            raise RuntimeError("the whole invocation failed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self.failing
            ]
        }


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as embedded:
        yield embedded


@pytest.fixture
def settings(aws: EmbeddedAws) -> Settings:
    aws.reset()
    return provision(aws.endpoint_url)


@pytest.fixture
def worker() -> Worker:
    return Worker()


@pytest.fixture
def loop(settings: Settings, worker: Worker) -> Iterator[WorkerLoop]:
    function = LambdaFunction("WorkerFunction", worker, timeout_s=150, memory_mb=1024)
    running = WorkerLoop(function, settings.task_queue_url, str(settings.aws_endpoint_url), settings.region, 0.05, 0)
    yield running.start()
    running.stop()


def _sqs(settings: Settings) -> Any:
    return boto3.client("sqs", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)


def _count(settings: Settings, url: str) -> int:
    attributes = _sqs(settings).get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_records_have_lambdas_sqs_shape_and_succeeded_ones_are_deleted(
    settings: Settings, worker: Worker, loop: WorkerLoop
) -> None:
    # Given a message with an attribute on the task queue
    attributes = {"origin": {"DataType": "String", "StringValue": "test"}}
    _sqs(settings).send_message(QueueUrl=settings.task_queue_url, MessageBody="hello", MessageAttributes=attributes)
    # When the loop has handed it to the worker
    wait_until(lambda: worker.batches, 10, "a batch")
    record = worker.batches[0][0]
    # Then the record has the keys of the sample SQS event, the body and attribute as sent
    assert set(record) == set(SAMPLE["Records"][0])
    assert record["body"] == "hello" and record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":claude-tasks-tasks")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["origin"]["stringValue"] == "test"
    # And once acknowledged it is gone from the queue
    wait_until(lambda: _count(settings, settings.task_queue_url) == 0, 10, "the message to be deleted")


def test_a_reported_failure_is_redelivered_until_the_redrive_moves_it_to_the_dlq(
    settings: Settings, worker: Worker, loop: WorkerLoop
) -> None:
    # Given a batch of a good message and one the worker always reports failed
    worker.failing = {"poison"}
    for body in ("good", "poison"):
        _sqs(settings).send_message(QueueUrl=settings.task_queue_url, MessageBody=body)
    # When the loop has run long enough
    wait_until(lambda: _count(settings, settings.dlq_url) == 1, 15, "the poison message in the DLQ")
    # Then the poison was received maxReceiveCount (5) times, the good one once, and the queue is empty
    deliveries = [r["body"] for batch in worker.batches for r in batch]
    assert deliveries.count("poison") == 5 and deliveries.count("good") == 1
    assert _count(settings, settings.task_queue_url) == 0


def test_a_worker_that_raises_fails_the_whole_batch(settings: Settings, worker: Worker, loop: WorkerLoop) -> None:
    # Given a worker that raises on every invocation
    worker.explode = True
    _sqs(settings).send_message(QueueUrl=settings.task_queue_url, MessageBody="anything")
    # Then the message is delivered again, and not deleted
    wait_until(lambda: len(worker.batches) >= 2, 10, "a redelivery")
    assert worker.batches[1][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_reply_naming_an_id_outside_the_batch_fails_the_whole_batch() -> None:
    every = {"a", "b"}
    assert failed_ids(None, every) == set()
    assert failed_ids({"batchItemFailures": []}, every) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, every) == {"a"}
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, every) == every
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, every) == every
    assert failed_ids("not a dict", every) == every


def test_the_schedule_invokes_the_janitor_with_the_sample_scheduled_event() -> None:
    # Given a recording janitor
    events: list[dict[str, Any]] = []
    janitor = LambdaFunction("JanitorFunction", lambda event, context: events.append(event), 300, 1024)
    sample = json.loads((repo_root() / "events" / "schedule" / "janitor.json").read_text())
    # When the schedule runs it once
    Schedule(janitor, 30).run_once()
    # Then it got the sample's shape with a fresh id
    assert set(events[0]) == set(sample) and events[0]["detail-type"] == "Scheduled Event"
    assert events[0]["id"] != sample["id"]
