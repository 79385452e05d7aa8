"""A fork: a new task whose conversation starts as a copy of another's, with its own new claude_session_id.

It cannot be one write. The fork is created `succeeded` (which no worker takes),
marked as copying, in one transaction with its session's counter; its
interactions are copied in transactions of at most 100 actions; then the mark is
removed and, with a prompt pending, the fork is queued. A replay with the same
Idempotency-Key finishes a fork an earlier attempt left part-way; a fork the
owner's quota refuses to queue, with no key to replay it, is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pynamodb.expressions.condition import size

from claude_tasks.core.errors import (
    ConcurrentUpdate,
    DomainError,
    QuotaExceeded,
    StaleInteractionCount,
    TaskStateConflict,
)
from claude_tasks.core.lifecycle import Event
from claude_tasks.core.records import NewInteraction, NewTask, Task, TaskStatus
from claude_tasks.store.faults import translate_faults
from claude_tasks.store.ids import id_for, request_token
from claude_tasks.store.models import InteractionModel, TaskModel
from claude_tasks.store.records import interaction_record
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.transaction import Cancelled
from claude_tasks.store.transitions import requeue_actions

if TYPE_CHECKING:
    from claude_tasks.store import Store

logger = logging.getLogger(__name__)

_COPY_ITEMS = 99  # + the fork's own update = TransactWriteItems' limit of 100 actions
_COPY_BYTES = 3_000_000  # and under its 4 MB limit on the request's size
# The error a fork carries while its conversation is being copied; a replay of the fork finishes the copy.
COPYING = "the conversation is still being copied: send the fork again with the same Idempotency-Key"


@translate_faults
class ForkRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

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
        from another `request_fingerprint`; `QuotaExceeded` when the owner's quota refuses the fork (at its
        creation, or when queuing it: then, without an idempotency key, the fork is deleted).
        """
        source = self._store.tasks.get(owner, task_id)
        target = session_id or source.session_id
        fork, created = self._create_fork(owner, source, target, prompt, idempotency_key, request_fingerprint)
        if not created and fork.error != COPYING:
            return fork, fork.status is TaskStatus.QUEUED  # sent again: the first send may have been lost
        try:
            count = self._copy_turns(source, fork, source.interaction_count)
            self._finish_fork(fork, count)
        except QuotaExceeded:
            if created and not idempotency_key:
                self._withdraw(fork)
            raise
        except (StaleInteractionCount, TaskStateConflict, ConcurrentUpdate):
            fork = self._store.tasks.get(owner, fork.task_id)
            if created or fork.error == COPYING:
                raise
            return fork, False  # a concurrent replay of the same fork finished it (and enqueued it)
        fork = self._store.tasks.get(owner, fork.task_id)
        return fork, fork.status is TaskStatus.QUEUED

    def _withdraw(self, fork: Task) -> None:
        """Delete a fork the quota refused to queue when no Idempotency-Key could replay it: nothing else
        would ever finish it. Its creation still counts in the minute's creations, and its events (created,
        deleted) were published. A failed delete leaves it copying, as before."""
        try:
            self._store.tasks.delete(fork.owner, fork.task_id)
        except DomainError as failed:
            logger.warning("fork %s refused by the quota and left copying: %s", fork.task_id, failed)

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
        """Remove the copying mark; with a prompt pending, queue the fork. Requires it still copying, `count` turns.

        Queuing is held to the owner's quota as a retry is: the quota asked when the fork was created saw
        no active task added (it is created finished), so only this write's condition keeps forks within
        `max_active_tasks`. Refused, it raises `QuotaExceeded` and the fork stays copying: a replay with
        the same Idempotency-Key finishes it once the quota allows (without one, `fork` deletes it)."""
        write = TaskWrite(fork.task_id, fork.session_id, owner=fork.owner, expected_count=count)
        write.extra.append(TaskModel.error == COPYING)
        if fork.pending_prompts:
            write.extra.append(size(TaskModel.pending_prompts) > 0)  # type: ignore[no-untyped-call]  # untyped helper
            write.moves(Event.FORK_COPIED, TaskStatus.QUEUED).actions += requeue_actions(
                fork.task_id, self._store.settings.active_shards
            )
            write.counted().quota = self._store.usage.quota(fork.owner)
        else:
            write.moves(Event.FORK_COPIED).actions.append(TaskModel.error.remove())
        self._store.tasks.commit(write)


_INHERITED = {"title", "backend", "model", "system", "max_tokens", "metadata", "agent"}


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
                    include={
                        "role",
                        "content",
                        "usage",
                        "cost_usd",
                        "duration_ms",
                        "stop_reason",
                        "model",
                        "tool_name",
                        "tool_use_id",
                    }
                ),
                content_ref=turn.content_ref,
            )
        )
        used += weight
    if chunk:
        yield chunk
