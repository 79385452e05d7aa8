"""The worker's writes on a task: take its lease, record its turns, give it back, end it.

Each is one conditional transaction through `TaskWrite` (docs/task-lifecycle.md).
Every write after the lease requires `status = running` and this run's
`lease_id`, so a task that was cancelled, deleted or taken over meanwhile is
never overwritten: the write fails with `TaskStateConflict` or `TaskNotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action

from claude_tasks.core import lifecycle
from claude_tasks.core.clock import iso_in, now_iso
from claude_tasks.core.errors import ClaudeSessionTaken, ConcurrentUpdate, TaskNotFound, TaskStateConflict
from claude_tasks.core.lifecycle import Event
from claude_tasks.core.records import NewInteraction, Role, Task, TaskStatus, Usage, Worktree
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.ids import new_id
from claude_tasks.store.models import TaskModel
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.tasks import active_shard
from claude_tasks.store.transaction import Cancelled, Transaction

if TYPE_CHECKING:
    from claude_tasks.store import Store

# `size(pending_prompts)` in a condition; PynamoDB's `size` helper carries no annotations.
_PENDING_COUNT = size(TaskModel.pending_prompts)  # type: ignore[no-untyped-call]


class LeaseRefused(TaskStateConflict):
    """The task cannot be leased: it is finished, running under a live lease, or has nothing pending."""


@dataclass(frozen=True)
class Lease:
    """One run's hold on a task: its id is unique to the run, so a redelivery never shares it."""

    lease_id: str
    expires_at: str

    @classmethod
    def start(cls, seconds: float) -> Lease:
        return cls(new_id(), iso_in(seconds))

    def renewed(self, seconds: float) -> Lease:
        return Lease(self.lease_id, iso_in(seconds))


@dataclass(frozen=True)
class TurnRecord:
    """Interactions a run appends in one write, and what the write does to the task.

    A chat backend answers a prompt in one record: the user and assistant turns, `answered`.
    Claude Code records as it goes: the user turn when its run starts (`started`), its steps
    as they come, and its end (`answered`, or not when it stopped to continue later).
    `status` is `running` (more to do), `succeeded` or `exhausted` (with `reason`);
    `claim` is the Claude session id to claim (on the task's first run), and `replaces_claim`
    says it takes the place of the id the task holds (a lost conversation rebuilt).
    """

    interactions: tuple[NewInteraction, ...]
    status: TaskStatus = TaskStatus.RUNNING
    reason: str | None = None
    claim: str | None = None
    replaces_claim: bool = False
    # True: the head pending prompt is answered and removed (and the turn counted).
    answered: bool = True
    # Set: whether the head prompt's run has begun (its user turn recorded), for a run that continues later.
    started: bool | None = None
    worktree: Worktree | None = None
    # The price table the interactions' cost came from (`claude_tasks.claude.pricing`), kept with the totals.
    prices: str | None = None

    @classmethod
    def answer(
        cls,
        prompt: NewInteraction,
        answer: NewInteraction,
        status: TaskStatus,
        reason: str | None,
        claim: str | None,
        prices: str | None = None,
    ) -> TurnRecord:
        """A chat backend's turn: the prompt and its answer, the prompt removed from the pending ones."""
        return cls(interactions=(prompt, answer), status=status, reason=reason, claim=claim, prices=prices)


@translate_faults
class RunRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def lease(self, task_id: str, session_id: str, lease: Lease) -> None:
        """Take the task: `queued` with prompts pending, or `running` under an expired lease → `running`.

        Taking over an expired lease also adds 1 to `attempts`: the run before it died without
        giving the task back (a crash or a timeout), and counting it lets the worker give up on
        a run that keeps dying. Raises `LeaseRefused` (finished, live lease, nothing pending),
        `TaskNotFound`, `InteractionSessionMismatch` (the task is not in `session_id`), `TransientStoreError`.
        """
        now = now_iso()
        # The lease's own conditions are `extra`, not allowed states: a refusal returns the task as it was.
        queued = _status_in(lifecycle.sources(Event.LEASE)) & (_PENDING_COUNT > 0)
        # queued → running moves the owner's and session's counts: the write needs the task's owner.
        start = TaskWrite(task_id, session_id, owner=self._owner(task_id), extra=[queued])
        start.counted().move(TaskStatus.QUEUED, TaskStatus.RUNNING)
        old = self._take(start, lease)
        if old is not None and old.status == TaskStatus.RUNNING.value and _expired(old, now):
            expired = _status_in(lifecycle.sources(Event.TAKE_OVER)) & (TaskModel.lease_expires_at < now)
            takeover = TaskWrite(task_id, session_id, actions=[TaskModel.attempts.add(1)], extra=[expired])
            old = self._take(takeover, lease)
        if old is not None:
            raise LeaseRefused(_refusal(task_id, old))

    @staticmethod
    def _owner(task_id: str) -> str:
        """The task's owner, read to build the lease's counter updates (an owner never changes)."""
        try:
            item = TaskModel.get(task_id, consistent_read=True, attributes_to_get=["owner"])
        except DoesNotExist as error:
            raise TaskNotFound(task_id) from error
        return str(item.owner)

    def _take(self, write: TaskWrite, lease: Lease) -> TaskModel | None:
        """Commit `write` as a lease; None when it took, else the task as it was when only its own condition failed."""
        write.actions += [
            TaskModel.status.set(TaskStatus.RUNNING.value),
            TaskModel.lease_id.set(lease.lease_id),
            TaskModel.lease_expires_at.set(lease.expires_at),
        ]
        tx = self._store.transaction()
        write.stage(tx)
        try:
            tx.commit()
        except Cancelled as cancelled:
            old = cancelled.item("task", TaskModel)
            error = write.explain(old)
            if old is not None and isinstance(error, ConcurrentUpdate):  # only the lease condition failed
                return old
            raise error from cancelled
        return None

    def record(self, task: Task, lease: Lease, turn: TurnRecord) -> None:
        """Append the turn's interactions and apply it to the task, in one transaction guarded by the lease.

        Guarded by `interaction_count` as `task` was read and, for an answered prompt, by the size
        of `pending_prompts` (a follow-up appended meanwhile fails it with `ConcurrentUpdate`:
        read the task again and retry). Content too large for an item goes to S3 first. Raises
        `TaskStateConflict`/`TaskNotFound` when the lease is gone, `StaleInteractionCount`,
        `ClaudeSessionTaken`, `ConcurrentUpdate`, `TransientStoreError`.
        """
        tx = self._store.transaction()
        write = _held(task, lease).moves(Event.RECORD_TURN, turn.status)
        base = task.interaction_count
        new = [self._offload(task, base + n, each) for n, each in enumerate(turn.interactions, start=1)]
        self._store.interactions.stage(tx, write, task, new, base)
        if turn.claim is not None and turn.replaces_claim:
            self._store.claims.stage_replacement(tx, write, task, turn.claim)
        elif turn.claim is not None:
            self._store.claims.stage(tx, write, task, turn.claim)
        write.actions += _usage(write, new, turn)
        if turn.answered:
            write.extra.append(_PENDING_COUNT == len(task.pending_prompts))
            write.actions.append(TaskModel.pending_prompts[0].remove())
        if turn.started is not None:
            write.actions.append(TaskModel.prompt_started.set(turn.started))
        if turn.worktree is not None:
            write.actions.append(TaskModel.worktree.set(turn.worktree.model_dump()))
        if turn.status is TaskStatus.RUNNING:
            write.actions.append(TaskModel.lease_expires_at.set(lease.expires_at))
        else:
            write.actions += _ended(turn.reason)
        self._commit(tx, write)

    def release(self, task: Task, lease: Lease, count_attempt: bool = True) -> None:
        """Give the task back to the queue (`queued`, lease removed, `attempts + 1` if counted).

        Pending prompts stay, so the next delivery runs the same prompt again.
        Raises `TaskStateConflict`/`TaskNotFound` when the lease is gone, `TransientStoreError`.
        """
        write = _held(task, lease).moves(Event.RELEASE, TaskStatus.QUEUED)
        write.actions += [
            TaskModel.lease_id.remove(),
            TaskModel.lease_expires_at.remove(),
            TaskModel.active_shard.set(active_shard(task.task_id, self._store.settings.active_shards)),
        ]
        if count_attempt:
            write.actions.append(TaskModel.attempts.add(1))
        self._commit(self._store.transaction(), write)

    def end(self, task: Task, lease: Lease, status: TaskStatus, reason: str | None = None) -> None:
        """End the run without a turn (`succeeded` or `exhausted` with `reason`); lease and index entry removed.

        Raises `TaskStateConflict`/`TaskNotFound` when the lease is gone, `TransientStoreError`.
        """
        write = _held(task, lease).moves(Event.END, status)
        write.actions += _ended(reason)
        self._commit(self._store.transaction(), write)

    def fail(self, task: Task, lease: Lease, reason: str) -> None:
        """Mark the task `failed` with `reason` and append an `error` interaction saying so, in one transaction.

        Pending prompts stay, so a retry runs them. Raises `TaskStateConflict`/`TaskNotFound`
        when the lease is gone, `StaleInteractionCount`, `TransientStoreError`.
        """
        tx = self._store.transaction()
        write = _held(task, lease).moves(Event.FAIL, TaskStatus.FAILED)
        error = self._offload(task, task.interaction_count + 1, NewInteraction(role=Role.ERROR, content=reason))
        self._store.interactions.stage(tx, write, task, [error], task.interaction_count)
        write.actions += _ended(reason)
        self._commit(tx, write)

    def _offload(self, task: Task, seq: int, turn: NewInteraction) -> NewInteraction:
        # Keyed by task and seq: only the lease holder writes a seq, and a lease outlives its
        # invocation, so no stale run can overwrite an object another run committed.
        if not self._store.content.is_large(turn.content):
            return turn
        return turn.model_copy(update={"content_ref": self._store.content.put(task.task_id, seq, turn.content)})

    def _commit(self, tx: Transaction, write: TaskWrite) -> None:
        write.stage(tx)
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "claim" in cancelled.failed and write.claude_session_id is not None:
                raise ClaudeSessionTaken(write.claude_session_id) from cancelled
            raise write.explain(cancelled.item("task", TaskModel)) from cancelled


def _held(task: Task, lease: Lease) -> TaskWrite:
    """A task write that requires the task under `lease` (its state: the lifecycle's, through `moves`)."""
    return TaskWrite(task.task_id, task.session_id, owner=task.owner, lease_id=lease.lease_id)


def _status_in(statuses: frozenset[TaskStatus]) -> Condition:
    condition: Condition = TaskModel.status.is_in(*sorted(s.value for s in statuses))
    return condition


def _usage(write: TaskWrite, turns: list[NewInteraction], turn: TurnRecord) -> list[Action]:
    """The task's counters after `turns`: tokens and cost summed; a turn (and a run turn) counted when `answered`.

    What they spent is also added to the session's and the owner's totals (in `write`'s transaction).
    """
    tokens = Usage(
        input_tokens=sum(t.usage.input_tokens for t in turns),
        output_tokens=sum(t.usage.output_tokens for t in turns),
        cache_creation_input_tokens=sum(t.usage.cache_creation_input_tokens for t in turns),
        cache_read_input_tokens=sum(t.usage.cache_read_input_tokens for t in turns),
    )
    cost = sum(t.cost_usd for t in turns)
    counted = 1 if turn.answered else 0
    if counted or cost or tokens.total_tokens:
        write.counted().spend(tokens, cost, counted, turn.prices or "unpriced")
    return [
        TaskModel.turns.add(counted),
        TaskModel.run_turns.add(counted),
        TaskModel.input_tokens.add(tokens.input_tokens),
        TaskModel.output_tokens.add(tokens.output_tokens),
        TaskModel.cache_creation_input_tokens.add(tokens.cache_creation_input_tokens),
        TaskModel.cache_read_input_tokens.add(tokens.cache_read_input_tokens),
        TaskModel.run_tokens.add(tokens.total_tokens),
        TaskModel.cost_usd.add(cost),
        TaskModel.run_cost_usd.add(cost),
    ]


def _ended(reason: str | None) -> list[Action]:
    """What every end of a run removes (lease, active index entry), and the reason it ended, if any."""
    actions: list[Action] = [
        TaskModel.lease_id.remove(),
        TaskModel.lease_expires_at.remove(),
        TaskModel.active_shard.remove(),
    ]
    if reason is not None:
        actions.append(TaskModel.error.set(reason))
    return actions


def _expired(old: TaskModel, now: str) -> bool:
    expires_at = old.lease_expires_at
    return isinstance(expires_at, str) and expires_at < now


def _refusal(task_id: str, old: TaskModel) -> str:
    status = old.status
    if status == TaskStatus.RUNNING.value:
        return f"task {task_id} is running under a live lease (until {old.lease_expires_at})"
    if status == TaskStatus.QUEUED.value:
        return f"task {task_id} is queued with no prompt pending"
    return f"task {task_id} is {status}: nothing to run"
