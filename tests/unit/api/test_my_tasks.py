"""GET /tasks: the caller's tasks across all their sessions, newest first, from the tasks table's by-owner index."""

from __future__ import annotations

from collections.abc import Callable

from claude_tasks.core.records import Task, TaskStatus
from tests.conftest import SessionFactory, TaskFactory
from tests.unit.api.conftest import Call


def test_the_callers_tasks_of_every_session_newest_first_page_by_page(
    call: Call, session_factory: SessionFactory, task_factory: TaskFactory
) -> None:
    # Given: alice's tasks in two sessions, and one of bob's
    first, second = session_factory(), session_factory()
    made = [task_factory(first).task_id, task_factory(second).task_id, task_factory(first).task_id]
    task_factory(session_factory(owner="bob"))
    # When: read two at a time
    page = call("list_my_tasks", query={"limit": "2"}).json()
    rest = call("list_my_tasks", query={"limit": "2", "cursor": page["next_cursor"]}).json()
    # Then: all of alice's, newest first, and none of bob's
    assert [t["task_id"] for t in page["items"] + rest["items"]] == made[::-1]
    assert {t["session_id"] for t in page["items"] + rest["items"]} == {first.session_id, second.session_id}
    assert rest.get("next_cursor") is None


def test_the_status_filter_keeps_only_that_status(
    call: Call, session_factory: SessionFactory, task_factory: TaskFactory, put_in_state: Callable[..., Task]
) -> None:
    # Given: a queued and a failed task, in two sessions
    task_factory(session_factory())
    failed = put_in_state(task_factory(session_factory()), TaskStatus.FAILED)
    # When
    result = call("list_my_tasks", query={"status": "failed"})
    # Then
    assert result.status == 200
    assert [t["task_id"] for t in result.json()["items"]] == [failed.task_id]


def test_another_callers_cursor_is_400(call: Call, session_factory: SessionFactory, task_factory: TaskFactory) -> None:
    # Given: a cursor of alice's listing
    session = session_factory()
    for _ in range(2):
        task_factory(session)
    cursor = call("list_my_tasks", query={"limit": "1"}).json()["next_cursor"]
    # When: bob sends it
    result = call("list_my_tasks", owner="bob", query={"limit": "1", "cursor": cursor})
    # Then: never a page of alice's tasks
    assert result.status == 400


def test_a_caller_without_tasks_gets_an_empty_page(call: Call) -> None:
    assert call("list_my_tasks", owner="nobody", query={}).json() == {"items": [], "next_cursor": None}


def test_an_internal_status_is_422(call: Call) -> None:
    assert call("list_my_tasks", query={"status": "deleting"}).status == 422
