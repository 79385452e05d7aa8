"""A leased task's turns: ask Claude the next pending prompt, record the answer, until none is left.

Prompts that arrive while the task runs are appended to `pending_prompts` and taken
by the same run, in order. A turn's write is conditioned on the lease, on the
interaction count and on the number of pending prompts as read; when only a
follow-up changed them, the task is read again and the same reply written again,
so Claude is never asked twice for one turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from claude_tasks.app.conversation import exhausted_before_turn, request_for, turn_record
from claude_tasks.app.delivery import Delivery, Outcome
from claude_tasks.app.queue import TaskQueue
from claude_tasks.claude import ClaudeBackend, ClaudeReply, get_backend
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import ConcurrentUpdate, TaskStateConflict, TransientStoreError
from claude_tasks.core.records import Task, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.ids import new_id
from claude_tasks.store.runs import Lease

logger = Logger(child=True)

BackendFor = Callable[[str], ClaudeBackend]

# A lease ends this long after its invocation can last: the worker's Lambda cannot outlive its
# timeout, so a redelivery after a crash finds the lease expired and takes the task over.
LEASE_GRACE_S = 30.0
# A Claude call's deadline comes this long before the invocation ends: time to record its
# answer, or to give the task back when it failed.
CALL_MARGIN_S = 10.0
# Follow-ups arriving faster than a turn's write can land are not a real workload.
RECORD_ATTEMPTS = 5


def lease_seconds(settings: Settings, delivery: Delivery) -> float:
    """How long a lease taken or renewed now should last: to the invocation's end plus a grace."""
    return min(float(settings.lease_seconds), delivery.remaining_s() + LEASE_GRACE_S)


def call_budget(settings: Settings, delivery: Delivery) -> float:
    """The longest a Claude call started now may take, retries included (its deadline is enforced):
    Claude's timeout, cut short to end `CALL_MARGIN_S` before the invocation does."""
    return min(settings.claude_timeout_s, delivery.remaining_s() - CALL_MARGIN_S)


class Turns:
    def __init__(
        self, store: Store, settings: Settings, queue: TaskQueue, backend_for: BackendFor | None = None
    ) -> None:
        self._store = store
        self._settings = settings
        self._queue = queue
        self._backend_for = backend_for or (lambda name: get_backend(name, settings))

    def run(self, task_id: str, lease: Lease, delivery: Delivery) -> Outcome:
        """Answer the leased task's pending prompts in order; returns how the run ended.

        Raises `TaskStateConflict`/`TaskNotFound` when the lease was lost (cancel, delete,
        takeover), `ClaudeError` from the backend, `TransientStoreError` and botocore errors.
        """
        first = True
        while True:
            task = self.held(task_id, lease)
            budget = call_budget(self._settings, delivery)
            # The first turn runs with what time there is; a later one only if a full-length call fits.
            if not first and budget < self._settings.claude_timeout_s:
                return self._hand_off(task, lease)
            ended = self._end_without_turn(task, lease)
            if ended is not None:
                return ended
            deadline = time.monotonic() + budget
            status = self._turn(task, lease.renewed(lease_seconds(self._settings, delivery)), deadline)
            if status is not TaskStatus.RUNNING:
                return Outcome(status.value)
            first = False

    def held(self, task_id: str, lease: Lease) -> Task:
        """The task as it is now. Raises `TaskStateConflict` unless it is `running` under `lease`."""
        task = self._store.tasks.load(task_id)
        if task.status is not TaskStatus.RUNNING or task.lease_id != lease.lease_id:
            raise TaskStateConflict(f"task {task_id} is {task.status.value}, no longer under this run's lease")
        return task

    def _end_without_turn(self, task: Task, lease: Lease) -> Outcome | None:
        if not task.pending_prompts:
            self._store.runs.end(task, lease, TaskStatus.SUCCEEDED)
            return Outcome.SUCCEEDED
        if task.attempts >= self._settings.max_receive_count:
            return self._give_up(task, lease)
        reason = exhausted_before_turn(task)
        if reason is not None:
            self._store.runs.end(task, lease, TaskStatus.EXHAUSTED, reason)
            return Outcome.EXHAUSTED
        return None

    def _give_up(self, task: Task, lease: Lease) -> Outcome:
        # `attempts` counts retryable failures and takeovers of runs that died. Invocations killed
        # mid-call, each re-queued by the janitor, are seen by no SQS receive count: this ends them.
        reason = f"the run did not finish {task.attempts} times (worker timeout, crash or retryable error)"
        self._store.runs.fail(task, lease, reason)
        logger.warning("task failed", extra={"reason": reason})
        return Outcome.FAILED

    def _turn(self, task: Task, lease: Lease, deadline: float) -> TaskStatus:
        # The first run mints the task's Claude session id; the turn's write claims it.
        claude_session_id = task.claude_session_id or new_id()
        claim = None if task.claude_session_id else claude_session_id
        # A new task has no history: skip the read (a round trip per record of a busy batch).
        history = self._store.interactions.all(task.task_id) if task.interaction_count else []
        request = request_for(task, history, self._settings, claude_session_id, deadline)
        reply = self._backend_for(task.backend or self._settings.claude_backend).complete(request)
        return self._record(task, lease, task.pending_prompts[0], reply, claim)

    def _record(self, task: Task, lease: Lease, prompt: str, reply: ClaudeReply, claim: str | None) -> TaskStatus:
        for _ in range(RECORD_ATTEMPTS):
            turn = turn_record(task, prompt, reply, claim)
            try:
                self._store.runs.record(task, lease, turn)
                return turn.status
            except ConcurrentUpdate:
                # A follow-up was appended after `task` was read; only the lease holder removes the
                # head, so `prompt` is still first: write the same reply against the task as it is now.
                task = self.held(task.task_id, lease)
        raise TransientStoreError(f"task {task.task_id} kept changing while its turn was recorded")

    def _hand_off(self, task: Task, lease: Lease) -> Outcome:
        # Too little time for another Claude call: queue the rest for a fresh invocation
        # (no attempt counted; if the send fails, the janitor re-queues the queued task).
        self._store.runs.release(task, lease, count_attempt=False)
        self._queue.send_run(task.task_id, task.session_id)
        logger.info("too little time left for another turn: handed off", extra={"pending": len(task.pending_prompts)})
        return Outcome.HANDED_OFF
