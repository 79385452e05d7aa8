"""`reply_to` on a `task.create`: kept on the task when the deployment may send to the queue, refused otherwise."""

from __future__ import annotations

import boto3
import pytest

from claude_tasks.core.records import Session
from claude_tasks.store import Store
from tests.support.claude_double import ScriptedClaude
from tests.support.tables import counts
from tests.support.worker import Worker, failed_ids
from tests.unit.worker.conftest import Run


def _create(session: Session, reply_to: str, key: str = "pipeline-1") -> dict[str, str]:
    return {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": session.owner,
        "prompt": "Summarise the build log",
        "idempotency_key": key,
        "reply_to": reply_to,
    }


def test_a_reply_queue_under_the_prefix_is_kept_on_the_task(
    run: Run, claude: ScriptedClaude, worker: Worker, store: Store, session: Session
) -> None:
    # Given a queue of this account named under the deployment's prefix
    sqs = boto3.client("sqs", region_name=worker.settings.region)
    queue = sqs.create_queue(QueueName="claude-tasks-reply-nightly")["QueueUrl"]
    # When a pipeline's task.create names it
    response = run(body=_create(session, queue))
    # Then the task is created and run, and remembers where its result goes
    assert failed_ids(response) == set()
    (task,) = store.tasks.list_for_session(session.owner, session.session_id, None, 10, None).items
    assert store.tasks.load(task.task_id).reply_to == queue


@pytest.mark.parametrize(
    ("reply_to", "reason"),
    [
        ("https://sqs.us-east-1.amazonaws.com/123456789012/not-a-reply-queue", "starts with 'claude-tasks-reply-'"),
        ("https://sqs.us-east-1.amazonaws.com/999999999999/claude-tasks-reply-x", "of this service's account"),
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/claude-tasks-reply-x", "of this service's account"),
        ("https://sqs.us-east-1.amazonaws.com/123456789012/claude-tasks-reply-x.fifo", "standard queue"),
        ("not a url", "of this service's account"),
    ],
)
def test_a_reply_queue_outside_the_prefix_or_account_is_refused_with_the_reason(
    run: Run, claude: ScriptedClaude, caplog: pytest.LogCaptureFixture, session: Session, reply_to: str, reason: str
) -> None:
    # Given a task.create naming a queue the deployment may not send to
    # When the worker receives it
    response = run(body=_create(session, reply_to))
    # Then the record fails (to the DLQ after its receives) saying why, and no task is made
    assert len(failed_ids(response)) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "record not acknowledged"]
    assert logged.__dict__["kind"] == "MessageRejected" and reason in logged.__dict__["reason"]
    assert counts()["tasks"] == 0 and claude.requests == []


def test_a_deployment_without_a_prefix_refuses_every_reply_queue(
    run: Run, claude: ScriptedClaude, worker: Worker, caplog: pytest.LogCaptureFixture, session: Session
) -> None:
    # Given a deployment whose reply prefix is empty
    worker.use(claude, reply_queue_prefix="")
    # When a task.create names a queue
    response = run(body=_create(session, "https://sqs.us-east-1.amazonaws.com/123456789012/claude-tasks-reply-x"))
    # Then it is refused, saying to leave reply_to out
    assert len(failed_ids(response)) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "record not acknowledged"]
    assert "leave out reply_to" in logged.__dict__["reason"]
