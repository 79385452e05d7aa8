"""The task queue's sender, used by the API, the janitor and the worker (its messages: `claude_tasks.app.messages`).

The messages (and the backends' offer, which routes a task) are imported on the first send, not at
import: the janitor's cold start does not pay for the models it builds one of per stuck task.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from claude_tasks.core.clients import make_client
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Task

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from claude_tasks.app.messages import Message

logger = Logger(child=True)


class TaskQueue:
    """Sends `task.run` messages. Clients are made on first use: no network at import."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _sqs(self) -> SQSClient:
        client: SQSClient = make_client("sqs", self._settings)
        return client

    def send(self, message: Message, queue_url: str | None = None) -> None:
        """Send one message (to the task queue unless `queue_url` says otherwise). Raises botocore's errors;
        see `send_run` for the forgiving form."""
        url = queue_url or self._settings.task_queue_url
        self._sqs.send_message(QueueUrl=url, MessageBody=message.model_dump_json())

    def hold(self, receipt_handle: str, seconds: int) -> bool:
        """Make a message received from this worker's queue (TASK_QUEUE_URL) visible again `seconds` from now,
        for a record about to be reported failed: SQS delivers it after that wait rather than after the
        queue's visibility timeout. Returns False (and logs) when the call failed: then it comes back after
        the visibility timeout, as it would have anyway."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._settings.task_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except Exception:  # noqa: BLE001 - the message is redelivered anyway, only later
            logger.warning("could not shorten a failed message's visibility", exc_info=True)
            return False
        return True

    def queue_for(self, backend: str | None) -> str:
        """Where a task on `backend` (None: the deployment's default) runs: Claude Code tasks on their own
        queue where the deployment has one (in AWS, its container worker's), every other task on the task queue."""
        from claude_tasks.core.offer import AGENT_BACKEND, effective_backend  # noqa: PLC0415 - see the docstring

        if self._settings.claude_code_queue_url and effective_backend(self._settings, backend) == AGENT_BACKEND:
            return self._settings.claude_code_queue_url
        return self._settings.task_queue_url

    def send_run(self, task: Task) -> bool:
        """Ask the worker that runs the task's backend to run it. Returns False (and logs) when the send failed:
        the task stays `queued`, and the janitor re-queues queued tasks nobody picked up."""
        from claude_tasks.app.messages import TaskRun  # noqa: PLC0415 - on first send, not at cold start

        try:
            self.send(TaskRun(task_id=task.task_id, session_id=task.session_id), self.queue_for(task.backend))
        except Exception:  # noqa: BLE001 - any send failure is recoverable by the janitor
            logger.exception("could not enqueue task; the janitor will re-queue it", extra={"task_id": task.task_id})
            return False
        return True

    def send_cleanup(self, task: Task, project_path: str) -> bool:
        """Ask the worker to remove the deleted task's worktree, if it had one. Returns False (and logs) when
        the send failed: the worktree stays (its branch holds the work), removable with `git worktree remove`."""
        if task.worktree is None:
            return True
        from claude_tasks.app.messages import TaskCleanup  # noqa: PLC0415 - on first send, not at cold start

        message = TaskCleanup(task_id=task.task_id, owner=task.owner, project_path=project_path, worktree=task.worktree)
        try:
            self.send(message, self.queue_for(task.backend))  # the worker that reaches the project's files
        except Exception:  # noqa: BLE001 - a worktree left behind loses nothing
            logger.exception("could not ask for the worktree's removal", extra={"task_id": task.task_id})
            return False
        return True
