"""One delivery of a queue message to the worker, and what the worker answers for it.

A record handler either returns an `Outcome` (the record is acknowledged) or
raises a `RecordFailed` (the record is reported in `batchItemFailures`: SQS
delivers it again, and after `maxReceiveCount` receives moves it to the DLQ).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """How a delivery ended when its record is acknowledged."""

    SUCCEEDED = "succeeded"
    EXHAUSTED = "exhausted"
    FAILED = "failed"  # a non-retryable error: the task says why
    CANCELLED = "cancelled"  # cancelled while running: the reply was dropped
    SKIPPED = "skipped"  # nothing to run: finished, deleted, or running under another live lease
    HANDED_OFF = "handed_off"  # too little invocation time left: re-queued for the next turns


@dataclass(frozen=True)
class Delivery:
    """Where a message came from: its SQS id, how often it was received, when its invocation ends
    (a `time.monotonic()` value; infinite when no Lambda context bounds it), and the receipt handle that
    changes its visibility (None: not known, as for a message not received from SQS)."""

    message_id: str
    receive_count: int = 1
    ends_at: float = math.inf
    receipt_handle: str | None = None

    def remaining_s(self) -> float:
        """Seconds left in the invocation that carries this delivery."""
        return self.ends_at - time.monotonic()


class RecordFailed(Exception):
    """The record must not be acknowledged; `reason` is logged and explains the DLQ entry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MessageRejected(RecordFailed):
    """The message is invalid or names a session that is missing or not the owner's: no retry helps."""


class RetryLater(RecordFailed):
    """A retryable error: the task went back to `queued` (attempt counted) and SQS redelivers the message."""


class OverQuota(RecordFailed):
    """A `task.create` whose owner is over a quota: nothing was written, and SQS delivers the message again
    (once the quota's Retry-After has passed: the worker shortens its visibility) until the quota allows it,
    or after `maxReceiveCount` receives moves it to the DLQ; the reason says which limit held it."""


class GaveUp(RecordFailed):
    """A retryable error on the last allowed receive: the task is `failed`, the message goes to the DLQ."""
