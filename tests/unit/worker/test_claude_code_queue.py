"""Where Claude Code tasks run when the deployment gives them their own queue (in AWS, the container worker's):
the API sends them there, a pipeline's task.create reaching the zip worker is handed over, other tasks stay."""

from __future__ import annotations

from typing import Any

import boto3

from claude_tasks.app.messages import TaskRun
from claude_tasks.app.queue import TaskQueue
from claude_tasks.app.service import TaskService
from claude_tasks.core.config import Settings
from claude_tasks.core.records import NewTask, Session, TaskStatus
from claude_tasks.store import Store
from tests.support.claude_double import ScriptedClaude
from tests.support.tables import counts
from tests.support.worker import Worker, failed_ids
from tests.unit.worker.conftest import Run


def _queues(settings: Settings) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name=settings.region)
    return sqs, sqs.create_queue(QueueName="claude-tasks-claude-code")["QueueUrl"]


def _runs(sqs: Any, url: str) -> list[TaskRun]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [TaskRun.model_validate_json(m["Body"]) for m in messages]


def test_the_api_sends_claude_code_tasks_to_their_queue_and_others_to_the_task_queue(
    settings: Settings, session: Session
) -> None:
    # Given a deployment with a Claude Code queue
    sqs, claude_code = _queues(settings)
    configured = settings.model_copy(
        update={"claude_code_queue_url": claude_code, "enabled_backends": "offline,claude-code"}
    )
    service = TaskService(Store(configured), TaskQueue(configured))
    sqs.purge_queue(QueueUrl=settings.task_queue_url)
    # When a claude-code task and an offline task are created
    agent = service.create_task("alice", session.session_id, NewTask(prompt="edit", backend="claude-code"), None)
    chat = service.create_task("alice", session.session_id, NewTask(prompt="chat"), None)
    # Then each run went to the queue of the worker that runs its backend
    assert [m.task_id for m in _runs(sqs, claude_code)] == [agent.task_id]
    assert [m.task_id for m in _runs(sqs, settings.task_queue_url)] == [chat.task_id]


def test_a_claude_code_task_create_reaching_the_zip_worker_is_handed_to_the_claude_code_queue(
    worker: Worker, run: Run, store: Store, session: Session
) -> None:
    # Given the zip worker of a deployment with a Claude Code queue
    sqs, claude_code = _queues(worker.settings)
    claude = ScriptedClaude()
    worker.use(claude, claude_code_queue_url=claude_code, enabled_backends="offline,claude-code")
    body = {
        "type": "task.create",
        "session_id": session.session_id,
        "owner": session.owner,
        "prompt": "Fix the tests",
        "idempotency_key": "pipeline-7",
        "backend": "claude-code",
    }
    # When a pipeline's claude-code task.create reaches it
    response = run(body=body)
    # Then the task was created, queued, not run here, and its run is on the Claude Code queue
    assert failed_ids(response) == set()
    (task,) = store.tasks.list_for_session(session.owner, session.session_id, None, 10, None).items
    assert (task.status, task.interaction_count, claude.requests) == (TaskStatus.QUEUED, 0, [])
    assert [m.task_id for m in _runs(sqs, claude_code)] == [task.task_id]
    assert counts()["tasks"] == 1
