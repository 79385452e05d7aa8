"""Every route's AWS calls are granted to the API function's role (tests/unit/test_template_iam.py holds the
role's grants to the template): a new code path that calls DynamoDB, SQS or S3 in a way the role does not
allow fails here, not with AccessDenied in AWS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Task, TaskStatus
from claude_tasks.store import Store
from tests.support.aws_calls import recorded
from tests.unit.api.conftest import Call
from tests.unit.api.test_every_route import SAMPLES, _body, _expected, _ids
from tests.unit.test_template_iam import GRANTS

GRANTED = set(GRANTS["ApiFunctionRole"])
# Answered from the code and the settings alone.
AWS_FREE = {"get_openapi", "get_capabilities"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_route_calls_only_what_the_role_grants(
    call: Call,
    configure: Callable[..., Settings],
    store: Store,
    task: Task,
    put_in_state: Callable[..., Task],
    name: str,
) -> None:
    # Given: alice's task (failed, for retry to run on), and alice an admin (for the report the janitor made)
    settings = configure(admin_principals="alice")
    if name == "retry_task":
        put_in_state(task, TaskStatus.FAILED)
    if name == "get_consistency":
        Janitor(store, TaskQueue(store.settings)).run(start_full_check=True, budget_s=60)

    # When: the route's sample event is handled, its AWS calls recorded
    with recorded(settings) as needed:
        result = call(name, owner="alice", path=_ids(name, task) or None, **_body(name, task))

    # Then: it succeeded, and the role allows every call it made
    assert result.status == _expected(name), result.body
    assert needed or name in AWS_FREE, "no AWS call recorded: is the recorder still on botocore's call path?"
    assert sorted(needed - GRANTED) == []


def test_deleting_a_session_with_its_tasks_calls_only_what_the_role_grants(
    call: Call, configure: Callable[..., Settings], task: Task, put_in_state: Callable[..., Task]
) -> None:
    # Given: alice's session with a finished task
    settings = configure()
    put_in_state(task, TaskStatus.SUCCEEDED)

    # When: the session is deleted with its tasks
    with recorded(settings) as needed:
        result = call("delete_session", owner="alice", path={"session_id": task.session_id}, query={"cascade": "true"})

    # Then
    assert result.status == 204, result.body
    assert ("dynamodb:BatchWriteItem", "InteractionsTable") in needed or ("dynamodb:DeleteItem", "TasksTable") in needed
    assert sorted(needed - GRANTED) == []


def test_recounting_an_owner_calls_only_what_the_role_grants(
    call: Call, configure: Callable[..., Settings], task: Task
) -> None:
    # Given: alice an admin, with a task (the sample recounts a session; this names the owner instead)
    settings = configure(admin_principals="alice")

    # When: her counters are recounted
    with recorded(settings) as needed:
        result = call("recount_counters", owner="alice", body={"owner": "alice"})

    # Then: it listed her tasks by the owner index and read her total, all granted
    assert result.status == 200, result.body
    assert {("dynamodb:Query", "TasksTable/index/by-owner"), ("dynamodb:GetItem", "UsageTable")} <= needed
    assert sorted(needed - GRANTED) == []
