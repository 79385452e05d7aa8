"""A task run's AWS calls are granted to the worker's role (tests/unit/test_template_iam.py holds the role's
grants to the template): a new code path the role does not allow fails here, not with AccessDenied in AWS."""

from __future__ import annotations

from claude_tasks.core.config import Settings
from claude_tasks.core.records import TaskStatus
from claude_tasks.core.usage import QuotaOverride
from claude_tasks.store import Store
from tests.support.aws_calls import recorded
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker
from tests.unit.test_template_iam import GRANTS
from tests.unit.worker.conftest import MakeTask, Run
from tests.unit.worker.test_over_quota_hold import received_create

GRANTED = set(GRANTS["WorkerFunctionRole"])


def test_a_run_with_a_follow_up_calls_only_what_the_role_grants(
    run: Run, make_task: MakeTask, worker: Worker, store: Store, settings: Settings
) -> None:
    # Given: a queued task with a follow-up waiting, the first reply too long to keep in its item (S3)
    task = make_task("Say hello")
    store.transitions.follow_up(task.owner, task.task_id, "And goodbye")
    worker.use(ScriptedClaude("x" * (settings.inline_content_limit + 1), "Goodbye."))

    # When: the worker runs it, its AWS calls recorded
    with recorded(settings) as needed:
        response = run(task)

    # Then: the run ended, and the role allows every call it made
    assert response == {"batchItemFailures": []}
    assert store.tasks.load(task.task_id).status is TaskStatus.SUCCEEDED
    assert {("dynamodb:UpdateItem", "TasksTable"), ("s3:PutObject", "ContentBucket/*")} <= needed
    assert sorted(needed - GRANTED) == []


def test_a_task_create_held_back_over_its_quota_calls_only_what_the_role_grants(
    worker: Worker, store: Store, settings: Settings, make_task: MakeTask
) -> None:
    # Given: alice allowed one active task, one queued, and her task.create received from the task queue
    store.usage.set_quota("alice", QuotaOverride(max_active_tasks=1))
    task = make_task("first")
    event = received_create(settings, store.sessions.get("alice", task.session_id))

    # When: the worker handles it, its AWS calls recorded
    with recorded(settings) as needed:
        response = worker.invoke(event)

    # Then: it is held back (ChangeMessageVisibility on the task queue), and the role allows every call
    assert len(response["batchItemFailures"]) == 1
    assert ("sqs:ChangeMessageVisibility", "TaskQueue") in needed
    assert sorted(needed - GRANTED) == []
