"""POST /tasks/{task_id}/messages, /cancel, /retry, /fork; GET /tasks/{task_id}/interactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from claude_tasks.core.config import Settings
from claude_tasks.core.records import Task, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import InteractionModel, TaskModel
from tests.conftest import SessionFactory
from tests.support import tables
from tests.support.turns import record_turn
from tests.unit.api.conftest import Call

Sent = Callable[[], list[dict[str, Any]]]
PutInState = Callable[..., Task]
AddTurns = Callable[[Task, int], Task]


def _run_message(task_id: str, session_id: str) -> dict[str, str]:
    return {"type": "task.run", "task_id": task_id, "session_id": session_id}


def test_a_follow_up_on_a_finished_task_queues_it_again(
    call: Call, task: Task, put_in_state: PutInState, sent: Sent
) -> None:
    # Given: the task succeeded (nothing pending)
    put_in_state(task, TaskStatus.SUCCEEDED, pending=[])
    sent()
    # When
    result = call("send_message", path={"task_id": task.task_id}, body={"prompt": "And then?"})
    # Then: queued with the prompt pending, back in the active index, and enqueued
    body = result.json()
    assert result.status == 202 and result.header("Location") == f"/tasks/{task.task_id}"
    assert body["status"] == "queued" and body["pending_prompts"] == ["And then?"]
    assert TaskModel.get(task.task_id).active_shard
    assert sent() == [_run_message(task.task_id, task.session_id)]


def test_a_follow_up_on_a_failed_task_clears_its_error_and_keeps_older_prompts(
    call: Call, task: Task, put_in_state: PutInState
) -> None:
    # Given: the task failed with its prompt still pending
    put_in_state(task, TaskStatus.FAILED)
    # When
    body = call("send_message", path={"task_id": task.task_id}, body={"prompt": "Try again"}).json()
    # Then: the unanswered prompt runs first
    assert body["pending_prompts"] == ["Say hello", "Try again"]
    assert body["status"] == "queued" and body["error"] is None


def test_a_follow_up_while_running_waits_in_the_pending_prompts(
    call: Call, task: Task, put_in_state: PutInState, sent: Sent
) -> None:
    # Given: the task is running
    put_in_state(task, TaskStatus.RUNNING)
    sent()
    # When
    result = call("send_message", path={"task_id": task.task_id}, body={"prompt": "Also this"})
    # Then: still running (the run in flight takes it), nothing sent
    assert result.status == 202
    assert result.json()["status"] == "running"
    assert result.json()["pending_prompts"] == ["Say hello", "Also this"]
    assert TaskModel.get(task.task_id).lease_id == "lease-1"
    assert sent() == []


def test_a_follow_up_over_the_prompt_limit_is_413(call: Call, configure: Callable[..., Settings], task: Task) -> None:
    # Given
    configure(max_prompt_chars=5)
    # When
    result = call("send_message", path={"task_id": task.task_id}, body={"prompt": "too long"})
    # Then
    assert result.status == 413
    assert TaskModel.get(task.task_id).pending_prompts == ["Say hello"]


def test_a_follow_up_that_would_overfill_the_pending_prompts_is_413(
    call: Call, task: Task, put_in_state: PutInState
) -> None:
    # Given: a running task with 200 KB of prompts already waiting
    put_in_state(task, TaskStatus.RUNNING, pending=["a" * 200_000])
    # When: another 60 KB arrives
    result = call("send_message", path={"task_id": task.task_id}, body={"prompt": "b" * 60_000})
    # Then: refused before the item outgrows DynamoDB's limit
    assert result.status == 413
    assert "pending prompts" in result.json()["detail"]


def test_a_follow_up_on_another_owners_task_is_404(call: Call, task: Task) -> None:
    # When
    result = call("send_message", owner="bob", path={"task_id": task.task_id}, body={"prompt": "hi"})
    # Then
    assert result.status == 404
    assert TaskModel.get(task.task_id).pending_prompts == ["Say hello"]


def test_cancel_a_queued_task(call: Call, task: Task) -> None:
    # When
    result = call("cancel_task", path={"task_id": task.task_id})
    # Then: cancelled and out of the active index; its prompt still pending for a retry
    stored = TaskModel.get(task.task_id)
    assert result.status == 200 and result.json()["status"] == "cancelled"
    assert stored.active_shard is None and stored.pending_prompts == ["Say hello"]


def test_cancel_a_running_task_removes_its_lease(call: Call, task: Task, put_in_state: PutInState) -> None:
    # Given
    put_in_state(task, TaskStatus.RUNNING)
    # When
    call("cancel_task", path={"task_id": task.task_id})
    # Then
    stored = TaskModel.get(task.task_id)
    assert stored.status == "cancelled" and stored.lease_id is None and stored.lease_expires_at is None


def test_cancel_a_finished_task_is_409(call: Call, task: Task, put_in_state: PutInState) -> None:
    # Given
    put_in_state(task, TaskStatus.SUCCEEDED, pending=[])
    # When
    result = call("cancel_task", path={"task_id": task.task_id})
    # Then
    assert result.status == 409
    assert "succeeded" in result.json()["detail"]


def test_retry_a_failed_task_queues_it_and_enqueues(
    call: Call, task: Task, put_in_state: PutInState, sent: Sent
) -> None:
    # Given: the task failed, its prompt pending
    put_in_state(task, TaskStatus.FAILED)
    sent()
    # When
    result = call("retry_task", path={"task_id": task.task_id})
    # Then: queued, error gone, run counters reset, enqueued
    stored = TaskModel.get(task.task_id)
    assert result.status == 202 and result.json()["status"] == "queued" and result.json()["error"] is None
    assert stored.attempts == 0 and stored.run_turns == 0 and stored.active_shard
    assert sent() == [_run_message(task.task_id, task.session_id)]


def test_retry_a_succeeded_task_is_409(call: Call, task: Task, put_in_state: PutInState) -> None:
    # Given
    put_in_state(task, TaskStatus.SUCCEEDED, pending=["left over"])
    # When
    result = call("retry_task", path={"task_id": task.task_id})
    # Then: the detail says it succeeded and that a follow-up is what continues it
    assert result.status == 409
    detail = result.json()["detail"]
    assert "already succeeded" in detail and f"POST /tasks/{task.task_id}/messages" in detail


def test_retry_with_nothing_pending_is_409(call: Call, task: Task, put_in_state: PutInState) -> None:
    # Given: cancelled, but nothing left to run
    put_in_state(task, TaskStatus.CANCELLED, pending=[])
    # When
    result = call("retry_task", path={"task_id": task.task_id})
    # Then
    assert result.status == 409
    assert "no pending prompt" in result.json()["detail"]


def test_fork_copies_the_conversation_into_a_new_queued_task(
    call: Call, store: Store, task: Task, add_turns: AddTurns, sent: Sent
) -> None:
    # Given: a task with two earlier turns, finished by a recorded turn that claimed its own Claude session
    add_turns(task, 2)
    assert record_turn(store, task, reply="Hello.", claim="claude-1").status is TaskStatus.SUCCEEDED
    sent()
    # When
    result = call("fork_task", path={"task_id": task.task_id}, body={"prompt": "Go another way"})
    # Then: a new task, queued with the prompt, the turns copied, no Claude session of its own yet
    fork = result.json()
    assert result.status == 202 and result.header("Location") == f"/tasks/{fork['task_id']}"
    assert fork["task_id"] != task.task_id and fork["forked_from"] == task.task_id
    assert fork["status"] == "queued" and fork["pending_prompts"] == ["Go another way"]
    assert fork["claude_session_id"] is None and fork["interaction_count"] == 4
    contents = [item.content for item in InteractionModel.query(fork["task_id"])]
    assert contents == ["turn 1", "turn 2", "Say hello", "Hello."]
    assert sent() == [_run_message(fork["task_id"], task.session_id)]
    assert tables.task_count(task.session_id) == 2


def test_fork_without_a_prompt_is_succeeded_with_nothing_pending(
    call: Call, task: Task, add_turns: AddTurns, sent: Sent
) -> None:
    # Given
    add_turns(task, 2)
    sent()
    # When
    fork = call("fork_task", path={"task_id": task.task_id}, body={}).json()
    # Then: nothing to run, so nothing sent
    assert fork["status"] == "succeeded" and fork["pending_prompts"] == []
    assert TaskModel.get(fork["task_id"]).active_shard is None
    assert sent() == []


def test_fork_into_another_of_the_callers_sessions(
    call: Call, task: Task, add_turns: AddTurns, session_factory: SessionFactory
) -> None:
    # Given: a second session of alice's
    add_turns(task, 2)
    other = session_factory(owner="alice")
    # When
    fork = call("fork_task", path={"task_id": task.task_id}, body={"session_id": other.session_id}).json()
    # Then: the fork and its copied turns belong to the other session
    assert fork["session_id"] == other.session_id
    assert {item.session_id for item in InteractionModel.query(fork["task_id"])} == {other.session_id}
    assert tables.task_count(other.session_id) == 1


def test_fork_into_another_owners_session_is_404(call: Call, task: Task, session_factory: SessionFactory) -> None:
    # Given: bob's session
    bobs = session_factory(owner="bob")
    # When: alice forks her task into it
    result = call("fork_task", path={"task_id": task.task_id}, body={"session_id": bobs.session_id})
    # Then
    assert result.status == 404
    assert tables.counts()["tasks"] == 1 and tables.task_count(bobs.session_id) == 0


def test_fork_of_a_long_conversation_copies_every_turn_in_chunks(
    call: Call, task: Task, add_turns: AddTurns, store: Store
) -> None:
    # Given: more turns than one transaction may carry (100 actions)
    add_turns(task, 130)
    # When
    fork = call("fork_task", path={"task_id": task.task_id}, body={"prompt": "more"}).json()
    # Then: all copied in order, and the stored data is consistent
    seqs = [int(item.seq) for item in InteractionModel.query(fork["task_id"])]
    assert fork["interaction_count"] == 130 and seqs == list(range(1, 131))
    assert consistency_report(store).violations == []


def test_fork_with_the_same_idempotency_key_returns_the_same_fork(call: Call, task: Task) -> None:
    # Given
    first = call("fork_task", path={"task_id": task.task_id}, headers={"Idempotency-Key": "f-1"}).json()
    # When
    again = call("fork_task", path={"task_id": task.task_id}, headers={"Idempotency-Key": "f-1"}).json()
    # Then
    assert again["task_id"] == first["task_id"]
    assert tables.counts()["tasks"] == 2


def test_interactions_are_in_seq_order_and_poll_after_seq(call: Call, task: Task, add_turns: AddTurns) -> None:
    # Given
    add_turns(task, 5)
    path = {"task_id": task.task_id}
    # When
    every = call("list_interactions", path=path, query={}).json()["items"]
    newer = call("list_interactions", path=path, query={"after_seq": "3"}).json()["items"]
    # Then
    assert [turn["seq"] for turn in every] == [1, 2, 3, 4, 5]
    assert [turn["seq"] for turn in newer] == [4, 5]
    assert every[0] | {"created_at": ""} == {
        "task_id": task.task_id,
        "seq": 1,
        "session_id": task.session_id,
        "role": "user",
        "content": "turn 1",
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
        "cost_usd": 0.0,
        "duration_ms": None,
        "stop_reason": None,
        "model": None,
        "tool_name": None,
        "tool_use_id": None,
        "created_at": "",
    }


def test_interactions_page_with_the_cursor(call: Call, task: Task, add_turns: AddTurns) -> None:
    # Given
    add_turns(task, 3)
    path = {"task_id": task.task_id}
    # When
    first = call("list_interactions", path=path, query={"limit": "2"}).json()
    rest = call("list_interactions", path=path, query={"limit": "2", "cursor": first["next_cursor"]}).json()
    # Then
    assert [t["seq"] for t in first["items"] + rest["items"]] == [1, 2, 3]


def test_an_interactions_cursor_for_another_after_seq_is_400(call: Call, task: Task, add_turns: AddTurns) -> None:
    # Given
    add_turns(task, 3)
    path = {"task_id": task.task_id}
    cursor = call("list_interactions", path=path, query={"limit": "1"}).json()["next_cursor"]
    # When
    result = call("list_interactions", path=path, query={"after_seq": "1", "cursor": cursor})
    # Then
    assert result.status == 400


def test_interactions_of_another_owners_task_are_404(call: Call, task: Task) -> None:
    # When
    result = call("list_interactions", owner="bob", path={"task_id": task.task_id}, query={})
    # Then
    assert result.status == 404
