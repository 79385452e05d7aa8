"""Domain errors. The domain raises them; each entry point maps them to its protocol in one place.

`kind` is the only thing an entry point needs: `not_found`, `conflict`,
`invalid`, `too_large`, `forbidden`, `quota` (over an owner's quota) or `transient` (worth retrying).
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base of every error the domain raises on purpose; `str(err)` says what to fix."""

    kind: ClassVar[str] = "invalid"


class NotFound(DomainError):
    kind = "not_found"


class SessionNotFound(NotFound):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id} does not exist")
        self.session_id = session_id


class TaskNotFound(NotFound):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} does not exist")
        self.task_id = task_id


class ReportNotReady(NotFound):
    """No full consistency check has completed yet: there is no report to serve."""

    def __init__(self) -> None:
        super().__init__(
            "no full consistency check has completed yet: the janitor starts one on its FullCheckSchedule "
            "and completes it within a few runs"
        )


class Conflict(DomainError):
    kind = "conflict"


class SessionNotActive(Conflict):
    def __init__(self, session_id: str, status: str) -> None:
        super().__init__(f"session {session_id} is {status}, not active: it takes no new tasks")


class SessionHasTasks(Conflict):
    def __init__(self, session_id: str, task_count: int) -> None:
        super().__init__(f"session {session_id} still has {task_count} task(s): delete them first or pass cascade=true")


class SessionHasRunningTasks(Conflict):
    def __init__(self, session_id: str, task_ids: list[str]) -> None:
        super().__init__(
            f"session {session_id} has running task(s) {', '.join(sorted(task_ids))}: cancel them first "
            "(POST /tasks/{id}/cancel), then delete the session"
        )
        self.task_ids = sorted(task_ids)


class TaskStateConflict(Conflict):
    """The task is not in a state that allows the operation (e.g. deleting a running task)."""


class ClaudeSessionTaken(Conflict):
    def __init__(self, claude_session_id: str) -> None:
        super().__init__(f"claude session id {claude_session_id} is already held by another task")


class StaleInteractionCount(Conflict):
    def __init__(self, task_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"task {task_id} has {actual} interaction(s), not the {expected} this write expected: "
            "another writer appended first"
        )
        self.expected = expected
        self.actual = actual


class InteractionSessionMismatch(Conflict):
    def __init__(self, task_id: str, session_id: str, task_session_id: str) -> None:
        super().__init__(
            f"interaction names session {session_id}, but task {task_id} belongs to session {task_session_id}"
        )


class ConcurrentUpdate(Conflict):
    """Another writer changed the item between our read and our conditional write."""

    kind = "transient"


class ImmutableField(DomainError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} cannot be changed after creation")
        self.field = field


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was first used with another request: replaying it must send the same one."""

    def __init__(self, kind: str) -> None:
        super().__init__(
            f"this Idempotency-Key already created a {kind} from a different request: send the same request "
            "again to get that one, or use a new key for a new one"
        )


class InvalidCursor(DomainError):
    def __init__(self) -> None:
        super().__init__("cursor is not valid for this query: pass the next_cursor of the previous page")


class TooLarge(DomainError):
    """Text that would not fit where it must be kept (413)."""

    kind = "too_large"

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} would be {size} bytes in UTF-8; the limit is {limit}")


class PromptTooLarge(DomainError):
    """A prompt longer than the configured number of characters (413)."""

    kind = "too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"prompt is {size} characters; the limit is {limit}")


class ItemTooLarge(DomainError):
    """The write would make an item larger than DynamoDB's 400 KB limit: the caller must send less."""

    kind = "too_large"


class Forbidden(DomainError):
    kind = "forbidden"


class QueueUnavailable(DomainError):
    """The task was saved, but its run message could not be sent: the same call may succeed later."""

    kind = "transient"


class DeadLetterQueueUnavailable(DomainError):
    """SQS failed while a dead-letter queue was read or redriven: the same call may succeed later. Messages
    it held reappear within a minute; a redrive that broke off may have sent some of them already."""

    kind = "transient"


class TransientStoreError(DomainError):
    """DynamoDB throttled us or a transaction conflicted: the same call may succeed later."""

    kind = "transient"


class QuotaExceeded(DomainError):
    """The owner is over one of their quotas (429): `limit` names it, `current` is the figure it counts,
    `resets_at` when it next allows more (ISO-8601; None: when one of the owner's tasks finishes), and
    `retry_after_s` how long to wait."""

    kind = "quota"

    def __init__(self, limit: str, current: float, allowed: float, resets_at: str | None, retry_after_s: int) -> None:
        when = f"at {resets_at}" if resets_at else "when one of your queued or running tasks finishes"
        super().__init__(
            f"over the {limit} quota: {current:g} of {allowed:g}; it allows more {when} "
            f"(try again in {retry_after_s} s)"
        )
        self.limit = limit
        self.current = current
        self.allowed = allowed
        self.resets_at = resets_at
        self.retry_after_s = retry_after_s
