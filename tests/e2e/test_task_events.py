"""Task events on the local stack: the tasks table's stream, the same functions as in AWS, the local bus."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from claude_tasks_dev.cli import main
from claude_tasks_dev.cli.client import ApiClient
from tests.e2e.local_stack import RunningStack, finished, wait_until

WAIT_S = 30


def _replies(stack: RunningStack, queue_url: str) -> list[dict[str, Any]]:
    messages = stack.sqs().receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_task_create_with_reply_to_gets_its_result_on_that_queue(
    stack: RunningStack, api: ApiClient, principal: str, session: dict[str, Any]
) -> None:
    # Given a pipeline's own queue, named under the reply prefix, and its task.create naming it
    reply_queue = stack.sqs().create_queue(QueueName=f"claude-tasks-reply-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    key = f"pipeline-{uuid.uuid4()}"
    message = {
        "type": "task.create",
        "session_id": session["session_id"],
        "owner": principal,
        "prompt": "Posted by a pipeline that wants its answer back",
        "idempotency_key": key,
        "reply_to": reply_queue,
    }
    # When it is posted straight to the task queue
    stack.sqs().send_message(QueueUrl=stack.info["queues"]["task_queue_url"], MessageBody=json.dumps(message))
    # Then the queue receives the task's terminal event: its ids, how it ended, where to read the reply
    (reply,) = wait_until(lambda: _replies(stack, reply_queue), WAIT_S, "the reply message")
    assert (reply["status"], reply["previous_status"], reply["owner"]) == ("succeeded", "running", principal)
    assert reply["idempotency_key"] == key and reply["reply_to"] == reply_queue
    assert reply["links"]["interactions"] == f"/tasks/{reply['task_id']}/interactions"
    assert "Posted by a pipeline" not in json.dumps(reply)
    # And that task is the one the API shows, ended
    assert api.call("GET", f"/tasks/{reply['task_id']}")["status"] == "succeeded"


def test_events_tail_prints_a_tasks_status_changes_as_the_local_bus_received_them(
    stack: RunningStack, api: ApiClient, principal: str, session: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a task run to its end through the API, then deleted
    task = api.call("POST", f"/sessions/{session['session_id']}/tasks", {"prompt": "Hello, events"})
    wait_until(finished(api, task["task_id"]), WAIT_S, "the run")
    api.call("DELETE", f"/tasks/{task['task_id']}")

    def tail() -> list[dict[str, Any]] | None:
        capsys.readouterr()
        code = main(["--stack-file", str(stack.stack_file), "--json", "events", "tail", "--task", task["task_id"]])
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return events if code == 0 and len(events) == 4 else None

    # When `claude-tasks events tail` reads the local bus
    events = wait_until(tail, WAIT_S, "four events of the task")
    # Then it shows each status change once, in order, then the deletion
    assert [e["detail-type"] for e in events] == ["Task Queued", "Task Running", "Task Succeeded", "Task Deleted"]
    assert {e["source"] for e in events} == {"claude-task-server"}
    assert {e["detail"]["owner"] for e in events} == {principal}
    assert len({e["detail"]["event_id"] for e in events}) == 4
