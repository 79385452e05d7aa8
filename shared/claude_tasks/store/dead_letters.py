"""Why each dead letter died: one record per queue message the worker gave up on, keyed by its SQS message id.

Why a table and not the message: SQS's redrive moves the original message to the DLQ as it
was sent — a consumer cannot add attributes to it, and the worker's answer (`batchItemFailures`)
carries no reason. The DLQ keeps the message id, so a record keyed by it joins the message again.

Why the Transcripts table, not a table of their own: the API already `Query`s it and the Claude
Code worker already writes it, the consistency report does not scan it, and the records sit in one
partition of their own (`DEAD_LETTERS`), so listing them is one `Query` and the other grants — the
zip worker's `PutItem`, the API's `DeleteItem` — are held to that partition by
`dynamodb:LeadingKeys` (template.yaml). Dead letters are few (a record is written only on a
message's last receive), so one partition is no hot spot. The TTL matches the DLQs' retention: a
record outlives its message by no more than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from claude_tasks.core.clock import now, now_iso
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.models import DeadLetterReason

if TYPE_CHECKING:
    from claude_tasks.store import Store

# The partition of every record. A transcript's partition is `<owner>#<claude session id>`, always with a `#`.
DEAD_LETTERS = "dead-letters"
# The DLQs' MessageRetentionPeriod (template.yaml: 1209600 s).
RETENTION = timedelta(days=14)
# A reason is a log line, not a report: long validation errors are cut here.
MAX_REASON_CHARS = 2000


@dataclass(frozen=True)
class Reason:
    """What the worker said when it gave up on a message for the last time."""

    message_id: str
    reason: str
    failure: str
    receive_count: int
    failed_at: str


@translate_faults
class DeadLetterReasons:
    def __init__(self, store: Store) -> None:
        self._store = store

    def note(self, message_id: str, reason: str, failure: str, receive_count: int) -> None:
        """Keep (or replace) the reason for `message_id`; it expires with the DLQ's retention."""
        DeadLetterReason(
            DEAD_LETTERS,
            message_id,
            reason=reason[:MAX_REASON_CHARS],
            failure=failure,
            receive_count=receive_count,
            failed_at=now_iso(),
            expires_at=now() + RETENTION,
        ).save()

    def all(self) -> dict[str, Reason]:
        """Every reason kept, by message id (one paginated `Query` of the partition)."""
        return {
            item.position: Reason(
                message_id=item.position,
                reason=item.reason,
                failure=item.failure,
                receive_count=int(item.receive_count),
                failed_at=item.failed_at,
            )
            for item in DeadLetterReason.query(DEAD_LETTERS)
        }

    def forget(self, message_id: str) -> None:
        """Drop the reason for `message_id` (its message left the DLQ); nothing happens if there is none."""
        DeadLetterReason(DEAD_LETTERS, message_id).delete()
