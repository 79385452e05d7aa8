"""The seed report's seven checks, made permanent — against moto server over HTTP."""

from __future__ import annotations

import threading
import uuid

import pytest

from claude_tasks.core.errors import (
    ClaudeSessionTaken,
    ImmutableField,
    InteractionSessionMismatch,
    SessionNotActive,
    SessionNotFound,
    TaskNotFound,
)
from claude_tasks.core.records import NewTask, TaskStatus
from claude_tasks.store import Store, TaskWrite
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.models import ClaudeSessionClaim, TaskModel
from claude_tasks.store.runs import Lease
from claude_tasks.store.transaction import Cancelled
from tests.support.tables import counts, task_count
from tests.support.turns import record_turn, turn


def test_task_creation_session_id(store: Store, session_factory) -> None:
    # Given an active session
    session = session_factory()
    # When a task is created in it, Then it carries that session's id and the counter moved with it
    task = store.tasks.create("alice", session.session_id, NewTask(prompt="p"))
    assert task.session_id == session.session_id
    assert task_count(session.session_id) == 1
    # When a task names no session, an empty one, or an id that was never a session
    for bad in ("", str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(SessionNotFound):
            store.tasks.create("alice", bad, NewTask(prompt="p"))
    # Then nothing was written
    assert counts()["tasks"] == 1
    assert counts()["sessions"] == 1


def test_session_id_foreign_key_constraint(store: Store, session_factory) -> None:
    # Given a session that was deleted, another owner's session, and one being deleted
    gone = session_factory()
    store.sessions.delete("alice", gone.session_id)
    bobs = session_factory(owner="bob")
    closing = session_factory()
    store.sessions._mark_deleting("alice", closing.session_id)
    # When tasks are created for each, Then each is refused with what is wrong
    with pytest.raises(SessionNotFound):
        store.tasks.create("alice", gone.session_id, NewTask(prompt="p"))
    with pytest.raises(SessionNotFound):
        store.tasks.create("alice", bobs.session_id, NewTask(prompt="p"))
    with pytest.raises(SessionNotActive):
        store.tasks.create("alice", closing.session_id, NewTask(prompt="p"))
    # And nothing was written: no task, no counter moved, the deleted session not resurrected
    assert counts() == {"sessions": 2, "tasks": 0, "interactions": 0, "claims": 0}
    assert task_count(bobs.session_id) == 0
    assert task_count(closing.session_id) == 0


def test_interaction_session_id_consistency(store: Store, session_factory, task_factory) -> None:
    # Given a task in session A, and another session B
    task = task_factory()
    other = session_factory()
    # When the worker records a turn on it, Then both interactions carry the task's session id
    record_turn(store, task)
    turns = store.interactions.all(task.task_id)
    assert [(t.seq, t.session_id) for t in turns] == [(1, task.session_id), (2, task.session_id)]
    # When a run names session B for it, Then the lease is refused and nothing is written
    store.transitions.follow_up("alice", task.task_id, "And then?")
    with pytest.raises(InteractionSessionMismatch):
        store.runs.lease(task.task_id, other.session_id, Lease.start(60))
    assert store.tasks.get("alice", task.task_id).status is TaskStatus.QUEUED
    # When the task is cancelled and deleted under a run that holds its lease, Then the run's turn is refused
    lease = Lease.start(60)
    store.runs.lease(task.task_id, task.session_id, lease)
    held = store.tasks.load(task.task_id)
    store.transitions.cancel("alice", task.task_id)
    store.tasks.delete("alice", task.task_id)
    with pytest.raises(TaskNotFound):
        store.runs.record(held, lease, turn(held))
    # And a run that comes later cannot lease it
    with pytest.raises(TaskNotFound):
        store.runs.lease(task.task_id, task.session_id, Lease.start(60))
    # And nothing was written: the deleted task's turns went with it
    assert counts()["interactions"] == 0
    assert counts()["tasks"] == 0
    assert consistency_report(store).violations == []


def test_multiple_tasks_different_session_ids(store: Store, session_factory, task_factory) -> None:
    # Given two sessions with three and two tasks
    first, second = session_factory(), session_factory()
    in_first = {task_factory(first).task_id for _ in range(3)}
    in_second = {task_factory(second).task_id for _ in range(2)}
    # Then each task names its own session, and each session lists only its own tasks
    listed_first = store.tasks.list_for_session("alice", first.session_id).items
    listed_second = store.tasks.list_for_session("alice", second.session_id).items
    assert {t.task_id for t in listed_first} == in_first
    assert {t.task_id for t in listed_second} == in_second
    assert {t.session_id for t in listed_first} == {first.session_id}
    assert {t.session_id for t in listed_second} == {second.session_id}
    assert (task_count(first.session_id), task_count(second.session_id)) == (3, 2)
    report = consistency_report(store)
    assert (report.total_tasks, report.tasks_with_valid_session, report.violations) == (5, 5, [])


def test_session_id_persistence_across_updates(store: Store, session_factory, task_factory) -> None:
    # Given a task in session A and another session B
    task = task_factory()
    other = session_factory()
    # When every kind of update is applied
    store.tasks.update("alice", task.task_id, {"title": "renamed", "metadata": {"k": "v"}})
    record_turn(store, task, claim=str(uuid.uuid4()))
    # Then session_id is unchanged
    assert store.tasks.get("alice", task.task_id).session_id == task.session_id
    # When an update tries to change it, through the repository or a raw conditional write
    with pytest.raises(ImmutableField):
        store.tasks.update("alice", task.task_id, {"session_id": other.session_id})
    write = TaskWrite(task.task_id, other.session_id, actions=[TaskModel.title.set("x")])
    tx = store.transaction()
    write.stage(tx)
    with pytest.raises(Cancelled):
        tx.commit()
    # Then it is refused and the stored session_id is the original
    stored = TaskModel.get(task.task_id, consistent_read=True)
    assert (stored.session_id, stored.title) == (task.session_id, "renamed")


def test_a_claude_session_id_claimed_in_a_recorded_turn_belongs_to_that_task_alone(store: Store, task_factory) -> None:
    # (The executor itself running two tasks: tests/integration/worker/test_session_ids.py.)
    # Given two tasks, the first holding a Claude session id claimed by its first recorded turn
    first, second = task_factory(), task_factory()
    claude_id = str(uuid.uuid4())
    record_turn(store, first, claim=claude_id)
    # When the first task records another turn, Then its turns carry its session and it keeps its Claude id
    store.transitions.follow_up("alice", first.task_id, "And then?")
    record_turn(store, first)
    assert {t.session_id for t in store.interactions.all(first.task_id)} == {first.session_id}
    assert store.tasks.get("alice", first.task_id).claude_session_id == claude_id
    # When a turn of the second task claims the first's Claude id, Then it is refused and writes nothing
    for prompt in ("more", "more still"):
        store.transitions.follow_up("alice", second.task_id, prompt)
    lease = Lease.start(60)
    store.runs.lease(second.task_id, second.session_id, lease)
    with pytest.raises(ClaudeSessionTaken):
        record_turn(store, second, claim=claude_id, lease=lease)
    refused = store.tasks.get("alice", second.task_id)
    assert (refused.claude_session_id, refused.interaction_count) == (None, 0)
    # And it claims its own; a turn naming its own again is written; a turn claiming a different one is refused
    own = str(uuid.uuid4())
    record_turn(store, second, claim=own, lease=lease)
    record_turn(store, second, claim=own, lease=lease)
    with pytest.raises(ClaudeSessionTaken):
        record_turn(store, second, claim=str(uuid.uuid4()), lease=lease)
    after = store.tasks.get("alice", second.task_id)
    assert (after.claude_session_id, after.interaction_count) == (own, 4)
    assert ClaudeSessionClaim.get(claude_id).task_id == first.task_id
    assert ClaudeSessionClaim.get(own).task_id == second.task_id
    assert consistency_report(store).shared_claude_session_ids == 0


def test_concurrent_task_session_ids(store: Store, session_factory) -> None:
    # Given two sessions and 8 threads
    sessions = [session_factory(), session_factory()]
    created: list[tuple[str, str]] = []
    lock = threading.Lock()

    def create(worker: int) -> None:
        for n in range(10):
            session = sessions[(worker + n) % 2]
            task = store.tasks.create("alice", session.session_id, NewTask(prompt=f"{worker}-{n}"))
            with lock:
                created.append((task.task_id, session.session_id))

    # When they create 80 tasks at once
    threads = [threading.Thread(target=create, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every task is stored in the session it was created for, and the counters are exact
    assert len(created) == 80
    for task_id, session_id in created:
        assert TaskModel.get(task_id, consistent_read=True).session_id == session_id
    for session in sessions:
        assert task_count(session.session_id) == sum(1 for _, s in created if s == session.session_id)
    assert consistency_report(store).violations == []
