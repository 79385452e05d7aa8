"""A slow or silent DynamoDB: timeouts are `TransientStoreError`, and a retry never hides a committed write.

Faults moto cannot make are injected with botocore event hooks on the client the
write goes through: a `before-send` hook registered *after* moto's own handler
lets the request commit in moto and then raises `ReadTimeoutError`, so botocore's
retry sends the committed write again — what a slow DynamoDB does to us.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from pynamodb.models import Model

from claude_tasks.core.config import Settings
from claude_tasks.core.errors import TransientStoreError
from claude_tasks.core.records import NewTask, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.models import SessionModel, bind
from claude_tasks.store.runs import Lease
from tests.support.tables import counts, task_count
from tests.support.turns import record_turn

Hook = Callable[..., None]


def _client(store: Store, model: type[Model] | None = None) -> Any:
    """The botocore client a write goes through: the store's transaction connection, or a model's own."""
    return store.connection.client if model is None else model._get_connection().connection.client


@pytest.fixture
def time_out_after_commit(store: Store) -> Iterator[Callable[..., None]]:
    """`time_out_after_commit("TransactWriteItems", nth=1)`: the nth such request commits, then its answer is lost."""
    registered: list[tuple[Any, str, Hook]] = []

    def install(operation: str, model: type[Model] | None = None, nth: int = 1) -> None:
        calls = 0

        def lose_answer(request: Any, **_: object) -> None:
            nonlocal calls
            if request.headers.get("X-Amz-Target", b"").decode().endswith(f".{operation}"):
                calls += 1
                if calls == nth:  # moto's handler ran first: the write is in the table
                    raise ReadTimeoutError(endpoint_url=request.url)

        # On the bare `before-send`, as moto's handler is, so it runs after moto's (botocore calls
        # handlers of a more specific event name first, then same-name handlers in registration order).
        client, event = _client(store, model), "before-send"
        client.meta.events.register(event, lose_answer)
        registered.append((client, event, lose_answer))

    yield install
    for client, event, hook in registered:
        client.meta.events.unregister(event, hook)


def test_a_timeout_before_the_write_is_retried_and_creates_one_task(store: Store, session_factory) -> None:
    # Given a session, and a first transaction attempt that times out before it reaches DynamoDB
    session = session_factory()
    attempts = 0

    def time_out_first(request: Any, **_: object) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ReadTimeoutError(endpoint_url=request.url)

    store.connection.client.meta.events.register_first("before-send.dynamodb.TransactWriteItems", time_out_first)
    try:
        # When a task is created
        task = store.tasks.create("alice", session.session_id, NewTask(prompt="p"))
    finally:
        store.connection.client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", time_out_first)
    # Then botocore's retry created it, once
    assert attempts == 2
    assert store.tasks.get("alice", task.task_id).session_id == session.session_id
    assert task_count(session.session_id) == 1


def test_a_task_whose_committed_write_is_retried_is_created_not_404(
    store: Store, session_factory, time_out_after_commit
) -> None:
    # Given a session, and a create whose transaction commits but whose answer times out
    session = session_factory()
    time_out_after_commit("TransactWriteItems")
    # When the task is created (botocore retries; the retry meets the committed write)
    task, created = store.tasks.insert(
        store.tasks.new_item("t-1", session.session_id, "alice", NewTask(prompt="p")), None, idempotent=False
    )
    # Then the caller gets the task as created, and exactly one exists, counted once
    assert created is True
    assert task.status is TaskStatus.QUEUED
    assert store.tasks.get("alice", "t-1").prompt == "p"
    assert counts()["tasks"] == 1
    assert task_count(session.session_id) == 1


def test_create_through_the_repository_survives_a_lost_answer(
    store: Store, session_factory, time_out_after_commit
) -> None:
    # Given a committed create whose answer is lost
    session = session_factory()
    time_out_after_commit("TransactWriteItems")
    # When a task is created without an idempotency key, Then it is returned, not SessionNotFound
    task = store.tasks.create("alice", session.session_id, NewTask(prompt="p"))
    assert [t.task_id for t in store.tasks.all_in_session("alice", session.session_id)] == [task.task_id]
    assert task_count(session.session_id) == 1


def test_a_session_whose_committed_put_is_retried_is_created(store: Store, time_out_after_commit) -> None:
    # Given a session put that commits but whose answer times out
    time_out_after_commit("PutItem", SessionModel)
    # When a session is opened (no idempotency key), Then it is returned, not a raw PutError
    session = store.sessions.create("alice", "/work/p")
    assert store.sessions.get("alice", session.session_id).project_path == "/work/p"
    assert counts()["sessions"] == 1


def test_a_fork_whose_committed_create_is_retried_is_one_fork(
    store: Store, task_factory, time_out_after_commit
) -> None:
    # Given a task finished by one recorded turn (two interactions)
    source = task_factory()
    assert record_turn(store, source).status is TaskStatus.SUCCEEDED
    # And the fork's creating transaction commits but its answer is lost
    time_out_after_commit("TransactWriteItems")
    # When it is forked
    fork, runnable = store.forks.fork("alice", source.task_id, "more", None, None)
    # Then one fork exists, with the copied turn, queued to run
    assert runnable is True
    assert fork.interaction_count == 2 and fork.status is TaskStatus.QUEUED
    assert task_count(source.session_id) == 2


def test_a_recorded_turn_whose_commit_is_retried_is_written_once(
    store: Store, task_factory, time_out_after_commit
) -> None:
    # Given a leased task, and a turn record whose transaction commits but whose answer is lost
    task = task_factory()
    lease = Lease.start(60)
    store.runs.lease(task.task_id, task.session_id, lease)
    time_out_after_commit("TransactWriteItems")
    # When the turn is recorded, Then it succeeds (not StaleInteractionCount) and is stored once
    after = record_turn(store, task, lease=lease)
    assert [i.seq for i in store.interactions.all(task.task_id)] == [1, 2]
    assert (after.interaction_count, after.turns, after.status) == (2, 1, TaskStatus.SUCCEEDED)


def test_a_lease_whose_commit_is_retried_is_taken(store: Store, task_factory, time_out_after_commit) -> None:
    # Given a queued task, and a lease whose transaction commits but whose answer is lost
    task = task_factory()
    time_out_after_commit("TransactWriteItems")
    lease = Lease.start(60)
    # When the worker leases it, Then the lease is its own (not refused as "running under a live lease")
    store.runs.lease(task.task_id, task.session_id, lease)
    assert store.tasks.get("alice", task.task_id).lease_id == lease.lease_id


@pytest.mark.parametrize("nth", [1, 2], ids=["marking-deleting", "deleting"])
def test_a_delete_whose_commit_is_retried_succeeds(store: Store, task_factory, time_out_after_commit, nth) -> None:
    # Given a task, and a delete whose first (mark) or second (delete) transaction commits but whose answer is lost
    task = task_factory()
    time_out_after_commit("TransactWriteItems", nth=nth)
    # When it is deleted, Then the call succeeds (not TaskNotFound) and the counter went down once
    store.tasks.delete("alice", task.task_id)
    assert counts()["tasks"] == 0
    assert task_count(task.session_id) == 0


# A DynamoDB that accepts connections and never answers.


@pytest.fixture
def silent_store() -> Iterator[Store]:
    """A store whose endpoint accepts TCP connections and never replies, with short timeouts and one retry."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(connection)  # held open, never answered

    threading.Thread(target=accept, daemon=True).start()
    host, port = listener.getsockname()
    settings = Settings(
        aws_endpoint_url=f"http://{host}:{port}", db_connect_timeout_s=0.2, db_read_timeout_s=0.2, db_max_retries=1
    )
    try:
        yield Store(settings)
    finally:
        stop.set()
        listener.close()
        for connection in accepted:
            connection.close()
        bind(Settings())  # models back on the default endpoint for the tests after


def test_a_transaction_against_a_silent_database_is_transient(silent_store: Store) -> None:
    # Given a transaction on a database that never answers
    tx = silent_store.transaction()
    tx.put("task", silent_store.tasks.new_item("t-1", "s-1", "alice", NewTask(prompt="p")))
    # When it is committed, Then the caller is told to try again — not an AttributeError
    with pytest.raises(TransientStoreError):
        tx.commit()


def test_creating_a_task_against_a_silent_database_is_transient(silent_store: Store) -> None:
    with pytest.raises(TransientStoreError):
        silent_store.tasks.create("alice", "s-1", NewTask(prompt="p"))


def test_opening_a_session_against_a_silent_database_is_transient(silent_store: Store) -> None:
    # Not a raw PutError: the API answers 503, not 500
    with pytest.raises(TransientStoreError):
        silent_store.sessions.create("alice", "/work/p")


def test_reading_against_a_silent_database_is_transient(silent_store: Store) -> None:
    with pytest.raises(TransientStoreError):
        silent_store.tasks.get("alice", "t-1")
    with pytest.raises(TransientStoreError):
        list(silent_store.tasks.all_in_session("alice", "s-1"))
