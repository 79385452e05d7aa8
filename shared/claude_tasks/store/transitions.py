"""The task transitions a caller asks for — follow-up, cancel, retry, fork — as docs/task-lifecycle.md states them.

Each transition is one conditional write through `TaskWrite` (the task exists,
keeps its session, is not being deleted and is the owner's) plus the status
condition that document's table gives; a failed condition becomes the domain
error `TaskWrite.explain` names. A fork is the exception that cannot be
one write: its copied interactions go in transactions of at most 100 actions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action

from claude_tasks.core import lifecycle
from claude_tasks.core.errors import (
    ConcurrentUpdate,
    ItemTooLarge,
    StaleInteractionCount,
    TaskStateConflict,
    TooLarge,
)
from claude_tasks.core.lifecycle import Event
from claude_tasks.core.records import NewInteraction, NewTask, Task, TaskStatus
from claude_tasks.store.ids import id_for, request_token
from claude_tasks.store.models import InteractionModel, TaskModel
from claude_tasks.store.records import interaction_record
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.tasks import active_shard
from claude_tasks.store.transaction import Cancelled

if TYPE_CHECKING:
    from claude_tasks.store import Store

ITEM_BYTES = 400 * 1024  # DynamoDB's limit on one item, attribute names included
# Ids, timestamps, counters, limits, attribute names and per-element overhead: generously.
_ITEM_OVERHEAD_BYTES = 16_384
_ATTEMPTS = 3  # reads-then-writes before a follow-up gives up on a task whose status keeps moving
_COPY_ITEMS = 99  # + the fork's own update = TransactWriteItems' limit of 100 actions
_COPY_BYTES = 3_000_000  # and under its 4 MB limit on the request's size
# The error a fork carries while its conversation is being copied; a replay of the fork finishes the copy.
COPYING = "the conversation is still being copied: send the fork again with the same Idempotency-Key"


class TransitionRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def follow_up(self, owner: str, task_id: str, prompt: str) -> tuple[Task, bool]:
        """Append `prompt` to the task's pending prompts; returns the task and whether it must be enqueued.

        Every follow-up grants a fresh run allowance (run counters reset). On a
        `queued`/`running` task the write requires that status still and changes
        nothing else (the run in flight takes the prompt). On a finished task it
        requires the status read and queues the task again. If the status moved in
        between, the task is read again (a few times, then `ConcurrentUpdate`).
        Raises `TaskNotFound`, or `TooLarge`/`ItemTooLarge` when the pending prompts would outgrow the item.
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
        task = self._store.tasks.get(owner, task_id)
        write = TaskWrite(task_id, task.session_id, owner=owner).moves(Event.CANCEL, TaskStatus.CANCELLED)
        write.actions += [
            TaskModel.lease_id.remove(),
            TaskModel.lease_expires_at.remove(),
            TaskModel.active_shard.remove(),
        ]
        self._store.tasks.commit(write)
        return self._store.tasks.get(owner, task_id)

    def retry(self, owner: str, task_id: str) -> Task:
        """`failed`/`exhausted`/`cancelled` with prompts pending → `queued`, run counters reset, error removed.

        Raises `TaskNotFound`, or `TaskStateConflict` for another state or nothing pending.
        """
        task = self._store.tasks.get(owner, task_id)
        if not task.pending_prompts:
            raise TaskStateConflict(f"task {task_id} has no pending prompt to run again")
        write = TaskWrite(task_id, task.session_id, owner=owner).moves(Event.RETRY, TaskStatus.QUEUED)
        write.extra.append(size(TaskModel.pending_prompts) > 0)  # type: ignore[no-untyped-call]  # untyped helper
        write.actions += self._requeue(task_id)
        self._store.tasks.commit(write)
        return self._store.tasks.get(owner, task_id)

    def _requeue(self, task_id: str) -> list[Action]:
        # Every transition into `queued` starts a run: a fresh allowance and a place in the active index.
        return [
            TaskModel.active_shard.set(active_shard(task_id, self._store.settings.active_shards)),
            TaskModel.attempts.set(0),
            *_fresh_allowance(),
            TaskModel.error.remove(),
        ]

    def fork(
        self,
        owner: str,
        task_id: str,
        prompt: str | None,
        session_id: str | None,
        idempotency_key: str | None,
        request_fingerprint: str | None = None,
    ) -> tuple[Task, bool]:
        """A new task in `session_id` (default: the source's) whose conversation is a copy of the source's.

        The fork is created `succeeded` (which no worker takes), marked as copying, with
        `prompt` already pending, in one transaction with its session's counter; its
        interactions are copied in transactions of at most 100 actions; then the mark is
        removed and, with a prompt pending, the fork becomes `queued`. Returns the fork and
        whether it must be enqueued. The same owner and idempotency key return the fork
        made the first time; if that attempt stopped part-way, this one finishes it (the
        copy then reaches the source's turns as read now). Raises `TaskNotFound`,
        `SessionNotFound` or `SessionNotActive`; `IdempotencyKeyReused` when the key first made a fork
        from another `request_fingerprint`.
        """
        source = self._store.tasks.get(owner, task_id)
        target = session_id or source.session_id
        fork, created = self._create_fork(owner, source, target, prompt, idempotency_key, request_fingerprint)
        if not created and fork.error != COPYING:
            return fork, fork.status is TaskStatus.QUEUED  # sent again: the first send may have been lost
        try:
            count = self._copy_turns(source, fork, source.interaction_count)
            self._finish_fork(fork, count)
        except (StaleInteractionCount, TaskStateConflict, ConcurrentUpdate):
            fork = self._store.tasks.get(owner, fork.task_id)
            if created or fork.error == COPYING:
                raise
            return fork, False  # a concurrent replay of the same fork finished it (and enqueued it)
        fork = self._store.tasks.get(owner, fork.task_id)
        return fork, fork.status is TaskStatus.QUEUED

    def _create_fork(
        self,
        owner: str,
        source: Task,
        session_id: str,
        prompt: str | None,
        idempotency_key: str | None,
        request_fingerprint: str | None,
    ) -> tuple[Task, bool]:
        new = NewTask(prompt=prompt or source.prompt, **source.model_dump(include=_INHERITED), limits=source.limits)
        item = self._store.tasks.new_item(
            id_for(owner, "fork", idempotency_key), session_id, owner, new, idempotency_key
        )
        # Created finished (no worker takes it) until its conversation is copied; the prompt waits meanwhile.
        item.status, item.active_shard, item.error = TaskStatus.SUCCEEDED.value, None, COPYING
        if prompt is None:
            item.pending_prompts = []  # `new_item` made the source's prompt pending: nothing is, here
        item.forked_from = source.task_id
        item.request_fingerprint = request_fingerprint
        token = request_token(owner, "fork", idempotency_key)
        return self._store.tasks.insert(item, token, idempotent=bool(idempotency_key))

    def _copy_turns(self, source: Task, fork: Task, target: int) -> int:
        """Append the source's turns after the fork's last one, up to seq `target`, chunk by chunk; returns
        the fork's interaction count after."""
        copied = fork.interaction_count
        if copied >= target:
            return copied
        turns = InteractionModel.query(
            source.task_id, InteractionModel.seq.between(copied + 1, target), consistent_read=True
        )
        for chunk in _chunks(turns):
            tx = self._store.transaction()
            write = TaskWrite(fork.task_id, fork.session_id, owner=fork.owner).moves(Event.FORK_COPIED)
            self._store.interactions.stage(tx, write, fork, chunk, copied)
            write.stage(tx)
            try:
                tx.commit()
            except Cancelled as cancelled:
                raise write.explain(cancelled.item("task", TaskModel)) from cancelled
            copied += len(chunk)
        return copied

    def _finish_fork(self, fork: Task, count: int) -> None:
        """Remove the copying mark; with a prompt pending, queue the fork. Requires it still copying, `count` turns."""
        write = TaskWrite(fork.task_id, fork.session_id, owner=fork.owner, expected_count=count)
        write.extra.append(TaskModel.error == COPYING)
        if fork.pending_prompts:
            write.extra.append(size(TaskModel.pending_prompts) > 0)  # type: ignore[no-untyped-call]  # untyped helper
            write.moves(Event.FORK_COPIED, TaskStatus.QUEUED).actions += self._requeue(fork.task_id)
        else:
            write.moves(Event.FORK_COPIED).actions.append(TaskModel.error.remove())
        self._store.tasks.commit(write)


_INHERITED = {"title", "backend", "model", "system", "max_tokens", "metadata"}


def pending_budget(task: Task) -> int:
    """How many UTF-8 bytes of pending prompts the task item can hold beside everything else it stores."""
    fixed = [task.prompt, task.system or "", task.title or "", task.error or "", json.dumps(task.metadata)]
    return ITEM_BYTES - _ITEM_OVERHEAD_BYTES - sum(len(text.encode()) for text in fixed)


def _fresh_allowance() -> list[Action]:
    # A caller's prompt starts a new run's allowance: the limits count from here.
    return [TaskModel.run_turns.set(0), TaskModel.run_tokens.set(0), TaskModel.run_cost_usd.set(0)]


def _chunks(items: Iterator[InteractionModel]) -> Iterator[list[NewInteraction]]:
    """The interactions as `NewInteraction`s, in groups that fit one transaction (count and bytes)."""
    chunk: list[NewInteraction] = []
    used = 0
    for item in items:
        turn = interaction_record(item)
        # Long content stays in S3: the copy shares the pointer, not the bytes.
        weight = len(turn.content.encode()) + 1024
        if chunk and (len(chunk) == _COPY_ITEMS or used + weight > _COPY_BYTES):
            yield chunk
            chunk, used = [], 0
        chunk.append(
            NewInteraction(
                **turn.model_dump(
                    include={"role", "content", "usage", "cost_usd", "duration_ms", "stop_reason", "model"}
                ),
                content_ref=turn.content_ref,
            )
        )
        used += weight
    if chunk:
        yield chunk
