"""The task run: one queue message in; the task leased, its prompts answered and recorded, and the run ended.

`TaskExecutor.handle` is the whole story, read top to bottom:
1. **message** — parse it; a `task.create` first creates its task (the API's checks, its idempotency);
2. **leased** — take the task (`queued` → `running`, or an expired lease taken over);
3. **turns** — while prompts are pending: stop if a limit is reached or too little time is left,
   ask Claude the head prompt (`conversation.request_for`), and record the answer in one
   transaction guarded by the lease (`conversation.turn_record` decides the status after it);
4. **ended** — `succeeded`, `exhausted`, `failed`, handed off to the next invocation, or given back
   for a retry; a lease lost to a cancel or delete writes nothing more.
The allowed moves are the lifecycle table's (`claude_tasks.core.lifecycle`). A backend that takes
several steps per prompt (tools, system notes: Claude Code) records them in step 3, as more
interactions of the same turn; continuing a long turn in the next invocation is step 4's hand-off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.exceptions import OrphanedChildLoggerError

from claude_tasks.app.conversation import exhausted_before_turn, request_for, turn_record
from claude_tasks.app.delivery import Delivery, GaveUp, MessageRejected, Outcome, OverQuota, RetryLater
from claude_tasks.app.messages import TaskCleanup, TaskCreate, parse
from claude_tasks.app.new_tasks import admitted
from claude_tasks.app.queue import TaskQueue
from claude_tasks.claude import ClaudeBackend, ClaudeError, ClaudeReply, get_backend, traced
from claude_tasks.claude.base import is_agent
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import (
    ConcurrentUpdate,
    DomainError,
    InteractionSessionMismatch,
    QuotaExceeded,
    TaskNotFound,
    TaskStateConflict,
    TransientStoreError,
)
from claude_tasks.core.records import Task, TaskStatus
from claude_tasks.core.replies import check_reply_to
from claude_tasks.store import Store
from claude_tasks.store.ids import new_id
from claude_tasks.store.runs import Lease, LeaseRefused

if TYPE_CHECKING:
    from claude_tasks.app.agent_turn import Stopped
    from claude_tasks.claude.agent import AgentBackend

# Claude Code's turn (its agent types, the workspace) is imported by the tasks that use it, which
# load the Claude Code SDK anyway: a chat task's worker does not pay for it at cold start (`make bench`).
# ruff: noqa: PLC0415

logger = Logger(child=True)

BackendFor = Callable[[str], "ClaudeBackend | AgentBackend"]

# A lease ends this long after its invocation can last: the worker's Lambda cannot outlive its
# timeout, so a redelivery after a crash finds the lease expired and takes the task over.
LEASE_GRACE_S = 30.0
# A Claude call's deadline comes this long before the invocation ends: time to record its
# answer, or to give the task back when it failed.
CALL_MARGIN_S = 10.0
# Follow-ups arriving faster than a turn's write can land are not a real workload.
RECORD_ATTEMPTS = 5
# A task.create held back over its owner's quota comes back no sooner than this (SQS's own minimum is
# 0, which would deliver it again at once, only to be refused again).
MIN_HOLD_S = 1


def hold_seconds(retry_after_s: int, receive_count: int, max_receive_count: int, max_hold_s: int) -> int:
    """How long a `task.create` over its owner's quota is held back after its `receive_count`-th receive.

    Every hold costs one of the queue's `max_receive_count` receives, so the wait doubles with each one,
    starting from the quota's Retry-After (at least `MIN_HOLD_S`): min(max_hold_s, max(MIN_HOLD_S,
    retry_after_s) x 2^(receive_count - 1)). The last two receives hold for `max_hold_s`, so the message
    reaches the DLQ no sooner than the old fixed hold's last gap allowed. With the defaults (5 receives,
    900 s) and the active-tasks limit's 30 s, the holds are 30, 60, 120, 900, 900 s: about 33 minutes
    (2010 s) before the DLQ, instead of 2.5 minutes with a fixed 30 s hold.
    """
    if receive_count >= max_receive_count - 1:
        return max_hold_s
    first = max(MIN_HOLD_S, retry_after_s)
    return min(max_hold_s, first * int(2 ** max(0, receive_count - 1)))


def correlate(task_id: str) -> None:
    """Tag this thread's log lines with the task id; never fails the run.

    The handler's Logger is this child logger's parent only when both were made under the same
    service name: a process that imported this module before setting POWERTOOLS_SERVICE_NAME
    (a script, a benchmark) has none, and Powertools then refuses the keys. Its lines lack them.
    """
    try:
        logger.thread_safe_append_keys(task_id=task_id)
    except OrphanedChildLoggerError:
        pass


class TaskExecutor:
    """Runs queue messages. Thread-safe: a batch's records run concurrently on one executor."""

    def __init__(
        self, store: Store, settings: Settings, backend_for: BackendFor | None = None, queue: TaskQueue | None = None
    ) -> None:
        """Builds nothing that talks to the network; backends are chosen (and imported) per task, on first use."""
        self.store = store
        self.settings = settings
        self._queue = queue or TaskQueue(settings)
        self._backend_for = backend_for or (lambda name: get_backend(name, settings))

    # 1. message ------------------------------------------------------------------------------
    def handle(self, body: str, delivery: Delivery) -> Outcome:
        """Run the message in `body` to an end state.

        Returns the outcome when the record may be acknowledged. Raises `MessageRejected`
        (invalid message, missing or foreign session), `RetryLater` (retryable error: the task
        is queued again) or `GaveUp` (retryable error on the last allowed receive: the task
        is failed); any other exception also means the record must not be acknowledged.
        """
        message = parse(body)
        if isinstance(message, TaskCleanup):
            return self._clean_up(message)
        if isinstance(message, TaskCreate):
            task = self._create(message, delivery)
            if self._queue.queue_for(task.backend) != self.settings.task_queue_url:
                # Not this worker's to run (a claude-code task, which its own worker runs in AWS): hand it over;
                # should the send fail, the janitor re-queues the queued task to the right queue.
                self._queue.send_run(task)
                logger.info("handed to the worker that runs its backend", extra={"backend": task.backend})
                return Outcome.HANDED_OFF
            return self.run(task.task_id, task.session_id, delivery)
        return self.run(message.task_id, message.session_id, delivery)

    def _create(self, message: TaskCreate, delivery: Delivery) -> Task:
        """The API's checks and write for a task posted straight to the queue; an invalid one is rejected."""
        try:
            reply_to = None if message.reply_to is None else check_reply_to(self.settings, message.reply_to)
            new = admitted(self.store, message.owner, message.session_id, message.new_task())
            return self.store.tasks.create(
                message.owner,
                message.session_id,
                new,
                idempotency_key=message.idempotency_key,
                request_fingerprint=message.fingerprint,
                reply_to=reply_to,
            )
        except TransientStoreError as busy:
            raise RetryLater(str(busy)) from busy
        except QuotaExceeded as over:
            # Not dropped, not rejected: the message waits for the quota (or ages out to the DLQ saying why).
            last = delivery.receive_count >= self.settings.max_receive_count
            wait = self._hold(delivery, over)
            fate = "goes to the DLQ" if last else f"will be delivered again{wait}"
            raise OverQuota(
                f"task.create for {message.owner} waits: {over} (receive {delivery.receive_count} of "
                f"{self.settings.max_receive_count}; the message {fate})"
            ) from over
        except DomainError as refused:  # no session, not active, too large, not offered, key reused
            raise MessageRejected(str(refused)) from refused

    def _hold(self, delivery: Delivery, over: QuotaExceeded) -> str:
        """Have SQS deliver the message again once the quota may allow more, not after the whole visibility
        timeout: its Retry-After (for the active-tasks limit, which has no reset time, the fixed
        `ACTIVE_RETRY_AFTER_S` of store/usage.py) doubled with each receive, see `hold_seconds`. Returns how
        the reason says it ("" when the visibility stays the queue's)."""
        if delivery.receipt_handle is None:
            return ""
        seconds = hold_seconds(
            over.retry_after_s, delivery.receive_count, self.settings.max_receive_count, self.settings.max_hold_s
        )
        if not self._queue.hold(delivery.receipt_handle, seconds):
            return ""
        return f" in {seconds} s"

    def _clean_up(self, message: TaskCleanup) -> Outcome:
        """Remove a deleted task's worktree. A project that is gone (or not this worker's to reach) has
        nothing to remove; a worktree that is not the named task's, or of a task that still exists, is
        refused: a message from outside the API must not take a live task's files."""
        correlate(message.task_id)
        if Path(message.worktree.path).name != message.task_id:
            raise MessageRejected(f"task.cleanup: {message.worktree.path} is not task {message.task_id}'s worktree")
        try:
            self.store.tasks.load(message.task_id)
        except TaskNotFound:
            pass
        except TransientStoreError as busy:
            raise RetryLater(str(busy)) from busy
        else:
            raise MessageRejected(f"task.cleanup: task {message.task_id} still exists; delete it first")
        from claude_tasks.claude.workspace import WorkspaceError, project_dir, remove

        try:
            project = project_dir(message.project_path, self.settings, message.owner)
        except WorkspaceError as gone:
            logger.info("no project to clean up", extra={"reason": str(gone)})
            return Outcome.SKIPPED
        try:
            remove(project, message.worktree)
        except WorkspaceError as refused:
            raise MessageRejected(str(refused)) from refused
        logger.info("worktree removed", extra={"path": message.worktree.path})
        return Outcome.SKIPPED

    # 2. leased -------------------------------------------------------------------------------
    def run(self, task_id: str, session_id: str, delivery: Delivery) -> Outcome:
        """Lease the task and answer its pending prompts. A task with nothing to run is `SKIPPED`."""
        correlate(task_id)
        lease = Lease.start(self._lease_seconds(delivery))
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
        try:
            return self._turns(task_id, lease, delivery)
        except (TaskStateConflict, TaskNotFound):
            return self._lease_lost(task_id)
        except ClaudeError as error:
            if error.retryable:
                return self._give_back(task_id, lease, delivery, error.reason)
            return self._fail(task_id, lease, error.reason)
        except Exception as error:
            # Never leave a held lease behind without trying to give it back: DynamoDB throttled or
            # conflicted, or a write whose outcome is unknown (the lease, read again, decides).
            return self._give_back(task_id, lease, delivery, f"{type(error).__name__}: {error}")

    # 3. turns --------------------------------------------------------------------------------
    def _turns(self, task_id: str, lease: Lease, delivery: Delivery) -> Outcome:
        """Answer the leased task's pending prompts in order; returns how the run ended.

        Raises `TaskStateConflict`/`TaskNotFound` when the lease was lost (cancel, delete,
        takeover), `ClaudeError` from the backend, `TransientStoreError` and botocore errors.
        """
        first = True
        while True:
            task = self._held(task_id, lease)
            budget = min(self.settings.claude_timeout_s, delivery.remaining_s() - CALL_MARGIN_S)
            # The first turn runs with what time there is; a later one only if a full-length call fits.
            if not first and budget < self.settings.claude_timeout_s:
                return self._hand_off(task, lease)
            ended = self._end_without_turn(task, lease)
            if ended is not None:
                return ended
            status = self._turn(task, lease.renewed(self._lease_seconds(delivery)), budget, delivery)
            if not isinstance(status, TaskStatus):  # Stopped: an agent at its deadline; a fresh invocation continues it
                # One that did nothing counts as an attempt: a step longer than an invocation must end.
                return self._hand_off(self._held(task_id, lease), lease, count_attempt=not status.progressed)
            if status is not TaskStatus.RUNNING:
                return Outcome(status.value)
            first = False

    def _turn(self, task: Task, lease: Lease, budget_s: float, delivery: Delivery) -> TaskStatus | Stopped:
        """Ask Claude the head prompt, within `budget_s` seconds, and record its answer; returns the task's
        status after the turn, or `Stopped` when an agent stopped at its deadline."""
        # The backend first: a cold one imports its SDK, which is no part of the call's own time.
        backend = self._backend_for(task.backend or self.settings.claude_backend)
        if is_agent(backend):
            from claude_tasks.app.agent_turn import AgentTurn
            from claude_tasks.claude.agent import STOP_GRACE_S

            # An agent's run may take the invocation's whole remaining time, less what stopping it takes.
            deadline = time.monotonic() + delivery.remaining_s() - CALL_MARGIN_S - STOP_GRACE_S
            return AgentTurn(self.store, self.settings, backend, lease, self._held, deadline, task).run()
        # The first run mints the task's Claude session id; the turn's write claims it.
        claude_session_id = task.claude_session_id or new_id()
        claim = None if task.claude_session_id else claude_session_id
        # A new task has no history: skip the read (a round trip per record of a busy batch).
        history = self.store.interactions.all(task.task_id) if task.interaction_count else []
        request = request_for(task, history, self.settings, claude_session_id, time.monotonic() + budget_s)
        reply = traced.complete(self.store.tracer, backend, request, task.task_id)
        return self._record(task, lease, task.pending_prompts[0], reply, claim)

    def _record(self, task: Task, lease: Lease, prompt: str, reply: ClaudeReply, claim: str | None) -> TaskStatus:
        for _ in range(RECORD_ATTEMPTS):
            turn = turn_record(task, prompt, reply, claim)
            try:
                self.store.runs.record(task, lease, turn)
                return turn.status
            except ConcurrentUpdate:
                # A follow-up was appended after `task` was read; only the lease holder removes the
                # head, so `prompt` is still first: write the same reply against the task as it is now.
                task = self._held(task.task_id, lease)
        raise TransientStoreError(f"task {task.task_id} kept changing while its turn was recorded")

    # 4. ended --------------------------------------------------------------------------------
    def _end_without_turn(self, task: Task, lease: Lease) -> Outcome | None:
        if not task.pending_prompts:
            self.store.runs.end(task, lease, TaskStatus.SUCCEEDED)
            return Outcome.SUCCEEDED
        if task.attempts >= self.settings.max_receive_count:
            # `attempts` counts retryable failures and takeovers of runs that died. Invocations killed
            # mid-call, each re-queued by the janitor, are seen by no SQS receive count: this ends them.
            died = (
                f"the run did not finish {task.attempts} times (worker timeout, crash, retryable error, or a "
                "Claude Code run stopped at its deadline without a step)"
            )
            self.store.runs.fail(task, lease, died)
            logger.warning("task failed", extra={"reason": died})
            return Outcome.FAILED
        reason = exhausted_before_turn(task)
        if reason is not None:
            self.store.runs.end(task, lease, TaskStatus.EXHAUSTED, reason)
            return Outcome.EXHAUSTED
        return None

    def _hand_off(self, task: Task, lease: Lease, count_attempt: bool = False) -> Outcome:
        # Too little time for another Claude call: queue the rest for a fresh invocation
        # (if the send fails, the janitor re-queues the queued task).
        self.store.runs.release(task, lease, count_attempt=count_attempt)
        self._queue.send_run(task)
        logger.info("too little time left for another turn: handed off", extra={"pending": len(task.pending_prompts)})
        return Outcome.HANDED_OFF

    def _give_back(self, task_id: str, lease: Lease, delivery: Delivery, reason: str) -> Outcome:
        """A retryable error: the task back to `queued` and the record redelivered; on the last receive, failed."""
        last = delivery.receive_count >= self.settings.max_receive_count
        try:
            task = self._held(task_id, lease)
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
            self.store.runs.fail(self._held(task_id, lease), lease, reason)
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

    # helpers ---------------------------------------------------------------------------------
    def _held(self, task_id: str, lease: Lease) -> Task:
        """The task as it is now. Raises `TaskStateConflict` unless it is `running` under `lease`."""
        task = self.store.tasks.load(task_id)
        if task.status is not TaskStatus.RUNNING or task.lease_id != lease.lease_id:
            raise TaskStateConflict(f"task {task_id} is {task.status.value}, no longer under this run's lease")
        return task

    def _lease_seconds(self, delivery: Delivery) -> float:
        """How long a lease taken or renewed now should last: to the invocation's end plus a grace."""
        return min(float(self.settings.lease_seconds), delivery.remaining_s() + LEASE_GRACE_S)
