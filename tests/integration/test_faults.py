"""Issue 14's fault list, each fault mapped to the test that makes it; the new ones are in this module.

The new tests run the real handlers (API, worker, janitor) on moto server over HTTP, Claude through the
real `anthropic` SDK against the local Messages API stub; faults are made only at the AWS/HTTP boundary
(`tests/support/aws_faults.py`: moto answers a chosen request with DynamoDB's or SQS's own error).

Each fault of the list, and where it is made:

- **SendMessage failing after the commit**: `tests/unit/test_enqueue.py` (a 503 naming the task; a
  replay with the same Idempotency-Key sends its run; a refused connection retried by botocore); here
  `test_a_run_that_could_not_be_sent_is_a_503_and_the_janitor_gets_it_run` (create, follow-up, retry,
  fork: a 503, then the janitor re-queues the task and the worker runs it).
- **A crash between the Claude call and the write**: `tests/integration/worker/test_duplicates.py`
  (`test_a_crash_between_the_reply_and_the_write_is_redelivered_into_one_pair`, the real SDK at the
  stub; `test_a_write_that_committed_but_whose_answer_was_lost_is_not_written_again`);
  `tests/unit/worker/test_crashes.py` (each takeover counts an attempt; a run killed on every delivery
  ends failed).
- **Throttling and TransactionConflict on each write**: here
  `test_a_fault_on_each_write_of_an_api_operation_is_a_503_and_its_retry_completes` (every DynamoDB
  write of nine API operations, each in turn, with each fault) and
  `test_a_fault_on_each_write_of_a_task_run_is_redelivered_into_one_pair` (a conflict on every send of a
  transaction: `Transaction.commit` sends it again, then gives up); a conflict on a transaction's first send
  only is absorbed (`test_a_conflict_on_the_first_send_of_each_transaction_of_an_api_operation_is_absorbed`,
  `..._of_a_task_run_is_absorbed`, and one owner's ten runs at once in
  `tests/integration/worker/test_owner_conflicts.py`); besides,
  `tests/unit/test_transaction_faults.py` (conflicts on create and cancel, sent again; request tokens),
  `tests/unit/test_repositories_translate_faults.py` (every repository method turns throttling and
  timeouts into `TransientStoreError`) and `tests/integration/worker/test_duplicates.py`
  (a conflict on the turn's write sent again; one outlasting the sends redelivered into one pair).
  Beyond the list, `test_a_write_that_committed_with_its_answer_lost_is_a_503_and_its_retry_finds_it_done`
  (each write of the same nine operations committed, its answer lost).
- **Claude 429 / 529 / 500 / timeout / 400**: `tests/integration/worker/test_anthropic_backend.py`
  (a 429 retried by the SDK; 529 until the last receive; an overload mid-stream; a 400 fails at once;
  a hang times out); here `test_claude_failing_on_every_receive_fails_the_task_and_dead_letters_its_message`
  (429, 529, 500 and a timeout, through the real queue into the DLQ) and
  `test_claude_refusing_the_request_fails_the_task_at_once_and_dead_letters_nothing` (400).
- **Concurrent duplicate delivery**: `tests/integration/worker/test_duplicates.py`
  (`test_duplicates_delivered_at_once_to_two_containers_run_once`,
  `test_a_duplicate_delivered_after_the_run_writes_nothing`); here
  `test_the_same_run_twice_in_one_batch_runs_once` (the API's message and the janitor's, run at the
  same time by one invocation).
- **A session deleted while its task runs**: `tests/unit/test_repository.py`
  (`test_a_cascade_delete_refuses_a_session_with_a_running_task_before_deleting_anything`,
  `test_a_task_that_starts_running_during_a_cascade_is_not_deleted`); here
  `test_a_session_deleted_while_its_task_runs_is_refused_until_the_run_ends` and
  `test_a_session_deleted_while_its_run_waits_in_the_queue_leaves_nothing_behind`.

Every test here ends with the consistency report finding no violation, and the owner's counters counting
each task once.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import NewTask, Role, Task, TaskStatus
from claude_tasks.store import Store
from claude_tasks.store.audit import consistency_report
from claude_tasks.store.transaction import COMMIT_ATTEMPTS
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision
from tests.support.anthropic_stub import AnthropicStub, Hang, Held, HttpError, Reply, Scripted
from tests.support.aws_faults import (
    ITEM_CONFLICT,
    SEND_MESSAGE,
    SEND_REFUSED,
    THROTTLING,
    TRANSACT_WRITE,
    TRANSACTION_CONFLICT,
    WRITES,
    AwsError,
    AwsFaults,
)
from tests.support.functions import Functions, loaded_functions
from tests.support.tables import tasks_by_status
from tests.support.worker import failed_ids, load_event, redelivered, retarget, run_body, with_bodies

OWNER = "alice"


# The moto server with the fault middleware in front of it (tests/integration/conftest.py).
@pytest.fixture(scope="module")
def moto_server(faulty_aws: EmbeddedAws) -> EmbeddedAws:
    return faulty_aws


@pytest.fixture
def settings(moto_server: EmbeddedAws) -> Settings:
    """One SDK retry of a DynamoDB call (not three): the fault outlasts it either way, and the tests stay quick.
    The janitor re-queues any queued task it finds (`requeue_after_s=0`): its duty, without the wait."""
    moto_server.reset()
    provisioned = provision(moto_server.endpoint_url)
    return provisioned.model_copy(update={"db_max_retries": 1, "requeue_after_s": 0})


@pytest.fixture
def functions(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Functions]:
    yield from loaded_functions(settings, monkeypatch)


@pytest.fixture
def stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as server:
        yield server


@pytest.fixture
def anthropic(functions: Functions, stub: AnthropicStub) -> Store:
    """The worker calling Claude through the anthropic SDK at the stub (the key secret holds a key)."""
    settings = functions.settings
    secrets = boto3.client("secretsmanager", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    secrets.put_secret_value(SecretId=settings.anthropic_secret_id, SecretString="sk-ant-test-key")
    return functions.worker.use(claude_backend="anthropic", anthropic_base_url=stub.url, claude_timeout_s=10.0)


# givens ------------------------------------------------------------------------------------------
def _queued(store: Store, session_id: str | None = None) -> Task:
    session_id = session_id or store.sessions.create(OWNER, "/work/faults").session_id
    return store.tasks.create(OWNER, session_id, NewTask(prompt="Say hello"))


def _ran(functions: Functions, store: Store, session_id: str | None = None) -> Task:
    """A task the real worker ran (offline model): succeeded, two turns."""
    task = _queued(store, session_id)
    assert failed_ids(functions.worker.invoke(retarget(load_event("task-run-batch"), [task]))) == set()
    return store.tasks.load(task.task_id)


def _cancelled(store: Store) -> Task:
    task = _queued(store)
    return store.transitions.cancel(OWNER, task.task_id)


def _key() -> dict[str, str | None]:
    return {"idempotency-key": f"faults-{uuid.uuid4()}"}


@dataclass(frozen=True)
class Operation:
    """An API operation: its sample event, how to make a fresh subject for it, and the request's changes."""

    event: str
    given: Callable[[Functions, Store], Any]
    request: Callable[[Any], dict[str, Any]]
    ok: frozenset[int]


def _on_task(task: Task) -> dict[str, Any]:
    return {"path": {"task_id": task.task_id}}


OPERATIONS = {
    "create session": Operation(
        "create_session", lambda f, s: _key(), lambda key: {"headers": key}, frozenset({200, 201})
    ),
    "create task": Operation(
        "create_task",
        lambda f, s: (s.sessions.create(OWNER, "/work/faults").session_id, _key()),
        lambda given: {"path": {"session_id": given[0]}, "headers": given[1], "body": {"prompt": "Say hello"}},
        frozenset({202}),
    ),
    "follow-up": Operation("send_message", lambda f, s: _ran(f, s), _on_task, frozenset({202})),
    "cancel": Operation("cancel_task", lambda f, s: _queued(s), _on_task, frozenset({200})),
    "retry": Operation("retry_task", lambda f, s: _cancelled(s), _on_task, frozenset({202})),
    "fork": Operation(
        "fork_task", lambda f, s: (_ran(f, s), _key()), lambda g: {**_on_task(g[0]), "headers": g[1]}, frozenset({202})
    ),
    "patch task": Operation("update_task", lambda f, s: _queued(s), _on_task, frozenset({200})),
    "delete task": Operation("delete_task", lambda f, s: _ran(f, s), _on_task, frozenset({204})),
    "delete session (cascade)": Operation(
        "delete_session",
        lambda f, s: _ran(f, s).session_id,
        lambda session_id: {"path": {"session_id": session_id}, "query": {"cascade": "true"}},
        frozenset({204}),
    ),
}


def _error_for(kind: str, target: str) -> AwsError:
    if kind == "throttling":
        return THROTTLING
    return TRANSACTION_CONFLICT if target == TRANSACT_WRITE else ITEM_CONFLICT


def _sends(kind: str, target: str) -> int:
    """The sends a fault on every send of a write answers at least: a transaction cancelled for a conflict
    is sent again by `Transaction.commit` until its attempts are spent."""
    return COMMIT_ATTEMPTS if kind == "conflict" and target == TRANSACT_WRITE else 1


def _writes_of(faults: AwsFaults, action: Callable[[], Any]) -> list[str]:
    """The DynamoDB write requests `action` makes, in order."""
    before = len(faults.served)
    action()
    return [target for target in faults.served[before:] if target in WRITES]


def _clean(store: Store) -> None:
    report = consistency_report(store)
    assert report.violations == [], report.violations
    # And the owner's counters count each task once, in the status it is in
    assert store.usage.for_owner(OWNER).total.tasks == tasks_by_status(OWNER)


# throttling and TransactionConflict on each write ----------------------------------------------
@pytest.mark.parametrize("kind", ["throttling", "conflict"])
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_fault_on_each_write_of_an_api_operation_is_a_503_and_its_retry_completes(
    functions: Functions, store: Store, faults: AwsFaults, name: str, kind: str
) -> None:
    operation = OPERATIONS[name]

    def send(given: Any) -> Any:
        return functions.api(operation.event, owner=OWNER, **operation.request(given))

    # Given the writes the operation makes when nothing fails
    first = operation.given(functions, store)
    writes = _writes_of(faults, lambda: send(first))
    assert writes, f"{name} made no write"
    for index, target in enumerate(writes):
        # When DynamoDB answers its write number `index` with the fault, and every send of it again
        # (botocore's retries, and ours of a transaction cancelled for a conflict)
        given = operation.given(functions, store)
        faults.fail(WRITES, _error_for(kind, target), skip=index, attempts=None)
        refused = send(given)
        assert faults.clear() >= _sends(kind, target), f"{name}: write {index} ({target}) was not made"
        # Then the caller is told to try again: a 503 with Retry-After, never a 500
        assert (refused.status, refused.header("retry-after") is not None) == (503, True), (index, refused.body)
        # And the same request sent again completes
        again = send(given)
        assert again.status in operation.ok, (index, target, again.status, again.body)
        # And no invariant was broken on the way
        _clean(store)


# The operations that write with a transaction (a session is created with one PutItem).
TRANSACTIONAL = [name for name in OPERATIONS if name != "create session"]


@pytest.mark.parametrize("name", TRANSACTIONAL)
def test_a_conflict_on_the_first_send_of_each_transaction_of_an_api_operation_is_absorbed(
    functions: Functions, store: Store, faults: AwsFaults, name: str
) -> None:
    operation = OPERATIONS[name]

    def send(given: Any) -> Any:
        return functions.api(operation.event, owner=OWNER, **operation.request(given))

    # Given the transactions the operation makes when nothing fails
    first = operation.given(functions, store)
    transactions = [i for i, target in enumerate(_writes_of(faults, lambda: send(first))) if target == TRANSACT_WRITE]
    assert transactions, f"{name} made no transaction"
    for index in transactions:
        # When DynamoDB cancels the first send of its write number `index` for a conflict, and no later send
        given = operation.given(functions, store)
        faults.fail(WRITES, TRANSACTION_CONFLICT, skip=index, attempts=1)
        answer = send(given)
        assert faults.clear() == 1, f"{name}: write {index} was not made"
        # Then the operation succeeds, its transaction sent again and written once (the counters say so)
        assert answer.status in operation.ok, (index, answer.status, answer.body)
        _clean(store)


def test_a_conflict_on_the_first_send_of_each_transaction_of_a_task_run_is_absorbed(
    functions: Functions, store: Store, faults: AwsFaults
) -> None:
    worker = functions.worker
    worker.use()  # the offline model
    first = _queued(store)
    writes = _writes_of(faults, lambda: worker.invoke(retarget(load_event("task-run-batch"), [first])))
    for index in [i for i, target in enumerate(writes) if target == TRANSACT_WRITE]:
        # Given a queued task, and DynamoDB cancelling the first send of the run's write number `index`
        task = _queued(store)
        faults.fail(WRITES, TRANSACTION_CONFLICT, skip=index, attempts=1)
        # When the worker receives its message
        response = worker.invoke(retarget(load_event("task-run-batch"), [task]))
        assert faults.clear() == 1
        # Then the record is acknowledged at once, with one pair of turns, the counters moved once
        assert failed_ids(response) == set(), index
        assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED, index
        assert [t.role for t in store.interactions.all(task.task_id)] == [Role.USER, Role.ASSISTANT]
        _clean(store)


# What the same request answers once its first attempt did commit: the operation is done (a delete finds nothing
# left, a cancel or retry finds the task already moved); every other operation answers as the first time.
DONE_ALREADY = {"cancel": 409, "retry": 409, "delete task": 404, "delete session (cascade)": 404}
LOST_ANSWER = AwsError(500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error")


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_write_that_committed_with_its_answer_lost_is_a_503_and_its_retry_finds_it_done(
    functions: Functions, store: Store, faults: AwsFaults, name: str
) -> None:
    operation = OPERATIONS[name]

    def send(given: Any) -> Any:
        return functions.api(operation.event, owner=OWNER, **operation.request(given))

    first = operation.given(functions, store)
    writes = _writes_of(faults, lambda: send(first))
    for index, target in enumerate(writes):
        # When DynamoDB commits the operation's write number `index` but its answer (and the SDK's retry's) is lost
        given = operation.given(functions, store)
        faults.fail(WRITES, LOST_ANSWER, skip=index, after=True)
        refused = send(given)
        assert faults.clear() >= 1, f"{name}: write {index} ({target}) was not made"
        # Then the caller is told to try again, never a 500
        assert refused.status == 503, (index, target, refused.body)
        # And the same request sent again completes, or finds its work done
        again = send(given)
        assert again.status in operation.ok | {DONE_ALREADY.get(name, 0)}, (index, target, again.status, again.body)
        # And no invariant was broken on the way
        _clean(store)


def test_a_fault_on_each_write_of_a_task_run_is_redelivered_into_one_pair(
    functions: Functions, store: Store, faults: AwsFaults
) -> None:
    worker = functions.worker
    worker.use()  # the offline model: the run's own writes are what is under test
    first = _queued(store)
    writes = _writes_of(faults, lambda: worker.invoke(retarget(load_event("task-run-batch"), [first])))
    for index, target in enumerate(writes):
        for kind in ("throttling", "conflict"):
            # Given a queued task, and DynamoDB failing the run's write number `index`
            task = _queued(store)
            event = retarget(load_event("task-run-batch"), [task])
            faults.fail(WRITES, _error_for(kind, target), skip=index, attempts=None)
            # When the worker receives its message
            first = worker.invoke(event)
            assert faults.clear() >= _sends(kind, target)
            # Then the record is reported failed for SQS to deliver again, and the redelivery completes it
            assert failed_ids(first) == {event["Records"][0]["messageId"]}, (index, kind)
            assert failed_ids(worker.invoke(redelivered(event, receive_count=2))) == set(), (index, kind)
            # With exactly one pair of turns, and no invariant broken
            after = store.tasks.load(task.task_id)
            assert after.status is TaskStatus.SUCCEEDED, (index, kind, after)
            assert [t.role for t in store.interactions.all(task.task_id)] == [Role.USER, Role.ASSISTANT]
    _clean(store)


# SendMessage failing after the commit -----------------------------------------------------------
SENDS = {
    "create task": OPERATIONS["create task"],
    "follow-up": OPERATIONS["follow-up"],
    "retry": OPERATIONS["retry"],
    "fork": OPERATIONS["fork"],
}


@pytest.mark.parametrize("name", list(SENDS))
def test_a_run_that_could_not_be_sent_is_a_503_and_the_janitor_gets_it_run(
    functions: Functions, store: Store, faults: AwsFaults, name: str
) -> None:
    # Given the subject of the operation, and SQS refusing the API's SendMessage after the write committed
    operation = SENDS[name]
    given = operation.given(functions, store)
    functions.drain()  # nothing else in the queue
    faults.fail(SEND_MESSAGE, SEND_REFUSED)
    # When the operation is sent
    refused = functions.api(operation.event, owner=OWNER, **operation.request(given))
    assert faults.clear() == 1
    # Then the caller is told the task was saved but its run not sent, and which task it is
    assert refused.status == 503, refused.body
    saved = re.match(r"task (\S+) was saved and is queued, but its run could not be sent", refused.json()["detail"])
    assert saved is not None, refused.body
    task_id = saved.group(1)
    assert store.tasks.load(task_id).status is TaskStatus.QUEUED
    assert functions.sqs().receive_message(QueueUrl=functions.settings.task_queue_url).get("Messages") is None
    # When the janitor runs, and the worker takes what is in the queue
    assert functions.janitor()["tasks_requeued"] == 1
    functions.drain()
    # Then the task ran, its turns recorded once each
    done = store.tasks.load(task_id)
    assert done.status is TaskStatus.SUCCEEDED and done.pending_prompts == []
    roles = [t.role for t in store.interactions.all(task_id)]
    assert roles[-2:] == [Role.USER, Role.ASSISTANT] and roles.count(Role.ASSISTANT) == roles.count(Role.USER)
    _clean(store)


# Claude 429 / 529 / 500 / timeout / 400 ---------------------------------------------------------
PERSISTENT: dict[str, Scripted] = {
    "429": HttpError(429, "rate_limit_error", "Rate limited"),
    "529": HttpError(529, "overloaded_error", "Overloaded"),
    "500": HttpError(500, "api_error", "Internal server error"),
    "timeout": Hang(seconds=5),
}


@pytest.mark.parametrize("fault", list(PERSISTENT))
def test_claude_failing_on_every_receive_fails_the_task_and_dead_letters_its_message(
    functions: Functions, anthropic: Store, stub: AnthropicStub, fault: str
) -> None:
    # Given Claude failing every request the same way (a call's deadline 0.5 s), and a task whose run is queued
    functions.worker.use(claude_backend="anthropic", anthropic_base_url=stub.url, claude_timeout_s=0.5)
    stub.otherwise = PERSISTENT[fault]
    task = _queued(anthropic)
    functions.sqs().send_message(QueueUrl=functions.settings.task_queue_url, MessageBody=_json(run_body(task)))
    # When the worker takes the queue's deliveries until it is empty
    functions.drain()
    # Then the task failed on the last receive, saying why, with an error turn and no reply
    failed = anthropic.tasks.load(task.task_id)
    assert failed.status is TaskStatus.FAILED and failed.error, failed
    assert failed.attempts == functions.settings.max_receive_count - 1
    assert [t.role for t in anthropic.interactions.all(task.task_id)] == [Role.ERROR]
    # And its message is in the DLQ, with the worker's reason for it: the Claude error the task failed with
    assert functions.dead_letters() == [_json(run_body(task))]
    [reason] = anthropic.dead_letters.all().values()
    assert failed.error is not None and failed.error.split(" (")[0] in reason.reason, (reason, failed.error)
    _clean(anthropic)


def test_claude_refusing_the_request_fails_the_task_at_once_and_dead_letters_nothing(
    functions: Functions, anthropic: Store, stub: AnthropicStub
) -> None:
    # Given Claude answering 400 to the task's request
    stub.otherwise = HttpError(400, "invalid_request_error", "prompt is too long")
    task = _queued(anthropic)
    functions.sqs().send_message(QueueUrl=functions.settings.task_queue_url, MessageBody=_json(run_body(task)))
    # When the worker takes the queue's deliveries
    functions.drain()
    # Then Claude was asked once, the task failed saying why, and nothing is in the DLQ
    assert len(stub.requests) == 1
    failed = anthropic.tasks.load(task.task_id)
    assert failed.status is TaskStatus.FAILED and "prompt is too long" in (failed.error or "")
    assert functions.dead_letters() == []
    _clean(anthropic)


# concurrent duplicate delivery ------------------------------------------------------------------
def test_the_same_run_twice_in_one_batch_runs_once(functions: Functions, anthropic: Store, stub: AnthropicStub) -> None:
    # Given a task's run sent twice (the API's message and the janitor's), and Claude slow enough to overlap them
    stub.otherwise = Reply(text="Only once.", delay_s=0.3)
    task = _queued(anthropic)
    event = with_bodies(load_event("task-run-batch"), [run_body(task), run_body(task)])
    # When one invocation gets both records, run at the same time
    response = functions.worker.invoke(event)
    # Then both are acknowledged, Claude was asked once, and one pair of turns was written
    assert failed_ids(response) == set()
    assert len(stub.requests) == 1
    turns = [(t.role, t.content) for t in anthropic.interactions.all(task.task_id)]
    assert turns == [(Role.USER, task.prompt), (Role.ASSISTANT, "Only once.")]
    _clean(anthropic)


# a session deleted while its task runs ----------------------------------------------------------
def test_a_session_deleted_while_its_task_runs_is_refused_until_the_run_ends(
    functions: Functions, anthropic: Store, stub: AnthropicStub
) -> None:
    # Given a task whose run is waiting for Claude's answer
    stub.script(Held(Reply(text="Too late.")))
    task = _queued(anthropic)
    event = retarget(load_event("task-run-batch"), [task])
    responses: list[Any] = []
    run = threading.Thread(target=lambda: responses.append(functions.worker.invoke(event)))
    run.start()
    _wait_for(lambda: len(stub.requests) == 1, "Claude to be asked")
    path = {"session_id": task.session_id}
    # When the session is deleted, with and without cascade
    plain = functions.api("delete_session", owner=OWNER, path=path, query={})
    cascade = functions.api("delete_session", owner=OWNER, path=path, query={"cascade": "true"})
    # Then both are refused while the task runs, the cascade naming it, and nothing was deleted
    assert (plain.status, cascade.status) == (409, 409)
    assert task.task_id in cascade.body
    assert anthropic.tasks.load(task.task_id).status is TaskStatus.RUNNING
    # When the caller cancels the task, Claude answers, and the session is deleted with cascade again
    assert functions.api("cancel_task", owner=OWNER, path={"task_id": task.task_id}).status == 200
    stub.release()
    run.join(timeout=30)
    assert failed_ids(responses[0]) == set()
    gone = functions.api("delete_session", owner=OWNER, path=path, query={"cascade": "true"})
    # Then the late reply was never written, and the session and its task are gone
    assert gone.status == 204, gone.body
    assert functions.api("get_task", owner=OWNER, path={"task_id": task.task_id}).status == 404
    # And a redelivery of the run finds nothing to do
    assert failed_ids(functions.worker.invoke(redelivered(event, receive_count=2))) == set()
    assert len(stub.requests) == 1
    _clean(anthropic)


def test_a_session_deleted_while_its_run_waits_in_the_queue_leaves_nothing_behind(
    functions: Functions, store: Store
) -> None:
    # Given a task created through the API, its run in the queue
    functions.worker.use()
    session_id = store.sessions.create(OWNER, "/work/faults").session_id
    created = functions.api("create_task", owner=OWNER, path={"session_id": session_id}, headers=_key())
    assert created.status == 202
    # When the session is deleted with cascade before the worker takes the run
    gone = functions.api("delete_session", owner=OWNER, path={"session_id": session_id}, query={"cascade": "true"})
    assert gone.status == 204
    # Then the worker acknowledges the run with nothing to do, nothing is dead-lettered, and nothing came back
    functions.drain()
    assert functions.dead_letters() == []
    assert functions.api("get_task", owner=OWNER, path={"task_id": created.json()["task_id"]}).status == 404
    report = consistency_report(store)
    assert (report.total_tasks, report.total_interactions, report.violations) == (0, 0, [])


def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 15) -> None:
    done = threading.Event()
    for _ in range(int(timeout_s / 0.02)):
        if check():
            return
        done.wait(0.02)
    pytest.fail(f"timed out waiting for {what}")


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body)
