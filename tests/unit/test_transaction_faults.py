"""Faults moto cannot make — TransactionConflict, a reused ClientRequestToken — injected with botocore's Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from claude_tasks.core.errors import TransientStoreError
from claude_tasks.core.records import NewTask, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.transaction import COMMIT_ATTEMPTS
from tests.support.tables import counts, task_count


def _cancelled(*codes: str) -> dict[str, Any]:
    return {"CancellationReasons": [{"Code": code} for code in codes]}


def _conflicts(stub: Stubber, times: int) -> None:
    for _ in range(times):
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled, please refer cancellation reasons for specific reasons",
            modeled_fields=_cancelled("TransactionConflict", "None"),
        )


@contextmanager
def _conflicting(store: Store, times: int) -> Iterator[list[str | None]]:
    """DynamoDB cancels the next `times` transactions for a conflict; every later one reaches moto.
    Yields the ClientRequestToken of every transaction sent meanwhile, stubbed or not."""
    events = store.connection.client.meta.events
    tokens: list[str | None] = []
    stub = Stubber(store.connection.client)
    _conflicts(stub, times)
    answered = {"count": 0}

    def token(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            tokens.append(params.get("ClientRequestToken"))

    def after(**_: Any) -> None:
        answered["count"] += 1
        if answered["count"] == times:
            stub.deactivate()

    # Last on the event botocore fills in a token on when the caller gave none (a handler on a more
    # specific name, `before-parameter-build.dynamodb.…`, would run before botocore's).
    events.register_last("before-parameter-build", token, unique_id="conflict-tokens")
    events.register("after-call.dynamodb.TransactWriteItems", after, unique_id="conflict-count")
    stub.activate()
    try:
        yield tokens
    finally:
        stub.deactivate()
        events.unregister("before-parameter-build", unique_id="conflict-tokens")
        events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="conflict-count")


def test_a_conflict_on_every_attempt_is_transient_and_writes_nothing(store: Store, session_factory) -> None:
    # Given a session, and DynamoDB cancelling every attempt of the next transaction with a TransactionConflict
    session = session_factory()
    with _conflicting(store, COMMIT_ATTEMPTS) as sent:
        # When a task is created, Then the caller is told to try again once the attempts are spent
        with pytest.raises(TransientStoreError, match="conflicted"):
            store.tasks.create("alice", session.session_id, NewTask(prompt="p"))
    assert len(sent) == COMMIT_ATTEMPTS
    # And nothing was written
    assert counts()["tasks"] == 0
    assert task_count(session.session_id) == 0
    assert store.usage.for_owner("alice").total.tasks["queued"] == 0


@pytest.mark.parametrize("key", [None, "k-4"])
def test_a_conflict_on_the_first_attempt_is_absorbed_and_the_task_written_once(
    store: Store, session_factory, key: str | None
) -> None:
    # Given a session, and DynamoDB cancelling only the first attempt of the next transaction for a conflict
    session = session_factory()
    with _conflicting(store, 1) as sent:
        # When a task is created (with and without an idempotency key)
        task = store.tasks.create("alice", session.session_id, NewTask(prompt="p"), idempotency_key=key)
    # Then it was sent twice and written once, its counters moved once
    assert len(sent) == 2
    assert counts()["tasks"] == 1 and task_count(session.session_id) == 1
    assert store.tasks.load(task.task_id).status is TaskStatus.QUEUED
    assert store.usage.for_owner("alice").total.tasks["queued"] == 1
    # And the caller's token went with both sends; without one, botocore made one per send
    assert (sent[0] == sent[1]) is (key is not None)


def test_a_conflict_on_a_versioned_update_is_sent_again_unchanged(store: Store, task_factory) -> None:
    # Given a queued task, and DynamoDB cancelling the first two attempts of the next transaction
    task = task_factory()
    with _conflicting(store, 2) as sent:
        # When the task is cancelled (an update of the versioned task item, and its counters)
        store.transitions.cancel("alice", task.task_id)
    # Then the third send committed, moving the task and its counters once
    assert len(sent) == 3
    assert store.tasks.load(task.task_id).status is TaskStatus.CANCELLED
    total = store.usage.for_owner("alice").total.tasks
    assert (total["queued"], total["cancelled"]) == (0, 1)


def test_a_failed_condition_beside_a_conflict_is_not_sent_again(store: Store, session_factory) -> None:
    # Given DynamoDB cancelling the next transaction for a conflict and a failed condition at once
    session = session_factory()
    with Stubber(store.connection.client) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields=_cancelled("TransactionConflict", "ConditionalCheckFailed", "None"),
        )
        # When a task is created, Then the caller is told to try again after one send (a second would
        # find no answer stubbed, which is not a TransientStoreError)
        with pytest.raises(TransientStoreError, match="conflicted"):
            store.tasks.create("alice", session.session_id, NewTask(prompt="p"))
    assert counts()["tasks"] == 0


def test_a_replayed_request_token_returns_the_task_made_the_first_time(store: Store, session_factory) -> None:
    # Given a task created with an idempotency key
    session = session_factory()
    first = store.tasks.create("alice", session.session_id, NewTask(prompt="p"), idempotency_key="k-1")
    # When the retry's transaction is refused as a token replay with other parameters (moto ignores tokens),
    # and the write sent again without the token finds the task already there
    with Stubber(store.connection.client) as stub:
        stub.add_client_error("transact_write_items", service_error_code="IdempotentParameterMismatchException")
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields=_cancelled("ConditionalCheckFailed", "None"),
            expected_params={"TransactItems": ANY, "ReturnConsumedCapacity": ANY},
        )
        again = store.tasks.create("alice", session.session_id, NewTask(prompt="p"), idempotency_key="k-1")
    # Then the caller gets the first task, and nothing new exists
    assert again.task_id == first.task_id
    assert counts()["tasks"] == 1
    assert task_count(session.session_id) == 1


def test_a_token_refused_after_a_failed_first_attempt_still_creates_the_task(store: Store, session_factory) -> None:
    # Given a first attempt that failed (a conflict), so nothing was written
    session = session_factory()
    with Stubber(store.connection.client) as stub:
        _conflicts(stub, COMMIT_ATTEMPTS)
        with pytest.raises(TransientStoreError):
            store.tasks.create("alice", session.session_id, NewTask(prompt="p"), idempotency_key="k-3")
    # When the retry's token is refused (same token, new timestamp), and the write goes again without it
    with Stubber(store.connection.client) as stub:
        stub.add_client_error("transact_write_items", service_error_code="IdempotentParameterMismatchException")
        stub.add_response("transact_write_items", {}, {"TransactItems": ANY, "ReturnConsumedCapacity": ANY})
        task = store.tasks.create("alice", session.session_id, NewTask(prompt="p"), idempotency_key="k-3")
    # Then the caller gets the task, not a 404 for ten minutes
    assert task.session_id == session.session_id


def test_an_idempotency_key_makes_one_task_and_one_deterministic_token(store: Store, session_factory) -> None:
    # Given a session and a hook that records each transaction's ClientRequestToken
    session = session_factory()
    tokens: list[str | None] = []
    store.connection.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: tokens.append(params.get("ClientRequestToken")),
    )
    # When the same key is used twice, and another owner uses it too
    first = store.tasks.create("alice", session.session_id, NewTask(prompt="p"), idempotency_key="k-2")
    second = store.tasks.create("alice", session.session_id, NewTask(prompt="p"), idempotency_key="k-2")
    bobs = store.sessions.create("bob", "/work/b")
    store.tasks.create("bob", bobs.session_id, NewTask(prompt="p"), idempotency_key="k-2")
    # Then alice has one task, the retry carried the same token, and bob's token differs
    assert first.task_id == second.task_id
    assert task_count(session.session_id) == 1
    assert tokens[0] == tokens[1] and tokens[0] is not None
    assert tokens[2] != tokens[0]
