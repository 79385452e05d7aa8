"""Transitions at their edges: a fork interrupted part-way, the task item's size limit, a follow-up's allowance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from claude_tasks.core.errors import TransientStoreError
from claude_tasks.core.records import NewTask, Session, Task, TaskStatus
from claude_tasks.core.usage import QuotaOverride
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import InteractionModel, TaskModel
from claude_tasks.store.transaction import Transaction
from tests.support import tables
from tests.unit.api.conftest import Call

Sent = Callable[[], list[dict[str, Any]]]
PutInState = Callable[..., Task]
AddTurns = Callable[[Task, int], Task]


def _fail_commit(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """Make the `number`th transaction from now fail as throttled (as DynamoDB may, mid-fork)."""
    commit, seen = Transaction.commit, [0]

    def flaky(self: Transaction) -> None:
        seen[0] += 1
        if seen[0] == number:
            raise TransientStoreError("DynamoDB is busy (ThrottlingException); try again")
        commit(self)

    monkeypatch.setattr(Transaction, "commit", flaky)


def test_a_fork_that_stopped_part_way_is_finished_and_queued_by_its_replay(
    call: Call, task: Task, add_turns: AddTurns, sent: Sent, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    # Given: a task with 150 turns, and a fork whose second copy transaction is throttled
    add_turns(task, 150)
    sent()
    _fail_commit(monkeypatch, 3)  # 1: the fork item, 2: turns 1-99, 3: turns 100-150
    request = {"path": {"task_id": task.task_id}, "body": {"prompt": "Go on"}, "headers": {"Idempotency-Key": "f-9"}}
    assert call("fork_task", **request).status == 503
    monkeypatch.undo()
    # When: the caller retries with the same key
    result = call("fork_task", **request)
    # Then: the same fork, fully copied, queued with its prompt and enqueued; nothing else made
    fork = result.json()
    assert result.status == 202 and fork["forked_from"] == task.task_id
    assert fork["status"] == "queued" and fork["pending_prompts"] == ["Go on"] and fork["error"] is None
    assert [int(item.seq) for item in InteractionModel.query(fork["task_id"])] == list(range(1, 151))
    assert sent() == [{"type": "task.run", "task_id": fork["task_id"], "session_id": task.session_id}]
    assert tables.counts()["tasks"] == 2 and consistency_report(store).violations == []


def test_a_fork_queued_over_the_active_tasks_quota_is_429_and_its_replay_queues_it_once_a_place_frees(
    call: Call, task: Task, add_turns: AddTurns, sent: Sent, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    # Given: alice allowed two active tasks with one queued (one place left), and a fork of it created
    # (created finished, it takes no place) whose queuing write is throttled
    store.usage.set_quota(task.owner, QuotaOverride(max_active_tasks=2))
    add_turns(task, 2)
    sent()
    _fail_commit(monkeypatch, 3)  # 1: the fork item, 2: turns 1-2, 3: queue the fork
    request = {"path": {"task_id": task.task_id}, "body": {"prompt": "Go on"}, "headers": {"Idempotency-Key": "f-q"}}
    assert call("fork_task", **request).status == 503
    monkeypatch.undo()
    # And: another task takes the last place
    other = store.tasks.create(task.owner, task.session_id, NewTask(prompt="other"))
    # When: the fork is sent again, Then: queuing it is refused by the quota, and nothing is queued or sent
    refused = call("fork_task", **request)
    assert refused.status == 429, refused.body
    assert refused.json()["limit"] == "max_active_tasks" and refused.headers["Retry-After"]
    assert store.usage.for_owner(task.owner).total.tasks["queued"] == 2 and sent() == []
    # When: a place frees and the fork is sent again, Then: the same fork is queued with its prompt and sent
    store.transitions.cancel(task.owner, other.task_id)
    result = call("fork_task", **request)
    fork = result.json()
    assert result.status == 202 and fork["status"] == "queued" and fork["error"] is None
    assert fork["pending_prompts"] == ["Go on"] and fork["interaction_count"] == 2
    assert sent() == [{"type": "task.run", "task_id": fork["task_id"], "session_id": task.session_id}]
    assert tables.counts()["tasks"] == 3 and consistency_report(store).violations == []


def test_a_replayed_fork_that_was_finished_is_returned_unchanged(call: Call, task: Task, add_turns: AddTurns) -> None:
    # Given: a fork without a prompt, finished, and then the source grew
    add_turns(task, 2)
    request = {"path": {"task_id": task.task_id}, "body": {}, "headers": {"Idempotency-Key": "f-10"}}
    first = call("fork_task", **request).json()
    add_turns(task, 2)
    # When: the same fork is asked for again
    again = call("fork_task", **request).json()
    # Then: the fork made the first time, its conversation as copied then
    assert again["task_id"] == first["task_id"]
    assert again["interaction_count"] == 2 and again["status"] == "succeeded" and again["error"] is None


def test_a_follow_up_that_would_outgrow_the_task_item_is_413(
    call: Call, store: Store, session: Session, put_in_state: PutInState
) -> None:
    # Given: a cancelled task holding a 100 KB prompt, a 50 KB system prompt, 16 KB of metadata
    # and 150 KB of prompts pending (under the old 250 KB cap on pending prompts alone)
    new = NewTask(prompt="p" * 100_000, system="s" * 50_000, metadata={"k": "m" * 16_000})
    task = store.tasks.create("alice", session.session_id, new)
    put_in_state(task, TaskStatus.CANCELLED, pending=[])
    put_in_state(task, TaskStatus.CANCELLED, pending=["q" * 150_000])
    # When: another 90 KB arrives (240 KB pending: the item would pass 400 KB)
    result = call("send_message", path={"task_id": task.task_id}, body={"prompt": "f" * 90_000})
    # Then: 413 naming the pending prompts, and the task unchanged
    assert result.status == 413
    assert "pending prompts" in result.json()["detail"]
    assert TaskModel.get(task.task_id).pending_prompts == ["q" * 150_000]


def test_a_follow_up_on_a_running_task_grants_a_fresh_allowance(
    call: Call, task: Task, put_in_state: PutInState
) -> None:
    # Given: a running task that has used part of its run's allowance
    put_in_state(task, TaskStatus.RUNNING)
    TaskModel.get(task.task_id).update(
        actions=[TaskModel.run_turns.set(3), TaskModel.run_tokens.set(900), TaskModel.run_cost_usd.set(0.5)]
    )
    # When: a follow-up arrives while it runs
    result = call("send_message", path={"task_id": task.task_id}, body={"prompt": "And then?"})
    # Then: still running, the prompt waits, and the run counters start again (as on a finished task)
    stored = TaskModel.get(task.task_id)
    assert result.status == 202 and stored.status == "running"
    assert (stored.run_turns, stored.run_tokens, stored.run_cost_usd) == (0, 0, 0)
