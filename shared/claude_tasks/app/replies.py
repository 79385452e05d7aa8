"""Replies: a task's terminal event, sent also to the `reply_to` queue its `task.create` named."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from claude_tasks.core.clients import make_client
from claude_tasks.core.config import Settings
from claude_tasks.core.events import TaskEvent
from claude_tasks.core.replies import ReplyToRefused, check_reply_to

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(child=True)


class ReplySender:
    """Sends terminal events to their `reply_to` queue. The client is made on first use: no network at import."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _sqs(self) -> SQSClient:
        client: SQSClient = make_client("sqs", self._settings)
        return client

    def send(self, event: TaskEvent) -> bool:
        """Send `event` (its detail, as JSON) to its `reply_to` queue; returns whether one was sent.

        Nothing is sent for an event that is not terminal or names no queue, nor to a queue outside the
        allowed prefix (checked again here: the worker checked it when the task was created). botocore's
        errors propagate, so the event is delivered again.
        """
        if not event.terminal or event.reply_to is None:
            return False
        try:
            queue_url = check_reply_to(self._settings, event.reply_to)
        except ReplyToRefused as refused:
            logger.warning("reply not sent", extra={"task_id": event.task_id, "reason": str(refused)})
            return False
        self._sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=event.model_dump_json(),
            MessageAttributes={"event_id": {"DataType": "String", "StringValue": event.event_id}},
        )
        return True
