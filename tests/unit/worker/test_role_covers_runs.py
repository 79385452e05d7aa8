"""A task run's AWS calls are granted to the worker's role (tests/unit/test_template_iam.py holds the role's
grants to the template): a new code path the role does not allow fails here, not with AccessDenied in AWS."""

from __future__ import annotations

from claude_tasks.core.config import Settings
from claude_tasks.core.records import TaskStatus
from claude_tasks.store import Store
from tests.support.aws_calls import recorded
from tests.support.claude_double import ScriptedClaude
from tests.support.worker import Worker
from tests.unit.test_template_iam import GRANTS
from tests.unit.worker.conftest import MakeTask, Run

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
