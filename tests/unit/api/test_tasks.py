"""POST/GET /sessions/{session_id}/tasks, GET/PATCH/DELETE /tasks/{task_id}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from claude_tasks.core.config import Settings
from claude_tasks.core.records import Session, SessionStatus, Task, TaskStatus
from claude_tasks.store.models import SessionModel, TaskModel
from tests.conftest import SessionFactory, TaskFactory
from tests.support import tables
from tests.unit.api.conftest import Call

Sent = Callable[[], list[dict[str, Any]]]
BOOKKEEPING = {"version", "attempts", "run_turns", "run_tokens", "run_cost_usd", "lease_id", "lease_expires_at"}


def _create(call: Call, session: Session, **changes: Any) -> Any:
    return call("create_task", path={"session_id": session.session_id}, **changes)


def test_create_task_is_202_queued_with_location_and_enqueued(call: Call, session: Session, sent: Sent) -> None:
    # When
    result = _create(call, session, body={"prompt": "Say hello", "limits": {"max_turns": 3}})
    # Then: 202, queued, Location names it, and one task.run went to the queue
    task = result.json()
    assert result.status == 202 and task["status"] == "queued"
    assert result.header("Location") == f"/tasks/{task['task_id']}"
    assert task["pending_prompts"] == ["Say hello"] and task["limits"]["max_turns"] == 3
    assert sent() == [{"type": "task.run", "task_id": task["task_id"], "session_id": session.session_id}]
    assert tables.task_count(session.session_id) == 1


def test_a_task_response_has_no_bookkeeping_fields(call: Call, session: Session) -> None:
    # When
    task = _create(call, session, body={"prompt": "Say hello"}).json()
    # Then
    assert not BOOKKEEPING & set(task)


def test_create_task_in_another_owners_session_is_404(call: Call, session: Session, sent: Sent) -> None:
    # When: bob writes into alice's session
    result = _create(call, session, owner="bob", body={"prompt": "hi"})
    # Then: as if it did not exist; nothing written or sent
    assert result.status == 404
    assert tables.task_count(session.session_id) == 0 and sent() == []


def test_create_task_in_a_session_being_deleted_is_409(call: Call, session: Session) -> None:
    # Given: a cascade delete has started on the session
    SessionModel(session.session_id).update(actions=[SessionModel.status.set(SessionStatus.DELETING.value)])
    # When
    result = _create(call, session, body={"prompt": "hi"})
    # Then
    assert result.status == 409
    assert "not active" in result.json()["detail"]


def test_a_prompt_over_the_limit_is_413(call: Call, configure: Callable[..., Settings], session: Session) -> None:
    # Given: prompts are limited to 10 characters
    configure(max_prompt_chars=10)
    # When
    result = _create(call, session, body={"prompt": "x" * 11})
    # Then
    assert result.status == 413
    assert result.json()["detail"] == "prompt is 11 characters; the limit is 10"
    assert tables.counts()["tasks"] == 0


def test_a_prompt_within_the_characters_but_too_big_for_the_item_is_413(call: Call, session: Session) -> None:
    # Given: 99,000 characters (under the default limit) of 4 bytes each: a task item could not hold it twice
    prompt = "\N{GRINNING FACE}" * 99_000
    # When
    result = _create(call, session, body={"prompt": prompt})
    # Then: 413 saying why, not DynamoDB's item-size error as a 500
    assert result.status == 413
    assert "bytes in UTF-8" in result.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": ""},
        {"prompt": "hi", "backend": "gpt"},
        {"prompt": "hi", "max_tokens": 0},
        {"prompt": "hi", "limits": {"max_turns": 0}},
        {"prompt": "hi", "limits": {"max_budget": 1}},
        {"prompt": "hi", "metadata": {"blob": "x" * 20_000}},
        {"prompt": "hi", "system": "\N{GRINNING FACE}" * 20_000},
        {"prompt": "hi", "session_id": "00000000-0000-4000-8000-000000000000"},
    ],
    ids=[
        "empty-prompt",
        "unknown-backend",
        "zero-max-tokens",
        "zero-turns",
        "unknown-limit",
        "huge-metadata",
        "system-over-50kb",
        "extra",
    ],
)
def test_an_invalid_task_body_is_422(call: Call, session: Session, body: dict[str, Any]) -> None:
    # When
    result = _create(call, session, body=body)
    # Then
    assert result.status == 422
    assert result.json()["errors"][0]["location"] == "body"


def test_the_same_idempotency_key_returns_the_same_task(call: Call, session: Session) -> None:
    # Given: a task created with a key
    first = _create(call, session, headers={"Idempotency-Key": "run-1"})
    # When: the request is sent again
    again = _create(call, session, headers={"Idempotency-Key": "run-1"})
    # Then: the same task; one item; the counter counted it once
    assert again.status == 202 and again.json()["task_id"] == first.json()["task_id"]
    assert tables.counts()["tasks"] == 1 and tables.task_count(session.session_id) == 1


def test_a_failed_enqueue_is_503_naming_the_saved_task_and_a_replay_sends_it(
    call: Call, configure: Callable[..., Settings], settings: Settings, session: Session, sent: Sent
) -> None:
    # Given: the queue URL names a queue that does not exist
    configure(task_queue_url=settings.task_queue_url.rsplit("/", 1)[0] + "/no-such-queue")
    # When
    key = {"Idempotency-Key": "enqueue-1"}
    result = _create(call, session, body={"prompt": "hi"}, headers=key)
    # Then: not a silent 202 whose run never left: 503, naming the task that was saved and how to queue it
    assert result.status == 503
    (stored,) = TaskModel.scan()
    assert stored.status == "queued" and stored.active_shard
    assert stored.task_id in result.json()["detail"] and "Idempotency-Key" in result.json()["detail"]
    # When: the queue is back and the same request is sent again with the same key
    configure()
    again = _create(call, session, body={"prompt": "hi"}, headers=key)
    # Then: the same task, and now its run is sent
    assert again.status in (200, 201, 202) and again.json()["task_id"] == stored.task_id
    assert sent() == [{"type": "task.run", "task_id": stored.task_id, "session_id": session.session_id}]
    assert tables.task_count(session.session_id) == 1


def test_list_tasks_pages_in_creation_order(call: Call, session: Session, task_factory: TaskFactory) -> None:
    # Given: three tasks
    made = [task_factory(session).task_id for _ in range(3)]
    # When: read two at a time
    first = call("list_tasks", path={"session_id": session.session_id}, query={"limit": "2"}).json()
    query = {"limit": "2", "cursor": first["next_cursor"]}
    second = call("list_tasks", path={"session_id": session.session_id}, query=query).json()
    # Then
    assert [t["task_id"] for t in first["items"] + second["items"]] == made
    assert second.get("next_cursor") is None


def test_list_tasks_filters_by_status(
    call: Call, session: Session, task_factory: TaskFactory, put_in_state: Callable[..., Task]
) -> None:
    # Given: one queued and one failed task
    queued, failed = task_factory(session), put_in_state(task_factory(session), TaskStatus.FAILED)
    # When
    result = call("list_tasks", path={"session_id": session.session_id}, query={"status": "failed"})
    # Then
    assert [t["task_id"] for t in result.json()["items"]] == [failed.task_id]
    assert queued.task_id not in result.body


def test_list_tasks_with_an_unknown_status_is_422(call: Call, session: Session) -> None:
    # When: `deleting` is internal, so not a status a caller can ask for
    result = call("list_tasks", path={"session_id": session.session_id}, query={"status": "deleting"})
    # Then
    assert result.status == 422


def test_list_tasks_of_another_owners_session_is_404(call: Call, task: Task) -> None:
    # When
    result = call("list_tasks", owner="bob", path={"session_id": task.session_id}, query={})
    # Then
    assert result.status == 404


def test_a_list_cursor_for_another_status_is_400(call: Call, session: Session, task_factory: TaskFactory) -> None:
    # Given: a cursor from the unfiltered list
    for _ in range(2):
        task_factory(session)
    path = {"session_id": session.session_id}
    cursor = call("list_tasks", path=path, query={"limit": "1"}).json()["next_cursor"]
    # When: it is used for another query
    result = call("list_tasks", path=path, query={"limit": "1", "status": "queued", "cursor": cursor})
    # Then
    assert result.status == 400


def test_get_task_returns_it(call: Call, task: Task) -> None:
    # When
    result = call("get_task", path={"task_id": task.task_id})
    # Then
    assert result.status == 200 and result.json()["task_id"] == task.task_id


def test_another_owners_task_is_404(call: Call, task: Task) -> None:
    # When
    result = call("get_task", owner="bob", path={"task_id": task.task_id})
    # Then
    assert result.status == 404
    assert result.json()["type"] == "urn:claude-tasks:problem:task-not-found"


def test_patch_changes_title_and_metadata(call: Call, task: Task) -> None:
    # When
    result = call("update_task", path={"task_id": task.task_id}, body={"title": "New", "metadata": {"k": 1}})
    # Then: changed in the response and in the table
    assert result.status == 200
    assert result.json()["title"] == "New" and result.json()["metadata"] == {"k": 1}
    assert TaskModel.get(task.task_id).title == "New"


def test_patch_naming_session_id_is_422_saying_it_cannot_change(
    call: Call, task: Task, session_factory: SessionFactory
) -> None:
    # Given: another session of alice's
    other = session_factory(owner="alice")
    # When: the body tries to move the task there
    result = call("update_task", path={"task_id": task.task_id}, body={"session_id": other.session_id})
    # Then: refused, saying why; the task stays where it was
    problem = result.json()
    assert result.status == 422
    assert problem["errors"] == [
        {
            "location": "body",
            "field": "session_id",
            "type": "immutable_field",
            "detail": "session_id cannot be changed after creation",
        }
    ]
    assert "session_id cannot be changed" in problem["detail"]
    assert TaskModel.get(task.task_id).session_id == task.session_id


@pytest.mark.parametrize("body", [{"status": "succeeded"}, {"colour": "red"}], ids=["immutable", "unknown"])
def test_patch_naming_any_other_field_is_422(call: Call, task: Task, body: dict[str, Any]) -> None:
    # When
    result = call("update_task", path={"task_id": task.task_id}, body=body)
    # Then
    assert result.status == 422
    assert TaskModel.get(task.task_id).status == "queued"


def test_patch_another_owners_task_is_404(call: Call, task: Task) -> None:
    # When
    result = call("update_task", owner="bob", path={"task_id": task.task_id}, body={"title": "mine"})
    # Then
    assert result.status == 404 and TaskModel.get(task.task_id).title is None


def test_delete_task_is_204_and_decrements_the_session(
    call: Call, task: Task, add_turns: Callable[[Task, int], Task]
) -> None:
    # Given: the task has two turns
    add_turns(task, 2)
    # When
    result = call("delete_task", path={"task_id": task.task_id})
    # Then: task and turns gone, counter back to 0
    assert result.status == 204
    assert tables.counts()["tasks"] == 0 and tables.counts()["interactions"] == 0
    assert tables.task_count(task.session_id) == 0


def test_delete_a_running_task_is_409(call: Call, task: Task, put_in_state: Callable[..., Task]) -> None:
    # Given
    put_in_state(task, TaskStatus.RUNNING)
    # When
    result = call("delete_task", path={"task_id": task.task_id})
    # Then
    assert result.status == 409
    assert "running" in result.json()["detail"]
    assert TaskModel.get(task.task_id).status == "running"


def test_delete_another_owners_task_is_404(call: Call, task: Task) -> None:
    # When
    result = call("delete_task", owner="bob", path={"task_id": task.task_id})
    # Then
    assert result.status == 404 and tables.counts()["tasks"] == 1
