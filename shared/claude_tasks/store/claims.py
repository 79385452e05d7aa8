"""Claude session ids: each claimed by exactly one task, through a uniqueness item keyed by the id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.exceptions import UpdateError

from claude_tasks.core.clock import now_iso
from claude_tasks.core.records import Task
from claude_tasks.store.faults import response_code, translate_faults
from claude_tasks.store.models import ClaudeSessionClaim, TaskModel
from claude_tasks.store.task_write import TaskWrite
from claude_tasks.store.transaction import Transaction

if TYPE_CHECKING:
    from claude_tasks.store import Store


@translate_faults
class ClaimRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def stage(self, tx: Transaction, write: TaskWrite, task: Task, claude_session_id: str) -> None:
        """Add the claim of `claude_session_id` for `task` to `tx` and to the task's update `write`.

        The claim put requires the id to be unclaimed or already this task's; the
        task update requires the task to hold no Claude session id or this one.
        """
        claim = ClaudeSessionClaim(
            claude_session_id,
            task_id=task.task_id,
            session_id=write.session_id,
            owner=task.owner,
            claimed_at=now_iso(),
        )
        tx.put(
            "claim",
            claim,
            ClaudeSessionClaim.claude_session_id.does_not_exist()
            | ((ClaudeSessionClaim.task_id == task.task_id) & ClaudeSessionClaim.retired_at.does_not_exist()),
        )
        write.claude_session_id = claude_session_id
        write.actions.append(TaskModel.claude_session_id.set(claude_session_id))

    def stage_replacement(self, tx: Transaction, write: TaskWrite, task: Task, claude_session_id: str) -> None:
        """Add to `tx`: the task's current Claude session id retired, `claude_session_id` claimed in its place.

        For a conversation Claude Code lost: the old id stays taken for ever (its claim is kept,
        marked retired), and the task update requires the task to still hold the old id.
        """
        old = task.claude_session_id
        if old is None:
            raise ValueError("only a task holding a Claude session id can replace it")
        self.stage(tx, write, task, claude_session_id)
        write.replaces_claude_session_id = old
        tx.update(
            "retired",
            ClaudeSessionClaim(old),
            [ClaudeSessionClaim.retired_at.set(now_iso())],
            ClaudeSessionClaim.task_id == task.task_id,
            check_version=False,
        )

    def retire(self, task: Task) -> None:
        """Mark the task's claim retired (its task is gone); the id stays taken for ever."""
        if task.claude_session_id is None:
            return
        try:
            ClaudeSessionClaim(task.claude_session_id).update(
                actions=[ClaudeSessionClaim.retired_at.set(now_iso())],
                condition=ClaudeSessionClaim.claude_session_id.exists() & (ClaudeSessionClaim.task_id == task.task_id),
            )
        except UpdateError as error:
            if response_code(error) != "ConditionalCheckFailedException":
                raise
