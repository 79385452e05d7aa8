"""Whole batches: poison records fail alone, task.create makes each task once, records run concurrently."""

from __future__ import annotations

import json
import threading

import pytest

from claude_tasks.core.records import Role, TaskStatus
from claude_tasks.store.models import TaskModel
from tests.conftest import SessionFactory
from tests.integration.worker.conftest import MakeTask
from tests.support.claude_double import ScriptedClaude
from tests.support.tables import counts, task_count
from tests.support.worker import (
    Worker,
    failed_ids,
    for_session,
    load_event,
    message_ids,
    redelivered,
    retarget,
    run_body,
    with_bodies,
)


def test_a_poison_batch_fails_only_its_poison_records(
    worker: Worker, make_task: MakeTask, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the poison batch: two good task.run records among non-JSON, unknown-type and incomplete ones
    store = worker.use(ScriptedClaude())
    good = [make_task("first"), make_task("second")]
    event = retarget(load_event("poison-batch"), good)
    # When the worker processes it
    response = worker.invoke(event)
    # Then batchItemFailures names exactly the three poison records
    assert failed_ids(response) == message_ids(event, 1, 2, 3)
    # And the good tasks ran to the end
    assert [store.tasks.load(t.task_id).status for t in good] == [TaskStatus.SUCCEEDED] * 2
    # And each rejection was logged with its reason
    reasons = sorted(r.__dict__["reason"] for r in caplog.records if r.getMessage() == "record not acknowledged")
    assert [reason.split(": ", 1)[0] for reason in reasons] == ["invalid task message"] * 3
    assert any("Invalid JSON" in r for r in reasons) and any("task.explode" in r for r in reasons)
    assert any("task_id: Field required" in r for r in reasons)


def test_task_create_records_make_each_task_once_and_run_it(worker: Worker, session_factory: SessionFactory) -> None:
    # Given the task.create batch aimed at a session of the pipeline's owner
    store = worker.use(ScriptedClaude())
    session = session_factory(owner="pipeline-user")
    event = for_session(load_event("task-create-batch"), session)
    # When the worker processes it, and SQS delivers the same batch again
    assert failed_ids(worker.invoke(event)) == set()
    assert failed_ids(worker.invoke(redelivered(event, receive_count=2))) == set()
    # Then each idempotency key made one task, in that session, run once
    tasks = [store.tasks.load(item.task_id) for item in TaskModel.scan()]
    assert sorted(t.prompt for t in tasks) == sorted(json.loads(r["body"])["prompt"] for r in event["Records"])
    assert task_count(session.session_id) == 2
    for task in tasks:
        assert (task.status, task.session_id, task.owner) == (TaskStatus.SUCCEEDED, session.session_id, "pipeline-user")
        assert [t.role for t in store.interactions.all(task.task_id)] == [Role.USER, Role.ASSISTANT]
    # And the fields the message carried are on the task
    summarised = next(t for t in tasks if t.prompt.startswith("Summarise"))
    carried = (summarised.model, summarised.system, summarised.limits.max_turns)
    assert carried == ("claude-sonnet-4-5", "Answer briefly.", 4)


@pytest.mark.parametrize("owner", ["someone-else", None])
def test_task_create_for_a_missing_or_foreign_session_fails_the_record(
    worker: Worker, session_factory: SessionFactory, owner: str | None
) -> None:
    # Given a task.create naming another owner's session, or a session that does not exist
    claude = ScriptedClaude()
    worker.use(claude)
    event = for_session(load_event("task-create-batch"), session_factory(owner="pipeline-user"))
    body = json.loads(event["Records"][0]["body"])
    body.update({"owner": owner} if owner else {"session_id": "no-such-session"})
    event["Records"][0]["body"] = json.dumps(body)
    # When the worker processes it
    response = worker.invoke(event)
    # Then that record fails with the session's reason, and no task was made for it
    assert failed_ids(response) == message_ids(event, 0)
    assert counts()["tasks"] == 1  # the batch's other, valid record
    assert len(claude.requests) == 1


def test_the_records_of_a_batch_run_at_the_same_time(worker: Worker, make_task: MakeTask) -> None:
    # Given three tasks, and a Claude that answers only once all three calls are in flight together
    barrier = threading.Barrier(3, timeout=10)
    store = worker.use(ScriptedClaude(barrier.wait, barrier.wait, barrier.wait))
    tasks = [make_task(f"prompt {n}") for n in range(3)]
    event = with_bodies(load_event("task-run-batch"), [run_body(t) for t in tasks])
    # When the worker processes the batch
    response = worker.invoke(event)
    # Then no call waited for another to finish (the barrier would have broken), and all succeeded
    assert failed_ids(response) == set()
    assert [store.tasks.load(t.task_id).status for t in tasks] == [TaskStatus.SUCCEEDED] * 3
