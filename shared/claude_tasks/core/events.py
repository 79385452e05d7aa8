"""Task events: what the service publishes on its event bus when a task's status changes or it is deleted.

The event's `detail` is a `TaskEvent`; `docs/task-event.schema.json` is generated from it (a test keeps the
two equal). It names the task and says how it ended, never what was asked or answered: a consumer reads the
prompt and the replies through the API paths in `links`.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import Field

from claude_tasks.core.records import Record, Usage

# uuid5 names live in a namespace of their own: the same change always maps to the same id.
_EVENT_ID_NAMESPACE = uuid.UUID("6b1f7a52-8d0e-4c53-9a51-3c2f0e6d9b47")


class EventStatus(StrEnum):
    """A task's visible statuses, and `deleted`."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXHAUSTED = "exhausted"
    CANCELLED = "cancelled"
    DELETED = "deleted"


# The ends of a run: the event a `reply_to` queue receives.
TERMINAL = frozenset({EventStatus.SUCCEEDED, EventStatus.FAILED, EventStatus.EXHAUSTED, EventStatus.CANCELLED})


class TaskLinks(Record):
    """Where the API serves what the event leaves out (with the owner's credentials)."""

    task: str = Field(description="GET this path for the task, its prompt included.")
    interactions: str = Field(description="GET this path for the task's turns, the replies included.")


class TaskEvent(Record):
    """The `detail` of a task event. `detail-type` is "Task " and the status, capitalised ("Task Succeeded")."""

    event_id: str = Field(
        description="The same for every delivery of the same change (uuid5 of the table, task id, the task's "
        "created_at, version and status): drop an event whose id you have seen."
    )
    task_id: str
    session_id: str
    owner: str
    claude_session_id: str | None = None
    forked_from: str | None = None
    idempotency_key: str | None = Field(None, description="The key the task was created with, if any.")
    reply_to: str | None = Field(None, description="The SQS queue its terminal events are also sent to.")
    status: EventStatus
    previous_status: EventStatus | None = Field(None, description="None when the task was created.")
    reason: str | None = Field(None, description="Why it failed, was exhausted or cancelled, if it says.")
    backend: str | None = None
    model: str | None = None
    turns: int = 0
    interaction_count: int = 0
    attempts: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    version: int = Field(description="The task item's version: grows with every write; order events by it.")
    occurred_at: str = Field(description="When the change was committed (ISO 8601, UTC).")
    links: TaskLinks

    @property
    def detail_type(self) -> str:
        return f"Task {self.status.value.capitalize()}"

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def event_id(table: str, task_id: str, created_at: str, version: int, status: EventStatus) -> str:
    """The id of the change that left task `task_id` of `table`, created at `created_at`, at `version` in `status`.

    Made from the committed item, not from the stream record that carried it: every redelivery of the
    record, a replay of the stream, or another reader of the same table names the change the same way.
    `created_at` tells apart the tasks one id can name in turn: a task created with an Idempotency-Key
    has an id fixed by its owner and key, so once it is deleted the same key creates a new task with
    the same id, starting again at version 1 — without it, that task's events would repeat the first
    one's ids, and a consumer dropping repeats would miss them.
    """
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{table}|{task_id}|{created_at}|{version}|{status.value}"))


def links(task_id: str) -> TaskLinks:
    return TaskLinks(task=f"/tasks/{task_id}", interactions=f"/tasks/{task_id}/interactions")
