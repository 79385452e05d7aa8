"""What the admin routes answer about dead letters: each message as its DLQ holds it, with the worker's reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from claude_tasks.core.clock import iso
from claude_tasks.store.dead_letters import Reason

NO_REASON = (
    "no reason recorded: the worker's invocation ended without answering for its last receive "
    "(a timeout or a crash); look in the worker's log under this message id"
)


class _View(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, not at a handler's import


class DeadLetter(_View):
    message_id: str
    queue: str = Field(description="`tasks`, or `claude-code` for the Claude Code worker's queue.")
    kind: str | None = Field(description="The message's `type` (`task.run`, `task.create`, …), when it has one.")
    task_id: str | None
    session_id: str | None
    reason: str | None = Field(description="Why the worker gave up on it, as it said on the last receive.")
    sent_at: str | None = Field(description="When the message was first sent to its task queue.")
    receive_count: int = Field(description="Receives by the worker (SQS's count when no reason was recorded).")


class DeadLetterPage(_View):
    items: list[DeadLetter]
    next_cursor: str | None = Field(None, description="Always null: SQS has no position to resume from.")


class RedriveRefusal(_View):
    message_id: str
    detail: str


class Redrive(_View):
    redriven: list[str]
    refused: list[RedriveRefusal]


def view(queue: str, message: dict[str, Any], reason: Reason | None) -> DeadLetter:
    """The dead letter `message` (as SQS's `ReceiveMessage` returns it, attributes included) of `queue`, with
    the worker's `reason` if it kept one; its kind and ids are read from the body whatever its schema."""
    fields = _fields(message["Body"])
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    return DeadLetter(
        message_id=message["MessageId"],
        queue=queue,
        kind=_short(fields.get("type"), 32),
        task_id=_short(fields.get("task_id"), 64),
        session_id=_short(fields.get("session_id"), 64),
        reason=reason.reason if reason else NO_REASON,
        sent_at=iso(datetime.fromtimestamp(int(sent) / 1000, UTC)) if sent else None,
        receive_count=reason.receive_count if reason else int(attributes.get("ApproximateReceiveCount", 0)),
    )


def _fields(body: str) -> dict[str, Any]:
    """The body's top-level fields when it is a JSON object, whatever its schema; else none."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _short(value: Any, limit: int) -> str | None:
    # A message posted from outside may hold anything: only a plausible id or type is echoed back.
    return value if isinstance(value, str) and 0 < len(value) <= limit else None
