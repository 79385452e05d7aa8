"""The TaskExecutor: one queue message in; the task run to an end state, or the record failed, out.

A run takes the task's lease, then answers its pending prompts one turn at a time
(`claude_tasks.app.turns`), each turn recorded in one transaction guarded by the lease.
Whatever goes wrong after the lease is taken, the task is given back or ended
(docs/task-lifecycle.md): retryable errors return it to `queued` and fail the record
so SQS redelivers it, until the last allowed receive marks it `failed`; fatal errors
fail it at once and acknowledge the record.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from claude_tasks.app.delivery import Delivery, GaveUp, MessageRejected, Outcome, RetryLater
from claude_tasks.app.queue import TaskCreate, TaskQueue, TaskRun, task_message
from claude_tasks.app.service import MAX_PROMPT_BYTES
from claude_tasks.app.turns import BackendFor, Turns, lease_seconds
from claude_tasks.claude import ClaudeError
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import (
    IdempotencyKeyReused,
    InteractionSessionMismatch,
    ItemTooLarge,
    PromptTooLarge,
    SessionNotActive,
    SessionNotFound,
    TaskNotFound,
    TaskStateConflict,
    TransientStoreError,
)
from claude_tasks.core.offer import NotOffered, check_offered
from claude_tasks.core.records import NewTask, Task, TaskLimits, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.runs import Lease, LeaseRefused
from claude_tasks.store.transitions import TooLarge

logger = Logger(child=True)


class TaskExecutor:
    """Runs queue messages. Thread-safe: a batch's records run concurrently on one executor."""

    def __init__(
        self, store: Store, settings: Settings, backend_for: BackendFor | None = None, queue: TaskQueue | None = None
    ) -> None:
        """Builds nothing that talks to the network; backends are chosen (and imported) per task, on first use."""
        self.store = store
        self.settings = settings
        self._turns = Turns(store, settings, queue or TaskQueue(settings), backend_for)

    def handle(self, body: str, delivery: Delivery) -> Outcome:
        """Run the message in `body` to an end state.

        Returns the outcome when the record may be acknowledged. Raises `MessageRejected`
        (invalid message, missing or foreign session), `RetryLater` (retryable error: the task
        is queued again) or `GaveUp` (retryable error on the last allowed receive: the task
        is failed); any other exception also means the record must not be acknowledged.
        """
        message = parse(body)
        if isinstance(message, TaskCreate):
            task = self._create(message)
            return self.run(task.task_id, task.session_id, delivery)
        return self.run(message.task_id, message.session_id, delivery)

    def run(self, task_id: str, session_id: str, delivery: Delivery) -> Outcome:
        """Lease the task and answer its pending prompts. A task with nothing to run is `SKIPPED`."""
        delivery.correlate(task_id)
        lease = Lease.start(lease_seconds(self.settings, delivery))
        try:
            self.store.runs.lease(task_id, session_id, lease)
        except (LeaseRefused, TaskNotFound) as refused:
            # A duplicate delivery, or a message for a finished, cancelled or deleted task.
            logger.info("nothing to run", extra={"reason": str(refused)})
            return Outcome.SKIPPED
        except InteractionSessionMismatch as wrong:
            raise MessageRejected(str(wrong)) from wrong
        except TransientStoreError as busy:
            raise RetryLater(str(busy)) from busy
        return self._leased(task_id, lease, delivery)

    def _leased(self, task_id: str, lease: Lease, delivery: Delivery) -> Outcome:
        try:
            return self._turns.run(task_id, lease, delivery)
        except (TaskStateConflict, TaskNotFound):
            return self._lease_lost(task_id)
        except ClaudeError as error:
            if error.retryable:
                return self._retry(task_id, lease, delivery, error.reason)
            return self._fail(task_id, lease, error.reason)
        except Exception as error:
            # Never leave a held lease behind without trying to give it back: DynamoDB throttled or
            # conflicted, or a write whose outcome is unknown (the lease, read again, decides).
            return self._retry(task_id, lease, delivery, f"{type(error).__name__}: {error}")

    def _retry(self, task_id: str, lease: Lease, delivery: Delivery, reason: str) -> Outcome:
        last = delivery.receive_count >= self.settings.max_receive_count
        try:
            task = self._turns.held(task_id, lease)
            if last:
                self.store.runs.fail(task, lease, reason)
            else:
                self.store.runs.release(task, lease)
        except (TaskStateConflict, TaskNotFound):
            return self._lease_lost(task_id)
        except Exception as error:
            logger.exception("could not give the task back; its lease expires with this invocation")
            raise RetryLater(reason) from error
        if last:
            raise GaveUp(f"{reason} (receive {delivery.receive_count} of {self.settings.max_receive_count})")
        raise RetryLater(reason)

    def _fail(self, task_id: str, lease: Lease, reason: str) -> Outcome:
        try:
            self.store.runs.fail(self._turns.held(task_id, lease), lease, reason)
        except (TaskStateConflict, TaskNotFound):
            return self._lease_lost(task_id)
        logger.warning("task failed", extra={"reason": reason})
        return Outcome.FAILED

    def _lease_lost(self, task_id: str) -> Outcome:
        """The lease was taken away (cancel, delete, takeover) or a write we could not confirm ended the run."""
        try:
            task = self.store.tasks.load(task_id)
        except TaskNotFound:
            logger.info("task deleted while running: nothing written")
            return Outcome.SKIPPED
        if task.status is TaskStatus.CANCELLED:
            logger.info("task cancelled while running: its reply is dropped")
            return Outcome.CANCELLED
        logger.info("the run ended elsewhere", extra={"status": task.status.value})
        return Outcome.SKIPPED

    def _create(self, message: TaskCreate) -> Task:
        # The API's checks: a prompt too large for the task item would fail the write on every receive.
        if len(message.prompt) > self.settings.max_prompt_chars:
            raise MessageRejected(str(PromptTooLarge(len(message.prompt), self.settings.max_prompt_chars)))
        size = len(message.prompt.encode())
        if size > MAX_PROMPT_BYTES:
            raise MessageRejected(str(TooLarge("the prompt", size, MAX_PROMPT_BYTES)))
        try:
            check_offered(self.settings, None, message.model)
        except NotOffered as refused:
            raise MessageRejected(str(refused)) from refused
        new = NewTask(
            prompt=message.prompt, model=message.model, system=message.system, limits=message.limits or TaskLimits()
        )
        try:
            return self.store.tasks.create(
                message.owner,
                message.session_id,
                new,
                idempotency_key=message.idempotency_key,
                request_fingerprint=message.fingerprint,
            )
        except (SessionNotFound, SessionNotActive, ItemTooLarge, IdempotencyKeyReused) as refused:
            raise MessageRejected(str(refused)) from refused
        except TransientStoreError as busy:
            raise RetryLater(str(busy)) from busy


def parse(body: str) -> TaskRun | TaskCreate:
    """The message in `body`. Raises `MessageRejected` saying what is wrong (not JSON, unknown type, fields)."""
    try:
        return task_message.validate_json(body)
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in invalid.errors()[:5]
        )
        raise MessageRejected(f"invalid task message: {problems}") from invalid
