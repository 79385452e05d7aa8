"""The task queue as pipelines and failures use it: `task.create` straight to SQS, and a poison message."""

from __future__ import annotations

import json
import uuid
from typing import Any

from claude_tasks_dev.cli.client import ApiClient
from tests.e2e.local_stack import RunningStack, finished, wait_until

WAIT_S = 20


def _dlq_bodies(stack: RunningStack) -> list[str]:
    sqs = stack.sqs()
    dlq = stack.info["queues"]["dlq_url"]
    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [m["Body"] for m in messages]


def test_a_task_create_message_posted_to_the_queue_appears_and_completes(
    stack: RunningStack, api: ApiClient, principal: str, session: dict[str, Any]
) -> None:
    # Given a pipeline posts task.create for the principal's session straight to the queue
    message = {
        "type": "task.create",
        "session_id": session["session_id"],
        "owner": principal,
        "prompt": "Posted by a pipeline",
        "idempotency_key": f"pipeline-{uuid.uuid4()}",
    }
    stack.sqs().send_message(QueueUrl=stack.info["queues"]["task_queue_url"], MessageBody=json.dumps(message))
    # When the worker has taken it
    tasks_path = f"/sessions/{session['session_id']}/tasks"
    created = wait_until(lambda: api.call("GET", tasks_path)["items"], WAIT_S, "the task to appear")
    # Then the task exists in that session, and runs to the end
    assert [t["prompt"] for t in created] == ["Posted by a pipeline"]
    assert wait_until(finished(api, created[0]["task_id"]), WAIT_S, "the run")["status"] == "succeeded"


def test_a_poison_message_ends_in_the_dlq_while_the_service_keeps_working(
    stack: RunningStack, api: ApiClient, session: dict[str, Any]
) -> None:
    # Given a message no worker can understand
    poison = f"not json at all {uuid.uuid4()}"
    stack.sqs().send_message(QueueUrl=stack.info["queues"]["task_queue_url"], MessageBody=poison)
    # When a good task is queued behind it
    task = api.call("POST", f"/sessions/{session['session_id']}/tasks", {"prompt": "Still working?"})
    # Then the good task completes, and the poison lands in the DLQ after its redeliveries
    assert wait_until(finished(api, task["task_id"]), WAIT_S, "the good task")["status"] == "succeeded"
    wait_until(lambda: poison in _dlq_bodies(stack), WAIT_S, "the poison message in the DLQ")
    # And the service still answers
    assert api.send("GET", f"/tasks/{task['task_id']}").status == 200
