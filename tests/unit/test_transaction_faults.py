"""Faults moto cannot make — TransactionConflict, a reused ClientRequestToken — injected with botocore's Stubber."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from claude_tasks.core.errors import TransientStoreError
from claude_tasks.core.records import NewTask
from claude_tasks.store import Store
from tests.support.tables import counts, task_count


def _cancelled(*codes: str) -> dict[str, Any]:
    return {"CancellationReasons": [{"Code": code} for code in codes]}


def test_a_transaction_conflict_is_transient_and_writes_nothing(store: Store, session_factory) -> None:
    # Given a session, and DynamoDB answering the next transaction with a TransactionConflict
    session = session_factory()
    with Stubber(store.connection.client) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled",
            response_meta={},
            modeled_fields=_cancelled("TransactionConflict", "None"),
        )
        # When a task is created, Then the caller is told to try again
        with pytest.raises(TransientStoreError):
            store.tasks.create("alice", session.session_id, NewTask(prompt="p"))
    # And nothing was written
    assert counts()["tasks"] == 0
    assert task_count(session.session_id) == 0


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
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields=_cancelled("TransactionConflict", "None"),
        )
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
