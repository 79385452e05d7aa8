"""At-least-once delivery: duplicates, crashes and lost write responses still leave exactly one pair of turns."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from claude_tasks.claude import get_backend
from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.transaction import COMMIT_ATTEMPTS
from tests.integration.worker.conftest import MakeTask
from tests.support.anthropic_stub import AnthropicStub, Reply
from tests.support.claude_double import AfterReply, ScriptedClaude
from tests.support.worker import Worker, failed_ids, load_event, redelivered, retarget


class Crash(BaseException):
    """The process dies: not an error the worker could catch (Lambda timeout, out of memory)."""


def _pair(store: Store, task_id: str) -> list[tuple[Role, str]]:
    return [(turn.role, turn.content) for turn in store.interactions.all(task_id)]


def test_a_duplicate_delivered_after_the_run_writes_nothing(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given a task whose message was delivered and run
    task = make_task()
    event = retarget(load_event("task-run-batch"), [task])
    assert failed_ids(worker.invoke(event)) == set()
    # When SQS delivers the same message again
    response = worker.invoke(redelivered(event, receive_count=2))
    # Then it is acknowledged, Claude is not asked again, and there is still one pair of turns
    assert failed_ids(response) == set()
    assert len(stub.requests) == 1
    assert [role for role, _ in _pair(anthropic, task.task_id)] == [Role.USER, Role.ASSISTANT]


def test_duplicates_delivered_at_once_to_two_containers_run_once(
    worker: Worker, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given two worker containers, and Claude slow enough for their deliveries to overlap
    twin = worker.twin()
    overrides: dict[str, Any] = {"claude_backend": "anthropic", "anthropic_base_url": stub.url}
    store = worker.use(**overrides)
    twin.use(**overrides)
    stub.script(Reply(text="Only once.", delay_s=0.5), Reply(text="A second answer.", delay_s=0.5))
    task = make_task()
    event = retarget(load_event("task-run-batch"), [task])
    # When both receive the same message at the same time
    responses: list[Any] = []
    threads = [threading.Thread(target=lambda w=w: responses.append(w.invoke(event))) for w in (worker, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Then both acknowledge it, only one lease holder asked Claude, and one pair was written
    assert [failed_ids(r) for r in responses] == [set(), set()]
    assert len(stub.requests) == 1
    assert _pair(store, task.task_id) == [(Role.USER, task.prompt), (Role.ASSISTANT, "Only once.")]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # the crashed invocation counted none
def test_a_crash_between_the_reply_and_the_write_is_redelivered_into_one_pair(
    worker: Worker, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given Claude (the real SDK at the stub) answering, and the process dying right after the answer
    settings = worker.settings.model_copy(update={"claude_backend": "anthropic", "anthropic_base_url": stub.url})
    claude = ScriptedClaude(AfterReply(Crash()), inner=get_backend("anthropic", settings))
    store = worker.use(claude, lease_seconds=1)  # a lease as short as the crashed invocation's remaining time
    task = make_task()
    event = retarget(load_event("task-run-batch"), [task])
    # When the invocation crashes
    with pytest.raises(Crash):
        worker.invoke(event)
    # Then nothing was recorded, and the task is held by the dead run's lease
    assert _pair(store, task.task_id) == []
    assert store.tasks.load(task.task_id).status is TaskStatus.RUNNING
    # When SQS redelivers the batch after the lease has expired, and once more after that
    time.sleep(1.2)
    assert failed_ids(worker.invoke(redelivered(event, receive_count=2))) == set()
    assert failed_ids(worker.invoke(redelivered(event, receive_count=3))) == set()
    # Then exactly one pair of turns was written
    assert [role for role, _ in _pair(store, task.task_id)] == [Role.USER, Role.ASSISTANT]
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    assert len(stub.requests) == 2


def test_a_write_that_committed_but_whose_answer_was_lost_is_not_written_again(
    worker: Worker, anthropic: Store, stub: AnthropicStub, make_task: MakeTask
) -> None:
    # Given DynamoDB committing the turn's transaction, and the response lost on the way back
    calls = {"transactions": 0}

    def lose_the_second_answer(**_: Any) -> None:
        calls["transactions"] += 1
        if calls["transactions"] == 2:  # the lease is the first, the turn's record the second
            raise ReadTimeoutError(endpoint_url="moto")

    anthropic.connection.client.meta.events.register("after-call.dynamodb.TransactWriteItems", lose_the_second_answer)
    task = make_task()
    event = retarget(load_event("task-run-batch"), [task])
    # When the worker runs the task, and SQS delivers the message again anyway
    first = worker.invoke(event)
    again = worker.invoke(redelivered(event, receive_count=2))
    # Then the lease shows the run ended: both deliveries are acknowledged, with one pair of turns
    assert (failed_ids(first), failed_ids(again)) == (set(), set())
    assert [role for role, _ in _pair(anthropic, task.task_id)] == [Role.USER, Role.ASSISTANT]
    assert anthropic.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    assert len(stub.requests) == 1


def _conflict_on_the_turns_write(worker: Worker, sends: int) -> tuple[Store, ScriptedClaude]:
    """A worker whose Claude, when called, arms DynamoDB to cancel the next `sends` transactions (the turn's
    record, sent again) with a TransactionConflict (moto never does: Stubber); every later call reaches moto."""
    armed = threading.Event()
    answered = {"count": 0}  # transactions answered since Claude armed the stub

    def arm() -> None:
        armed.set()
        stubber.activate()

    claude = ScriptedClaude(arm)
    store = worker.use(claude)
    stubber = Stubber(store.connection.client)
    for _ in range(sends):
        stubber.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled",
            modeled_fields={
                "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}]
            },
        )

    def after(**_: Any) -> None:
        if armed.is_set():
            answered["count"] += 1
        if answered["count"] == sends:
            stubber.deactivate()

    store.connection.client.meta.events.register("after-call.dynamodb.TransactWriteItems", after)
    return store, claude


def test_a_transaction_conflict_on_the_turns_write_is_sent_again_and_claude_is_not_asked_twice(
    worker: Worker, make_task: MakeTask
) -> None:
    # Given DynamoDB cancelling the turn's transaction once for a conflict
    store, claude = _conflict_on_the_turns_write(worker, sends=1)
    task = make_task()
    event = retarget(load_event("task-run-batch"), [task])
    # When the worker runs the task
    response = worker.invoke(event)
    # Then the write is sent again: the record is acknowledged, one pair of turns written, Claude asked once
    assert failed_ids(response) == set()
    assert [role for role, _ in _pair(store, task.task_id)] == [Role.USER, Role.ASSISTANT]
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    assert len(claude.requests) == 1


def test_a_transaction_conflict_outlasting_the_attempts_is_retryable_and_the_redelivery_writes_one_pair(
    worker: Worker, make_task: MakeTask
) -> None:
    # Given DynamoDB cancelling every send of the turn's transaction for a conflict
    store, _ = _conflict_on_the_turns_write(worker, sends=COMMIT_ATTEMPTS)
    task = make_task()
    event = retarget(load_event("task-run-batch"), [task])
    # When the worker runs the task
    response = worker.invoke(event)
    # Then the record fails for redelivery, the task is queued with the attempt counted, nothing written
    assert failed_ids(response) == {event["Records"][0]["messageId"]}
    queued = store.tasks.load(task.task_id)
    assert (queued.status, queued.attempts, queued.interaction_count) == (TaskStatus.QUEUED, 1, 0)
    # When SQS redelivers it
    assert failed_ids(worker.invoke(redelivered(event, receive_count=2))) == set()
    # Then one pair of turns is written
    assert [role for role, _ in _pair(store, task.task_id)] == [Role.USER, Role.ASSISTANT]
