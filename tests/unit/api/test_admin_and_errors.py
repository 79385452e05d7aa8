"""GET /admin/consistency, and the problem responses every route shares."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from claude_tasks.app.janitor import Janitor
from claude_tasks.app.queue import TaskQueue
from claude_tasks.app.service import TaskService
from claude_tasks.core.config import Settings
from claude_tasks.core.errors import TransientStoreError
from claude_tasks.core.records import Task
from claude_tasks.store import Store
from tests.support.http_api import http_event, invoke
from tests.unit.api.conftest import Call


def test_the_consistency_report_is_403_for_a_non_admin(call: Call, configure: Callable[..., Settings]) -> None:
    # Given: only root is an admin
    configure(admin_principals="root")
    # When
    result = call("get_consistency", owner="alice")
    # Then
    assert result.status == 403
    assert result.json()["type"] == "urn:claude-tasks:problem:forbidden"


def test_the_consistency_report_is_404_until_a_full_check_completed(
    call: Call, configure: Callable[..., Settings], task: Task
) -> None:
    # Given: alice is an admin, and the janitor has not completed a full check yet
    configure(admin_principals="alice")
    # When
    result = call("get_consistency", owner="alice")
    # Then: no report, and the problem says when there will be one
    assert result.status == 404
    assert "FullCheckSchedule" in result.json()["detail"]


def test_the_consistency_report_served_is_the_janitors_last_completed_one(
    call: Call, configure: Callable[..., Settings], store: Store, settings: Settings, task: Task
) -> None:
    # Given: alice is one of the admins, and the janitor completed a full check
    configure(admin_principals="root, alice")
    completed = Janitor(store, TaskQueue(settings)).run(start_full_check=True, budget_s=60).report
    assert completed is not None
    # When
    result = call("get_consistency", owner="alice")
    # Then: that report, the figures of the stored data, and no violation
    report = result.json()
    assert result.status == 200
    assert report["total_sessions"] == 1 and report["total_tasks"] == 1 and report["violations"] == []
    assert report["completed_at"] == completed.completed_at


def test_the_consistency_report_needs_a_principal(call: Call) -> None:
    # When
    result = call("get_consistency", owner=None)
    # Then
    assert result.status == 401


def test_a_path_no_route_matches_is_a_404_problem(api: ModuleType, configure: Callable[..., Settings]) -> None:
    # Given: an event for a path nobody serves
    event = http_event("get_task")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/nothing/here"
    # When
    result = invoke(api.lambda_handler, event)
    # Then
    assert result.status == 404
    assert result.json()["type"] == "urn:claude-tasks:problem:no-such-route"


def test_an_unexpected_error_is_a_500_problem_without_internals(
    call: Call, task: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: the service hits a bug
    def broken(*_: object) -> None:
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr(TaskService, "task", broken)
    # When
    result = call("get_task", path={"task_id": task.task_id})
    # Then: a problem that says nothing of the code
    assert result.status == 500
    assert result.header("Content-Type") == "application/problem+json"
    assert "secret" not in result.body and "Traceback" not in result.body


def test_a_transient_store_error_is_503_with_retry_after(
    call: Call, task: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: DynamoDB is throttling
    def throttled(*_: object) -> None:
        raise TransientStoreError("DynamoDB is busy (ThrottlingException); try again")

    monkeypatch.setattr(TaskService, "cancel", throttled)
    # When
    result = call("cancel_task", path={"task_id": task.task_id})
    # Then
    assert result.status == 503
    assert result.header("Retry-After") == "1"


def test_a_body_that_is_not_json_by_content_type_is_415(call: Call, task: Task) -> None:
    # When
    result = call("send_message", path={"task_id": task.task_id}, body="prompt", headers={"content-type": "text/plain"})
    # Then
    assert result.status == 415
