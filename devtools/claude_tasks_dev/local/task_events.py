"""EventBridge Pipes and the task event bus, locally: the tasks table's stream through the same functions as in AWS.

Every `interval_s` a thread reads the stream's new records (filtered by the pipe's own patterns from
`template.yaml`) and invokes the events function with them, as the pipe does; the function puts the events
on the emulated bus, where a rule copies them to a tap queue. The same thread reads the tap, appends each
event to the events log (which `claude-tasks events tail` prints), and invokes the replies function with
those the template's reply rule matches. Each step is one short request: the emulator is never held.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from moto.events.models import EventPattern

from claude_tasks.core.config import Settings
from claude_tasks_dev.local.event_log import EventLog
from claude_tasks_dev.local.handlers import ACCOUNT_ID, LambdaFunction
from claude_tasks_dev.local.stream import StreamReader
from claude_tasks_dev.local.template import resources_of_type

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger("claude_tasks_dev.local")
PIPE, REPLY_RULE = "TaskEventsPipe", "TaskRepliesRule"
# The pipe's own retries of a failing batch before it gives the batch up (the template's MaximumRetryAttempts).
MAX_ATTEMPTS = 10
# A pass reads the tap until it is empty, but not for ever: the stream's next records wait meanwhile.
MAX_TAP_RECEIVES = 20


def pipe_filters(template: dict[str, Any]) -> list[EventPattern]:
    """The pipe's filter patterns, as the template writes them."""
    criteria = resources_of_type(template, "AWS::Pipes::Pipe")[PIPE]["SourceParameters"]["FilterCriteria"]
    return [EventPattern.load(f["Pattern"]) for f in criteria["Filters"]]


def reply_rule(template: dict[str, Any]) -> EventPattern:
    """The reply rule's pattern, as the template writes it."""
    return EventPattern.load(json.dumps(resources_of_type(template, "AWS::Events::Rule")[REPLY_RULE]["EventPattern"]))


class TaskEventsLoop:
    """Runs the pipe and the bus's rules until `stop()`; records written before it was made are not events."""

    def __init__(
        self,
        template: dict[str, Any],
        settings: Settings,
        events_function: LambdaFunction,
        replies_function: LambdaFunction,
        log: EventLog,
        interval_s: float = 0.5,
    ) -> None:
        endpoint = str(settings.aws_endpoint_url)
        self.log = log
        self.interval_s = interval_s
        self._events_function = events_function
        self._replies_function = replies_function
        self._filters = pipe_filters(template)
        self._reply_rule = reply_rule(template)
        self._stream = StreamReader(endpoint, settings.region, settings.tasks_table)
        self._stream.skip_to_end()  # restored data was announced when it was written
        self._sqs: SQSClient = boto3.client("sqs", region_name=settings.region, endpoint_url=endpoint)
        self._tap_url = _tap(self._sqs, settings, endpoint)
        self._failures = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="task-events", daemon=True)

    def start(self) -> TaskEventsLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop, after one last pass: the events of the last writes are published and logged."""
        self._stopping.set()
        self._thread.join()
        self.poll_once()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            self.poll_once()

    def poll_once(self) -> int:
        """One pass: the stream's new records to the events function, the bus's new events to their rules.
        Returns how many events were logged; failures are logged, never raised."""
        try:
            self._pipe()
            return self._bus()
        except Exception:
            logger.exception("task events: a pass failed; trying again")
            return 0

    def _pipe(self) -> None:
        records = self._stream.read()
        if not records:
            return
        batch = [r for r in records if any(f.matches_event(r) for f in self._filters)]  # type: ignore[arg-type]
        try:
            if batch:
                self._events_function.invoke(batch)
        except Exception:
            self._failures += 1
            if self._failures < MAX_ATTEMPTS:
                logger.exception("task events: the events function failed; the batch is read again")
                return  # not advanced: the next pass delivers the same records, as the pipe retries
            logger.exception("task events: %d records given up after %d attempts", len(records), MAX_ATTEMPTS)
        self._failures = 0
        self._stream.advance(records)

    def _bus(self) -> int:
        """The tap's events, until it is empty (at most `MAX_TAP_RECEIVES` receives of 10): a tap left to grow
        makes every receive slower, as the emulator weighs each message it hands out against the whole queue."""
        handled = 0
        for _ in range(MAX_TAP_RECEIVES):
            messages = self._sqs.receive_message(QueueUrl=self._tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            received = messages.get("Messages", [])
            if not received:
                break
            for message in received:
                self._deliver(json.loads(message["Body"]))
            self._sqs.delete_message_batch(
                QueueUrl=self._tap_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)],
            )
            handled += len(received)
        return handled

    def _deliver(self, event: dict[str, Any]) -> None:
        self.log.append(event)
        if self._reply_rule.matches_event(event):  # type: ignore[arg-type]
            try:
                self._replies_function.invoke(event)
            except Exception:
                # EventBridge would retry, then use the DLQ; here the event is in the log for a look.
                logger.exception("task events: the replies function failed for %s", event.get("id"))


def _tap(sqs: SQSClient, settings: Settings, endpoint: str) -> str:
    """A rule on the bus that copies every event of the service to a queue this loop reads."""
    name = f"{settings.event_bus_name}-tap"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    events = boto3.client("events", region_name=settings.region, endpoint_url=endpoint)
    events.put_rule(
        Name=name,
        EventBusName=settings.event_bus_name,
        EventPattern=json.dumps({"source": [settings.event_source]}),
    )
    arn = f"arn:aws:sqs:{settings.region}:{ACCOUNT_ID}:{name}"
    events.put_targets(Rule=name, EventBusName=settings.event_bus_name, Targets=[{"Id": "tap", "Arn": arn}])
    return url


def events_log_path(state_dir: Path) -> Path:
    return state_dir / "events.jsonl"
