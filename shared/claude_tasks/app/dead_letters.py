"""The dead-letter queues for administrators: each message with the worker's reason, and its redrive.

Two task queues may exist — the task queue and, with Claude Code, its own — each with its DLQ.
A message reaches a DLQ by SQS's redrive, unchanged; the worker's reason for giving up on it is
kept apart, keyed by the message id (store/dead_letters.py says why), and joined here.
Looking is not taking: listed messages are visible again at once. A redrive sends the message
back to its source queue and then deletes it from the DLQ (a crash in between duplicates it,
never loses it; the worker treats a duplicate as any other delivery). A `task.run` whose task has
ended or is gone is refused: it would find nothing to run, and a failed task is retried instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from claude_tasks.app.dead_letter_views import DeadLetterPage, Redrive, RedriveRefusal, view
from claude_tasks.app.delivery import MessageRejected
from claude_tasks.app.messages import TaskRun, parse
from claude_tasks.core.clients import make_client
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import DeadLetterQueueUnavailable, Forbidden, TaskNotFound
from claude_tasks.core.lifecycle import FINISHED, Event, sources
from claude_tasks.core.records import TaskStatus

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from claude_tasks.store import Store

logger = Logger(child=True)

# Messages are held invisible while a call looks at them: longer than the API's 29 s timeout,
# so a call that dies leaves nothing hidden for long.
HOLD_S = 60
# What one redrive of every message looks at in each DLQ: a larger DLQ is redriven by calling again.
MAX_REDRIVE = 100
# How far into each DLQ a redrive of named messages looks for them.
MAX_LOOK = 500


@dataclass(frozen=True)
class _Queue:
    name: str
    dlq_url: str
    source_url: str


class DeadLetterQueues:
    """Lists and redrives the DLQs' messages, for administrators. Clients are made on first use."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    @cached_property
    def _sqs(self) -> SQSClient:
        client: SQSClient = make_client("sqs", self._settings)
        return client

    def letters(self, principal: str, limit: int) -> DeadLetterPage:
        """Up to `limit` messages of the DLQs, each with its reason. Raises `Forbidden` unless an admin."""
        self._check_admin(principal)
        found: list[tuple[str, Any]] = []
        with _sqs_faults():
            for queue in self._queues():
                messages = self._take(queue.dlq_url, limit - len(found))
                self._release(queue.dlq_url, messages)
                found.extend((queue.name, message) for message in messages)
        # Read after the messages: a reason is written before its message moves, so none is missed.
        reasons = self._store.dead_letters.all()
        return DeadLetterPage(items=[view(name, message, reasons.get(message["MessageId"])) for name, message in found])

    def redrive(self, principal: str, message_ids: list[str]) -> Redrive:
        """Send the named messages (none named: every one, up to `MAX_REDRIVE`) back to their task queues.

        A `task.run` whose task has ended or is gone is refused, and so is an id in no DLQ.
        Raises `Forbidden` unless `principal` is an admin.
        """
        self._check_admin(principal)
        wanted = set(message_ids)
        result = Redrive(redriven=[], refused=[])
        with _sqs_faults():
            for queue in self._queues():
                self._redrive_queue(queue, wanted, result)
        seen = {*result.redriven, *(r.message_id for r in result.refused)}
        result.refused.extend(
            RedriveRefusal(
                message_id=i,
                detail="not in a dead-letter queue: redriven already, expired, or mistyped (or held for a moment "
                "by another listing or redrive: try again)",
            )
            for i in dict.fromkeys(message_ids)
            if i not in seen
        )
        return result

    def _redrive_queue(self, queue: _Queue, wanted: set[str], result: Redrive) -> None:
        """Redrive `queue`'s wanted messages (every one when none is named) into `result`; release the rest."""
        kept = []
        for message in self._take(queue.dlq_url, MAX_LOOK if wanted else MAX_REDRIVE):
            message_id = message["MessageId"]
            refusal = self._refusal(message["Body"]) if not wanted or message_id in wanted else None
            if refusal is not None:
                result.refused.append(RedriveRefusal(message_id=message_id, detail=refusal))
            if refusal is not None or (wanted and message_id not in wanted):
                kept.append(message)
                continue
            # Sent before it is deleted: a crash in between duplicates the message, never loses it.
            self._sqs.send_message(QueueUrl=queue.source_url, MessageBody=message["Body"])
            self._sqs.delete_message(QueueUrl=queue.dlq_url, ReceiptHandle=message["ReceiptHandle"])
            self._store.dead_letters.forget(message_id)
            result.redriven.append(message_id)
        self._release(queue.dlq_url, kept)

    def _check_admin(self, principal: str) -> None:
        if principal not in self._settings.admins:
            raise Forbidden("the dead-letter queues are for administrators only")

    def _queues(self) -> list[_Queue]:
        settings = self._settings
        queues = [_Queue("tasks", settings.dlq_url, settings.task_queue_url)]
        if settings.claude_code_dlq_url and settings.claude_code_queue_url:
            queues.append(_Queue("claude-code", settings.claude_code_dlq_url, settings.claude_code_queue_url))
        return [queue for queue in queues if queue.dlq_url]

    def _refusal(self, body: str) -> str | None:
        """Why redriving this message would do nothing, or None. A message the worker could not read is
        redriven: a newer worker may read it."""
        try:
            message = parse(body)
        except MessageRejected:
            return None
        if not isinstance(message, TaskRun):
            return None
        try:
            task = self._store.tasks.load(message.task_id)
        except TaskNotFound:
            return f"task {message.task_id} no longer exists: a redriven task.run would find nothing to run"
        if task.status not in FINISHED:
            return None  # queued or running: a second task.run is a duplicate the worker skips
        retry = f"; retry it with POST /tasks/{task.task_id}/retry" if task.status in sources(Event.RETRY) else ""
        if task.status is TaskStatus.FAILED:
            return (
                f"task {task.task_id} already failed ({task.error or 'no error recorded'}): "
                f"a redriven task.run would not run it{retry}"
            )
        return f"task {task.task_id} is already {task.status.value}: a redriven task.run would not run it{retry}"

    def _take(self, queue_url: str, limit: int) -> list[Any]:
        """Up to `limit` messages of the queue, held invisible for `HOLD_S` seconds."""
        messages: list[Any] = []
        while len(messages) < limit:
            batch = self._sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, limit - len(messages)),
                VisibilityTimeout=HOLD_S,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        return messages

    def _release(self, queue_url: str, messages: list[Any]) -> None:
        """Make `messages` visible again at once."""
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages[start : start + 10])
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]


@contextmanager
def _sqs_faults() -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        logger.exception("SQS failed while the dead-letter queues were read")
        raise DeadLetterQueueUnavailable(f"SQS did not answer: {type(error).__name__}; try again") from error
