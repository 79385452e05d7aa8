"""Repository behaviour beyond the seed checks: deletes, cursors, claims, idempotent sessions."""

from __future__ import annotations

import uuid

import pytest

from claude_tasks.core.errors import (
    ClaudeSessionTaken,
    InvalidCursor,
    ItemTooLarge,
    SessionHasRunningTasks,
    SessionHasTasks,
    SessionNotFound,
    StaleInteractionCount,
    TaskNotFound,
    TaskStateConflict,
)
from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store, TaskWrite, cursor
from claude_tasks.store.models import SessionModel, TaskModel
from claude_tasks.store.runs import Lease
from tests.support.tables import counts, task_count
from tests.support.turns import record_turn, turn


def test_a_session_with_tasks_is_kept_unless_cascade(store: Store, session_factory, task_factory) -> None:
    # Given a session with two tasks, one with a recorded turn
    session = session_factory()
    task = task_factory(session)
    task_factory(session)
    record_turn(store, task)
    # When it is deleted without cascade, Then it is refused and says how many tasks remain
    with pytest.raises(SessionHasTasks, match="2 task"):
        store.sessions.delete("alice", session.session_id)
    # When it is deleted with cascade, Then the session, its tasks and their turns are gone
    store.sessions.delete("alice", session.session_id, cascade=True)
    assert counts() == {"sessions": 0, "tasks": 0, "interactions": 0, "claims": 0}


def test_another_owner_cannot_see_or_delete_a_session(store: Store, session_factory) -> None:
    # Given alice's session
    session = session_factory()
    # Then for bob it does not exist
    with pytest.raises(SessionNotFound):
        store.sessions.get("bob", session.session_id)
    with pytest.raises(SessionNotFound):
        store.sessions.delete("bob", session.session_id, cascade=True)
    assert store.sessions.get("alice", session.session_id).status == "active"


def test_a_running_task_cannot_be_deleted(store: Store, task_factory) -> None:
    # Given a running task
    task = task_factory()
    TaskModel.get(task.task_id).update(actions=[TaskModel.status.set(TaskStatus.RUNNING.value)])
    # When it is deleted, Then it is refused, naming the state
    with pytest.raises(TaskStateConflict, match="running"):
        store.tasks.delete("alice", task.task_id)
    assert store.tasks.get("alice", task.task_id).status == TaskStatus.RUNNING


def test_a_retired_claude_session_id_is_never_reused(store: Store, task_factory) -> None:
    # Given a task whose recorded turn claimed a Claude session id, and was deleted
    task = task_factory()
    claude_id = str(uuid.uuid4())
    record_turn(store, task, claim=claude_id)
    store.tasks.delete("alice", task.task_id)
    # When another task's turn claims the same id, Then it is refused and writes nothing
    other = task_factory()
    with pytest.raises(ClaudeSessionTaken):
        record_turn(store, other, claim=claude_id)
    refused = store.tasks.get("alice", other.task_id)
    assert (refused.claude_session_id, refused.interaction_count) == (None, 0)
    with pytest.raises(TaskNotFound):
        store.tasks.get("alice", task.task_id)


def test_a_turn_recorded_from_a_stale_read_is_refused(store: Store, task_factory) -> None:
    # Given a leased task with two prompts pending, read by its run, and a turn recorded after that read
    task = task_factory()
    store.transitions.follow_up("alice", task.task_id, "And then?")
    lease = Lease.start(60)
    store.runs.lease(task.task_id, task.session_id, lease)
    stale = store.tasks.load(task.task_id)
    store.runs.record(stale, lease, turn(stale, reply="first"))
    # When a turn is recorded against the old read, Then it is refused as stale and nothing is written
    with pytest.raises(StaleInteractionCount):
        store.runs.record(stale, lease, turn(stale, reply="second"))
    after = store.tasks.get("alice", task.task_id)
    assert (after.interaction_count, after.pending_prompts) == (2, ["And then?"])
    assert [i.content for i in store.interactions.all(task.task_id)] == ["Say hello", "first"]


def test_sessions_page_newest_first_with_cursors_bound_to_their_owner(store: Store, session_factory) -> None:
    # Given five sessions of alice and one of bob
    made = [session_factory(name=f"s{n}").session_id for n in range(5)]
    session_factory(owner="bob")
    # When alice pages two at a time
    seen, after = [], None
    while True:
        page = store.sessions.list_for_owner("alice", limit=2, after=after)
        seen += [s.session_id for s in page.items]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    # Then she sees exactly her sessions, newest first
    assert seen == list(reversed(made))
    # And a cursor edited, or replayed by bob, is refused
    first = store.sessions.list_for_owner("alice", limit=2).next_cursor
    assert first is not None
    for bad in (first[:-2] + "xx", "%%%", "e30"):
        with pytest.raises(InvalidCursor):
            store.sessions.list_for_owner("alice", after=bad)
    with pytest.raises(InvalidCursor):
        store.sessions.list_for_owner("bob", after=first)


def test_an_idempotency_key_opens_one_session(store: Store) -> None:
    # When alice opens a session twice with the same key
    first = store.sessions.create("alice", "/work/p", idempotency_key="s-1")
    second = store.sessions.create("alice", "/work/p", idempotency_key="s-1")
    # Then it is the same session
    assert first.session_id == second.session_id
    assert counts()["sessions"] == 1


def test_what_create_and_update_return_is_what_is_stored(store: Store, task_factory) -> None:
    # Given a task just created, and then updated, without reading back
    created = task_factory()
    assert created == store.tasks.get("alice", created.task_id)
    updated = store.tasks.update("alice", created.task_id, {"title": "t"})
    stored = store.tasks.get("alice", created.task_id)
    # Then the returned records match the stored ones, version included
    assert (updated.title, updated.version) == (stored.title, stored.version) == ("t", 2)


def test_a_cascade_delete_goes_on_past_a_task_deleted_meanwhile(store: Store, session_factory, task_factory) -> None:
    # Given a session with two tasks, one deleted by another caller but still listed by the
    # eventually consistent session index (moto's index is never stale: botocore injects the entry)
    session = session_factory()
    gone, _kept = task_factory(session), task_factory(session)
    stale = TaskModel.get(gone.task_id).serialize()
    store.tasks.delete("alice", gone.task_id)
    client = TaskModel._get_connection().connection.client

    def stale_index(parsed: dict, **_: object) -> None:
        if parsed.get("Items") is not None and stale not in parsed["Items"]:
            parsed["Items"].append(stale)
            parsed["Count"] += 1

    client.meta.events.register("after-call.dynamodb.Query", stale_index)
    try:
        # When the session is deleted with cascade, Then it finishes and nothing is left
        store.sessions.delete("alice", session.session_id, cascade=True)
    finally:
        client.meta.events.unregister("after-call.dynamodb.Query", stale_index)
    assert counts() == {"sessions": 0, "tasks": 0, "interactions": 0, "claims": 0}


def _cursor(scope: str, key: dict[str, dict[str, str]]) -> str:
    """A cursor signed by `cursor.encode` itself (it checks no key): right scope and signature, any key."""
    made = cursor.encode(key, scope)
    assert made is not None
    return made


def test_a_hand_made_interactions_cursor_with_a_wrongly_typed_seq_is_refused(store: Store, task_factory) -> None:
    # Given a task, and cursors for its interactions in the right scope whose seq is not a number
    task = task_factory()
    scope = f"interactions\x00alice\x00{task.task_id}\x000"
    for seq in ({"N": "abc"}, {"S": "1"}, {"N": "1" * 39}):
        after = _cursor(scope, {"task_id": {"S": task.task_id}, "seq": seq})
        # When the page is read, Then the cursor is refused (not sent to DynamoDB)
        with pytest.raises(InvalidCursor):
            store.interactions.list_for_task(task, after=after)
    # And a well-typed one is accepted
    good = _cursor(scope, {"task_id": {"S": task.task_id}, "seq": {"N": "1"}})
    assert store.interactions.list_for_task(task, after=good).items == []


def test_a_hand_made_sessions_cursor_with_an_empty_or_numeric_key_is_refused(store: Store, session_factory) -> None:
    # Given a session, and cursors for alice's sessions in the right scope with bad key values
    session = session_factory()
    scope = "sessions\x00alice"
    bad_keys = [
        {"session_id": {"S": session.session_id}, "owner": {"S": "alice"}, "created_at": {"N": "1"}},
        {"session_id": {"S": ""}, "owner": {"S": "alice"}, "created_at": {"S": "x"}},
        {"session_id": {"S": "\udc80"}, "owner": {"S": "alice"}, "created_at": {"S": "x"}},
    ]
    for key in bad_keys:
        # When the page is read, Then the cursor is refused
        with pytest.raises(InvalidCursor):
            store.sessions.list_for_owner("alice", after=_cursor(scope, key))


def test_a_write_that_would_outgrow_the_item_limit_is_item_too_large(store: Store, task_factory) -> None:
    # Given a task
    task = task_factory()
    # When an update would make its item larger than DynamoDB's 400 KB
    write = TaskWrite(task.task_id, task.session_id)
    write.actions.append(TaskModel.system.set("s" * 420_000))
    # Then it is a domain error the API answers with 413, and the task is unchanged
    with pytest.raises(ItemTooLarge):
        store.tasks.commit(write)
    assert store.tasks.get("alice", task.task_id).system is None


def test_patch_succeeds_when_a_worker_turn_bumps_the_version_between_read_and_write(store: Store, task_factory) -> None:
    # Given a task, and another writer (a follow-up) committing just before the title change's write
    task = task_factory()
    client = store.connection.client
    bumped: list[int] = []

    def follow_up_first(**_: object) -> None:
        if not bumped:
            bumped.append(1)
            store.transitions.follow_up("alice", task.task_id, "and then?")

    client.meta.events.register_first("before-send.dynamodb.TransactWriteItems", follow_up_first)
    try:
        # When the title is changed
        updated = store.tasks.update("alice", task.task_id, {"title": "renamed"})
    finally:
        client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", follow_up_first)
    # Then it succeeds (no 503 concurrent-update), and neither write is lost
    stored = store.tasks.get("alice", task.task_id)
    assert bumped and updated == stored
    assert stored.title == "renamed" and stored.pending_prompts == ["Say hello", "and then?"]
    assert stored.version == task.version + 2


def test_patch_still_refuses_a_task_being_deleted(store: Store, task_factory) -> None:
    # Given a task marked deleting (a delete stopped half-way)
    task = task_factory()
    store.tasks.commit(TaskWrite(task.task_id, task.session_id, actions=[TaskModel.status.set("deleting")]))
    # When its title is changed, Then it is not found
    with pytest.raises(TaskNotFound):
        store.tasks.update("alice", task.task_id, {"title": "t"})


def test_a_cascade_delete_refuses_a_session_with_a_running_task_before_deleting_anything(
    store: Store, session_factory, task_factory
) -> None:
    # Given a session with a queued task and a running one
    session = session_factory()
    queued, running = task_factory(session), task_factory(session)
    store.runs.lease(running.task_id, session.session_id, Lease.start(60))
    # When it is deleted with cascade, Then it is refused naming the running task, as deleting that task is
    with pytest.raises(SessionHasRunningTasks, match=running.task_id):
        store.sessions.delete("alice", session.session_id, cascade=True)
    with pytest.raises(TaskStateConflict):
        store.tasks.delete("alice", running.task_id)
    # And nothing changed: both tasks, the counter, and the session still takes tasks
    assert {t.task_id for t in store.tasks.all_in_session("alice", session.session_id)} == {
        queued.task_id,
        running.task_id,
    }
    assert store.sessions.get("alice", session.session_id).status.value == "active"
    # When the running task is cancelled first, Then the cascade deletes everything
    store.transitions.cancel("alice", running.task_id)
    store.sessions.delete("alice", session.session_id, cascade=True)
    assert counts()["sessions"] == counts()["tasks"] == 0


def test_a_task_that_starts_running_during_a_cascade_is_not_deleted(
    store: Store, session_factory, task_factory
) -> None:
    # Given a session with a queued task, which a worker leases just as the cascade marks the session deleting
    session = session_factory()
    task = task_factory(session)
    client = SessionModel._get_connection().connection.client

    def lease_now(**_: object) -> None:
        store.runs.lease(task.task_id, session.session_id, Lease.start(60))

    client.meta.events.register_first("before-send.dynamodb.UpdateItem", lease_now)
    try:
        # When the session is deleted with cascade, Then it is refused, naming the task
        with pytest.raises(SessionHasRunningTasks, match=task.task_id):
            store.sessions.delete("alice", session.session_id, cascade=True)
    finally:
        client.meta.events.unregister("before-send.dynamodb.UpdateItem", lease_now)
    # And the running task and its session are still there, counted
    assert store.tasks.get("alice", task.task_id).status is TaskStatus.RUNNING
    assert task_count(session.session_id) == 1
