"""The task transitions a caller asks for — follow-up, cancel, retry — as the lifecycle table states them.

Each transition is one conditional write through `TaskWrite` (the task exists,
keeps its session, is not being deleted and is the owner's) plus the status
condition that document's table gives; a failed condition becomes the domain
error `TaskWrite.explain` names. A fork, which cannot be one write, is `store.forks`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action

from claude_tasks.core import lifecycle
from claude_tasks.core.errors import (
    ConcurrentUpdate,
    ItemTooLarge,
    TaskStateConflict,
    TooLarge,
)
from claude_tasks.core.lifecycle import Event
from claude_tasks.core.records import Task, TaskStatus
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.models import TaskModel
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.tasks import active_shard

if TYPE_CHECKING:
    from claude_tasks.store import Store

ITEM_BYTES = 400 * 1024  # DynamoDB's limit on one item, attribute names included
# Ids, timestamps, counters, limits, attribute names and per-element overhead: generously.
_ITEM_OVERHEAD_BYTES = 16_384
_ATTEMPTS = 3  # reads-then-writes before a follow-up gives up on a task whose status keeps moving


@translate_faults
class TransitionRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def follow_up(self, owner: str, task_id: str, prompt: str) -> tuple[Task, bool]:
        """Append `prompt` to the task's pending prompts; returns the task and whether it must be enqueued.

        Every follow-up grants a fresh run allowance (run counters reset). On a
        `queued`/`running` task the write requires that status still and changes
        nothing else (the run in flight takes the prompt). On a finished task it
        requires the status read and queues the task again, under the owner's quota (active tasks, monthly
        spend). If the status moved in between, the task is read again (a few times, then `ConcurrentUpdate`).
        Raises `TaskNotFound`, `QuotaExceeded`, or `TooLarge`/`ItemTooLarge` when the pending prompts would
        outgrow the item.
        """
        for _ in range(_ATTEMPTS):
            task = self._store.tasks.get(owner, task_id)
            pending = sum(len(text.encode()) for text in [*task.pending_prompts, prompt])
            budget = pending_budget(task)
            if pending > budget:
                raise TooLarge("the task's pending prompts", pending, budget)
            requeue = task.status not in lifecycle.ACTIVE
            write = TaskWrite(task_id, task.session_id, owner=owner)
            if requeue:  # the status as read, still: a task that moved meanwhile is decided again
                write.allowed_statuses = frozenset({task.status})
                write.moves(Event.REOPEN, TaskStatus.QUEUED).actions += self._requeue(task_id)
                self._under_quota(write)
            else:
                write.moves(Event.FOLLOW_UP).actions += _fresh_allowance()
            write.actions.append(TaskModel.pending_prompts.set((TaskModel.pending_prompts | []).append([prompt])))
            try:
                self._store.tasks.commit(write)
            except TaskStateConflict:
                continue  # the status moved between our read and our write: decide again
            except ItemTooLarge as error:
                raise ItemTooLarge(
                    f"the task's pending prompts ({pending} bytes in UTF-8) do not fit in the task beside its "
                    "prompt, system prompt and metadata: send a shorter prompt, or wait until the task takes some"
                ) from error
            return self._store.tasks.get(owner, task_id), requeue
        raise ConcurrentUpdate(f"task {task_id} kept changing state; try again")

    def cancel(self, owner: str, task_id: str) -> Task:
        """`queued`/`running` → `cancelled`, lease and active shard removed; pending prompts stay.

        Raises `TaskNotFound`, or `TaskStateConflict` for a task in any other state.
        """
        for _ in range(_ATTEMPTS):
            task = self._store.tasks.get(owner, task_id)
            write = _from_status(task).moves(Event.CANCEL, TaskStatus.CANCELLED)
            write.actions += [
                TaskModel.lease_id.remove(),
                TaskModel.lease_expires_at.remove(),
                TaskModel.active_shard.remove(),
            ]
            try:
                self._store.tasks.commit(write)
            except TaskStateConflict:
                if task.status in lifecycle.ACTIVE:
                    continue  # leased (or given back) between our read and our write: count it from there
                raise
            return self._store.tasks.get(owner, task_id)
        raise ConcurrentUpdate(f"task {task_id} kept changing state; try again")

    def retry(self, owner: str, task_id: str) -> Task:
        """`failed`/`exhausted`/`cancelled` with prompts pending → `queued`, run counters reset, error removed,
        under the owner's quota (active tasks, monthly spend).

        Raises `TaskNotFound`, `QuotaExceeded`, or `TaskStateConflict` for another state or nothing pending.
        """
        task = self._store.tasks.get(owner, task_id)
        if task.status == TaskStatus.SUCCEEDED:
            # The likeliest mistake: retrying a finished conversation instead of continuing it.
            raise TaskStateConflict(
                f"task {task_id} already succeeded: there is nothing to run again; to continue its "
                f"conversation, send a follow-up (POST /tasks/{task_id}/messages)"
            )
        if not task.pending_prompts:
            raise TaskStateConflict(f"task {task_id} has no pending prompt to run again")
        write = _from_status(task).moves(Event.RETRY, TaskStatus.QUEUED)
        write.extra.append(size(TaskModel.pending_prompts) > 0)  # type: ignore[no-untyped-call]  # untyped helper
        write.actions += self._requeue(task_id)
        self._under_quota(write)
        self._store.tasks.commit(write)
        return self._store.tasks.get(owner, task_id)

    def _requeue(self, task_id: str) -> list[Action]:
        return requeue_actions(task_id, self._store.settings.active_shards)

    def _under_quota(self, write: TaskWrite) -> None:
        """Hold a write that queues a finished task again to the owner's quota, as a creation is: fewer
        active tasks than allowed and the month's spend under its limit (the creation rate is not asked).
        The quota read only builds the conditions; in the transaction, they decide."""
        tally = write.counted()
        tally.quota = self._store.usage.quota(tally.owner)


def _from_status(task: Task) -> TaskWrite:
    """A write that requires the task still in the status read: the move it makes is counted from there."""
    write = TaskWrite(task.task_id, task.session_id, owner=task.owner)
    write.allowed_statuses = frozenset({task.status})
    return write


def pending_budget(task: Task) -> int:
    """How many UTF-8 bytes of pending prompts the task item can hold beside everything else it stores."""
    fixed = [task.prompt, task.system or "", task.title or "", task.error or "", json.dumps(task.metadata)]
    return ITEM_BYTES - _ITEM_OVERHEAD_BYTES - sum(len(text.encode()) for text in fixed)


def _fresh_allowance() -> list[Action]:
    # A caller's prompt starts a new run's allowance: the limits count from here.
    return [TaskModel.run_turns.set(0), TaskModel.run_tokens.set(0), TaskModel.run_cost_usd.set(0)]


def requeue_actions(task_id: str, shards: int) -> list[Action]:
    """What every move into `queued` writes: a place in the active index, a fresh allowance, no error."""
    return [
        TaskModel.active_shard.set(active_shard(task_id, shards)),
        TaskModel.attempts.set(0),
        *_fresh_allowance(),
        TaskModel.error.remove(),
    ]
