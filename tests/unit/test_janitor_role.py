"""The janitor's AWS calls are granted to its role (tests/unit/test_template_iam.py holds the role's grants
to the template): a new duty the role does not allow fails here, not with AccessDenied in AWS."""

from __future__ import annotations

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.clock import iso_in
from claude_tasks.core.config import Settings
from claude_tasks.store import Store
from claude_tasks.store.models import SessionModel, TaskModel
from tests.conftest import SessionFactory, TaskFactory
from tests.support.aws_calls import recorded
from tests.unit.test_template_iam import GRANTS

GRANTED = set(GRANTS["JanitorFunctionRole"])


def test_every_duty_calls_only_what_the_role_grants(
    store: Store, settings: Settings, session_factory: SessionFactory, task_factory: TaskFactory
) -> None:
    # Given: an old empty session (an orphan), and a task queued long ago (stuck)
    orphan = session_factory()
    SessionModel.get(orphan.session_id).update(actions=[SessionModel.updated_at.set(iso_in(-48 * 3600))])
    stuck = task_factory(session_factory())
    TaskModel.get(stuck.task_id).update(actions=[TaskModel.updated_at.set(iso_in(-3600))])

    # When: the janitor runs its frequent duties, then a full check to its end, its AWS calls recorded
    janitor = Janitor(store, TaskQueue(settings))  # metrics are EMF lines on stdout, no AWS call
    with recorded(settings) as needed:
        run = janitor.run()
        full = janitor.run(start_full_check=True, budget_s=600)

    # Then: it did its work, and the role allows every call it made
    assert (run.orphans_deleted, run.tasks_requeued) == (1, 1)
    assert full.report is not None
    assert {
        ("dynamodb:Query", "SessionsTable/index/by-idle-shard"),
        ("dynamodb:Scan", "SessionsTable"),
        ("dynamodb:PutItem", "AuditTable"),
        ("sqs:SendMessage", "TaskQueue"),
    } <= needed
    assert sorted(needed - GRANTED) == []
