"""Write turns the way the worker does: lease the task, then record Claude's answer to its head prompt.

    task = record_turn(store, task, reply="Hi.", claim=str(uuid.uuid4()))

Every write goes through the store's production path (`runs.lease`, `runs.record`),
so a test of an invariant exercises the same transactions and conditions the worker's do.
"""

from __future__ import annotations

from claude_tasks.app.conversation import turn_record
from claude_tasks.claude import ClaudeReply
from claude_tasks.core.records import Task, Usage
from claude_tasks.store import Store
from claude_tasks.store.runs import Lease, TurnRecord

REPLY = "Hello."


def turn(task: Task, reply: str = REPLY, claim: str | None = None) -> TurnRecord:
    """The worker's record of `reply` answering the head of `task`'s pending prompts, as `task` was read."""
    answer = ClaudeReply(
        content=reply,
        usage=Usage(input_tokens=10, output_tokens=5),
        stop_reason="end_turn",
        model="claude-test",
        duration_ms=1,
        claude_session_id=claim or task.claude_session_id or "",
        cost_usd=0.0,
    )
    return turn_record(task, task.pending_prompts[0], answer, claim)


def record_turn(
    store: Store, task: Task, reply: str = REPLY, claim: str | None = None, lease: Lease | None = None
) -> Task:
    """Answer the task's head prompt with `reply` in one `runs.record` transaction; returns the task read back.

    Takes a fresh lease first (`runs.lease`), unless `lease` is one the task is already held under.
    Raises what those do: `LeaseRefused`, `InteractionSessionMismatch`, `TaskNotFound`,
    `ClaudeSessionTaken`, `StaleInteractionCount`, `TaskStateConflict`.
    """
    if lease is None:
        lease = Lease.start(60)
        store.runs.lease(task.task_id, task.session_id, lease)
    current = store.tasks.load(task.task_id)
    store.runs.record(current, lease, turn(current, reply, claim))
    return store.tasks.load(task.task_id)
