"""Task events from the tasks table's stream: which records are events, what each says, and their publishing.

Events come from the committed data, never from the code path that wrote it: a DynamoDB stream record
exists only for a committed write, and every committed write yields one. A record is an event when it
creates a task, changes its status, or deletes it; a turn recorded or a title edited is not one.

Deleting is two writes: the mark `deleting` (from then on the API answers 404) and the removal once the
task's interactions are gone. The mark is the deletion's event, with the status the task had before;
a removal without a mark before it (none is made today) is one too, so each deletion is announced once.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from claude_tasks.core.clients import make_client
from claude_tasks.core.config import Settings
from claude_tasks.core.events import EventStatus, TaskEvent, event_id, links
from claude_tasks.core.records import Task, TaskStatus
from claude_tasks.store.records import task_from_image

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

StreamRecord = Mapping[str, Any]
# PutEvents takes at most ten entries per call.
_PUT_EVENTS_MAX = 10


class PublishFailed(Exception):
    """The bus refused some entries: the batch must be delivered again (consumers drop the repeats by id)."""


def table_of(record: StreamRecord) -> str:
    """The table a stream record comes from, as its ARN without the stream's label (`…:table/NAME`).

    The label changes when a stream is turned off and on again; the table does not.
    """
    arn = str(record["eventSourceARN"])
    return arn.split("/stream/", 1)[0]


def task_event(record: StreamRecord) -> TaskEvent | None:
    """The event `record` stands for, or None when it changes no status (see the module docstring)."""
    change = record["dynamodb"]
    if not any(_is_task(change.get(image)) for image in ("NewImage", "OldImage")):
        return None  # an item of another kind, should one ever share the table
    new = task_from_image(change["NewImage"]) if change.get("NewImage") else None
    old = task_from_image(change["OldImage"]) if change.get("OldImage") else None
    if new is not None and old is not None and new.status == old.status:
        return None
    if new is not None and new.status != TaskStatus.DELETING:
        previous = None if old is None else EventStatus(old.status.value)
        return _event(record, new, EventStatus(new.status.value), previous, new.updated_at)
    if old is None or old.status == TaskStatus.DELETING:
        return None  # the removal of a task whose deletion was announced when it was marked
    task = new or old
    when = new.updated_at if new is not None else _approximate_time(change, old.updated_at)
    return _event(record, task, EventStatus.DELETED, EventStatus(old.status.value), when)


def _is_task(image: Mapping[str, Any] | None) -> bool:
    return image is not None and "session_id" in image and "status" in image


def task_events(records: Iterable[StreamRecord]) -> list[TaskEvent]:
    """The events of a batch of stream records, in the batch's order."""
    return [event for event in map(task_event, records) if event is not None]


def _event(record: StreamRecord, task: Task, status: EventStatus, previous: EventStatus | None, when: str) -> TaskEvent:
    return TaskEvent(
        event_id=event_id(table_of(record), task.task_id, task.created_at, task.version, status),
        task_id=task.task_id,
        session_id=task.session_id,
        owner=task.owner,
        claude_session_id=task.claude_session_id,
        forked_from=task.forked_from,
        idempotency_key=task.idempotency_key,
        reply_to=task.reply_to,
        status=status,
        previous_status=previous,
        reason=task.error,
        backend=task.backend,
        model=task.model,
        turns=task.turns,
        interaction_count=task.interaction_count,
        attempts=task.attempts,
        usage=task.usage,
        cost_usd=task.cost_usd,
        version=task.version,
        occurred_at=when,
        links=links(task.task_id),
    )


def _approximate_time(change: Mapping[str, Any], fallback: str) -> str:
    seconds = change.get("ApproximateCreationDateTime")
    if not isinstance(seconds, int | float):
        return fallback
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def bus_entry(event: TaskEvent, settings: Settings) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry of `event` on the service's bus."""
    return {
        "EventBusName": settings.event_bus_name,
        "Source": settings.event_source,
        "DetailType": event.detail_type,
        "Detail": event.model_dump_json(),
    }


class EventPublisher:
    """Puts task events on the service's bus. The client is made on first use: no network at import."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _events(self) -> EventBridgeClient:
        client: EventBridgeClient = make_client("events", self._settings)
        return client

    def publish(self, events: list[TaskEvent]) -> int:
        """Put every event on the bus; returns how many. Raises `PublishFailed` when the bus refused any
        (botocore's errors as they come): the caller's batch is then delivered again, all of it."""
        for start in range(0, len(events), _PUT_EVENTS_MAX):
            chunk = [bus_entry(event, self._settings) for event in events[start : start + _PUT_EVENTS_MAX]]
            answer = self._events.put_events(Entries=chunk)
            if answer.get("FailedEntryCount"):
                reasons = {e.get("ErrorCode", "?") for e in answer["Entries"] if e.get("ErrorCode")}
                raise PublishFailed(f"the bus refused {answer['FailedEntryCount']} event(s): {sorted(reasons)}")
        return len(events)
